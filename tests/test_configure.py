"""flowtel.configure() end to end, each case in its own Python process.

OTel's global providers can be set once per process, so every case runs a small script with
``sys.executable``. Wire cases export through the real OTLP exporters to a real OTLP receiver
in this test process (tests/otlp_receiver.py): an ``http.server`` decoding HTTP/protobuf
requests and a ``grpcio`` server implementing the collector's Trace/Logs/Metrics services, both
on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest
from helpers import child_environment
from otlp_receiver import OtlpReceiver, closed_port

SUBPROCESS_TIMEOUT = 60

# -- a real OTLP receiver ----------------------------------------------------------------


@pytest.fixture
def http_receiver():
    with OtlpReceiver("http/protobuf") as receiver:
        yield receiver


@pytest.fixture
def grpc_receiver():
    with OtlpReceiver("grpc") as receiver:
        yield receiver


@pytest.fixture(params=["http/protobuf", "grpc"])
def receiver(request):
    with OtlpReceiver(request.param) as started:
        yield started


# -- running scripts ---------------------------------------------------------------------


def run_python(tmp_path, source, *args, env=None, timeout=SUBPROCESS_TIMEOUT):
    """Run ``source`` as a script in a fresh interpreter with a clean OTEL_* environment."""
    script = tmp_path / f"script_{len(list(tmp_path.glob('script_*.py')))}.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=child_environment({"FLOWTEL_RAISE_INTERNAL_ERRORS": "1", **(env or {})}),
        timeout=timeout,
        cwd=tmp_path,
    )
    assert 0 == completed.returncode, completed.stderr
    return completed


def last_json(stdout):
    """The last line of ``stdout`` that is a JSON object."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


FLOW_SCRIPT = """
import json
import os
import sys
import warnings

import flowtel
from flowtel import flow, task


@task()
def step(number, this_task):
    this_task.log_info(f"step {number}")
    return number


@flow(flow_name="wire_flow")
def wire_flow(this_flow):
    this_flow.log_warning("wire flow starting")
    step(1)
    step(2)
    this_flow.add_flow_artifact(key="report", data={"rows": 2}, description="Rows", artifact_type="json")
    return 3


def run():
    run = wire_flow().execute()
    print(json.dumps({"flow_id": run.flow_id, "task_ids": [t.task_id for t in run.executed_tasks]}))
    sys.stdout.flush()
"""

DURATION = re.compile(r"\d+(\.\d+)? (µs|ms|s)\b")
RUN_ID = re.compile(r"\[run [0-9a-f]{16}\]")


def normalized(text):
    return RUN_ID.sub("[run <id>]", DURATION.sub("<d>", text))


def check_wire_flow(receiver, ids, service_name):
    """The receiver holds the wire_flow run: spans, log records and metrics, all correlated."""
    spans = receiver.spans()
    assert ["step", "step", "wire_flow"] == sorted(span.name for span in spans)
    (root,) = [span for span in spans if span.name == "wire_flow"]
    steps = sorted(
        (span for span in spans if span.name == "step"),
        key=lambda span: ids["task_ids"].index(span.attributes["cicd.pipeline.task.run.id"]),
    )
    assert {service_name} == {span.resource["service.name"] for span in spans}
    assert {"flowtel"} == {span.scope for span in spans}
    assert {root.trace_id} == {span.trace_id for span in spans}
    assert [root.span_id, root.span_id] == [span.parent_span_id for span in steps]
    assert (ids["flow_id"], "success", "json", {"rows": 2}) == (
        root.attributes["cicd.pipeline.run.id"],
        root.attributes["cicd.pipeline.result"],
        root.attributes["flowtel.artifact.report.type"],
        json.loads(root.attributes["flowtel.artifact.report.data"]),
    )

    records = {record.body: record for record in receiver.log_records()}
    assert {"wire flow starting", "step 1", "step 2"} == set(records)
    assert (13, "WARNING", root.trace_id, root.span_id) == (
        records["wire flow starting"].severity_number,
        records["wire flow starting"].severity_text,
        records["wire flow starting"].trace_id,
        records["wire flow starting"].span_id,
    )
    for number, span in zip((1, 2), steps, strict=True):
        record = records[f"step {number}"]
        assert (9, span.trace_id, span.span_id, span.attributes["cicd.pipeline.task.run.id"]) == (
            record.severity_number,
            record.trace_id,
            record.span_id,
            record.attributes["cicd.pipeline.task.run.id"],
        )
    assert {service_name} == {record.resource["service.name"] for record in records.values()}

    metrics = {metric.name: metric for metric in receiver.metrics()}
    assert {
        "flowtel.flow.runs",
        "flowtel.task.runs",
        "cicd.pipeline.run.duration",
        "flowtel.task.duration",
        "cicd.pipeline.run.active",
    } <= set(metrics)
    assert [({"cicd.pipeline.name": "wire_flow", "cicd.pipeline.result": "success"}, 1)] == (
        metrics["flowtel.flow.runs"].points
    )
    (task_runs,) = metrics["flowtel.task.runs"].points
    assert (
        {
            "cicd.pipeline.name": "wire_flow",
            "cicd.pipeline.task.name": "step",
            "cicd.pipeline.task.run.result": "success",
        },
        2,
    ) == task_runs
    assert ("histogram", "s") == (
        metrics["cicd.pipeline.run.duration"].kind,
        metrics["cicd.pipeline.run.duration"].unit,
    )
    assert [({"cicd.pipeline.name": "wire_flow"}, 0)] == metrics["cicd.pipeline.run.active"].points
    assert {service_name} == {metric.resource["service.name"] for metric in metrics.values()}


# -- wire tests --------------------------------------------------------------------------


def test_flow_run_reaches_a_real_otlp_receiver(tmp_path, receiver):
    """Over gRPC and HTTP/protobuf, spans, log records and metrics of a run arrive, correlated."""
    script = (
        FLOW_SCRIPT
        + """
flowtel.configure(service_name="wire-test", endpoint=sys.argv[1], protocol=sys.argv[2])
run()
flowtel.shutdown()
"""
    )
    completed = run_python(tmp_path, script, receiver.endpoint, receiver.protocol)
    check_wire_flow(receiver, last_json(completed.stdout), "wire-test")
    assert "" == completed.stderr


def test_the_last_metric_export_carries_the_runs_exemplars(tmp_path, grpc_receiver):
    """shutdown() exports metrics once: that export holds exemplars with the runs' trace ids
    (a second, exemplar-less export would replace them in the collector's Prometheus exporter)."""
    script = (
        FLOW_SCRIPT
        + """
flowtel.configure(service_name="exemplar-test", endpoint=sys.argv[1], protocol="grpc")
run()
flowtel.shutdown()
"""
    )
    completed = run_python(tmp_path, script, grpc_receiver.endpoint)
    ids = last_json(completed.stdout)
    [last] = grpc_receiver.requests["metrics"][-1:]
    exemplars = {
        metric.name: [
            (exemplar.trace_id.hex(), exemplar.span_id.hex())
            for point in getattr(metric, metric.WhichOneof("data")).data_points
            for exemplar in point.exemplars
        ]
        for resource_metrics in last.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    }
    flow_span = next(s for s in grpc_receiver.spans() if s.name == "wire_flow")
    step_spans = [s for s in grpc_receiver.spans() if s.name == "step"]
    flow_ids = (flow_span.trace_id, flow_span.span_id)
    assert ids["flow_id"] == flow_span.attributes["cicd.pipeline.run.id"]
    assert [flow_ids] == exemplars["flowtel.flow.runs"]
    assert [flow_ids] == exemplars["cicd.pipeline.run.duration"]
    assert 1 == len(exemplars["flowtel.task.runs"])
    assert set(exemplars["flowtel.task.duration"]) <= {(s.trace_id, s.span_id) for s in step_spans}
    assert 1 <= len(exemplars["flowtel.task.duration"])


def test_endpoint_protocol_service_and_resource_from_otel_env(tmp_path, http_receiver):
    """configure() with no arguments honours OTEL_EXPORTER_OTLP_*, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES."""
    script = (
        FLOW_SCRIPT
        + """
flowtel.configure()
run()
flowtel.shutdown()
"""
    )
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": http_receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": "env-service",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=ci,team=data",
    }
    completed = run_python(tmp_path, script, env=env)
    check_wire_flow(http_receiver, last_json(completed.stdout), "env-service")
    resources = [span.resource for span in http_receiver.spans()]
    assert [("ci", "data")] * 3 == [
        (resource["deployment.environment.name"], resource["team"]) for resource in resources
    ]


def test_explicit_arguments_win_over_env(tmp_path, http_receiver):
    """service_name, endpoint, protocol and resource_attributes arguments override the OTEL_* env."""
    script = (
        FLOW_SCRIPT
        + """
flowtel.configure(
    service_name="arg-service",
    endpoint=sys.argv[1],
    protocol="http/protobuf",
    resource_attributes={"team": "platform"},
)
run()
flowtel.shutdown()
"""
    )
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_SERVICE_NAME": "env-service",
        "OTEL_RESOURCE_ATTRIBUTES": "team=data,region=eu",
    }
    completed = run_python(tmp_path, script, http_receiver.endpoint, env=env)
    check_wire_flow(http_receiver, last_json(completed.stdout), "arg-service")
    (resource,) = {json.dumps(span.resource, sort_keys=True) for span in http_receiver.spans()}
    assert ("arg-service", "platform", "eu") == (
        json.loads(resource)["service.name"],
        json.loads(resource)["team"],
        json.loads(resource)["region"],
    )


def test_bad_protocol_is_a_value_error_naming_it(tmp_path):
    """An unsupported protocol, as argument or in OTEL_EXPORTER_OTLP_PROTOCOL, is a ValueError naming it."""
    script = """
import json, os
from opentelemetry import trace
import flowtel

messages = {}
try:
    flowtel.configure(endpoint="http://127.0.0.1:4317", protocol="thrift")
except ValueError as error:
    messages["argument"] = str(error)
os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json"
try:
    flowtel.configure(endpoint="http://127.0.0.1:4317")
except ValueError as error:
    messages["env"] = str(error)
messages["provider"] = type(trace.get_tracer_provider()).__name__
print(json.dumps(messages))
"""
    result = last_json(run_python(tmp_path, script).stdout)
    assert (True, True) == ("'thrift'" in result["argument"], "protocol" in result["argument"])
    assert (True, True) == (
        "'http/json'" in result["env"],
        "OTEL_EXPORTER_OTLP_PROTOCOL" in result["env"],
    )
    assert "ProxyTracerProvider" == result["provider"]


def test_configure_after_a_bad_queue_size_error_still_installs_and_exports(tmp_path, http_receiver):
    """A ValueError for a bad OTEL_BSP_MAX_QUEUE_SIZE leaves nothing half set: configure() again works."""
    script = """
import json, os, sys
import flowtel

os.environ["OTEL_BSP_MAX_QUEUE_SIZE"] = "lots"
try:
    flowtel.configure(service_name="retry-svc", endpoint=sys.argv[1], protocol="http/protobuf")
    error = ""
except ValueError as caught:
    error = str(caught)
os.environ["OTEL_BSP_MAX_QUEUE_SIZE"] = "100"
flowtel.configure(service_name="retry-svc", endpoint=sys.argv[1], protocol="http/protobuf")

@flowtel.flow
def after_the_fix():
    return 1

after_the_fix().execute()
flowtel.shutdown()
print(json.dumps({"error": error}))
"""
    result = last_json(run_python(tmp_path, script, http_receiver.endpoint).stdout)
    assert True is ("OTEL_BSP_MAX_QUEUE_SIZE='lots'" in result["error"]), result["error"]
    assert ["after_the_fix"] == [span.name for span in http_receiver.spans()]


def test_second_configure_is_idempotent_and_warns_only_when_settings_differ(tmp_path):
    """Repeating configure() changes nothing and is silent; different settings warn once and are ignored."""
    script = """
import json, warnings
from opentelemetry import trace
import flowtel

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    flowtel.configure(service_name="svc", console=False)
    first = trace.get_tracer_provider()
    flowtel.configure(service_name="svc", console=False)
    repeated = [str(w.message) for w in caught]
    flowtel.configure(service_name="other", console=False)
    changed = [(w.category.__name__, str(w.message)) for w in caught[len(repeated):]]
provider = trace.get_tracer_provider()
print(json.dumps({
    "repeated": repeated,
    "changed": changed,
    "kept": provider is first,
    "service": provider.resource.attributes["service.name"],
}))
flowtel.shutdown()
"""
    result = last_json(run_python(tmp_path, script).stdout)
    assert ([], True, "svc") == (result["repeated"], result["kept"], result["service"])
    assert ["RuntimeWarning"] == [category for category, _ in result["changed"]]


def test_app_providers_are_kept_and_used(tmp_path, http_receiver):
    """With providers already installed by the app, configure() warns and flowtel emits through them."""
    script = (
        FLOW_SCRIPT
        + """
from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

resource = Resource.create({"service.name": "the-app"})
spans, logs, reader = InMemorySpanExporter(), InMemoryLogRecordExporter(), InMemoryMetricReader()
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
trace.set_tracer_provider(tracer_provider)
_logs.set_logger_provider(logger_provider)
metrics.set_meter_provider(meter_provider)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    flowtel.configure(service_name="flowtel-svc", endpoint=sys.argv[1], protocol="http/protobuf")
run()
flowtel.shutdown()
names = set()
for rm in reader.get_metrics_data().resource_metrics:
    for sm in rm.scope_metrics:
        names.update(metric.name for metric in sm.metrics)
print(json.dumps({
    "warnings": [(w.category.__name__, str(w.message)) for w in caught],
    "spans": sorted(span.name for span in spans.get_finished_spans()),
    "logs": [record.log_record.body for record in logs.get_finished_logs()],
    "metrics": sorted(names),
    "kept": [
        trace.get_tracer_provider() is tracer_provider,
        _logs.get_logger_provider() is logger_provider,
        metrics.get_meter_provider() is meter_provider,
    ],
}))
"""
    )
    completed = run_python(tmp_path, script, http_receiver.endpoint)
    result = last_json(completed.stdout)
    warned = [message for category, message in result["warnings"] if category == "RuntimeWarning"]
    notices = [line for line in completed.stderr.splitlines() if line.strip()]
    assert ([], 1) == (warned, len(notices)), completed.stderr
    assert {"tracer": True, "logger": True, "meter": True} == {
        kind: f"a {kind} provider" in notices[0] for kind in ("tracer", "logger", "meter")
    }
    assert [True, True, True] == result["kept"]
    assert ["step", "step", "wire_flow"] == result["spans"]
    assert ["wire flow starting", "step 1", "step 2"] == result["logs"]
    assert True is ("flowtel.flow.runs" in result["metrics"])
    assert ([], [], []) == (
        http_receiver.spans(),
        http_receiver.log_records(),
        http_receiver.metrics(),
    )


EXPECTED_CONSOLE_TREE = """\
✔ flow wire_flow  <d>  [run <id>]
│ • WARNING wire flow starting
│ ◆ artifact 'report' (json): Rows
├── ✔ step  <d>
│     • INFO step 1
└── ✔ step  <d>
      • INFO step 2
"""


def test_console_tree_is_the_default_without_an_endpoint(tmp_path):
    """With no endpoint configured, each finished root run is printed as a tree on stdout."""
    script = (
        FLOW_SCRIPT
        + """
flowtel.configure(service_name="console-test")
run()
flowtel.shutdown()
"""
    )
    completed = run_python(tmp_path, script)
    tree = "".join(
        line + "\n" for line in completed.stdout.splitlines() if not line.startswith("{")
    )
    assert EXPECTED_CONSOLE_TREE == normalized(tree)


def test_flowtel_demo_prints_trees_without_an_endpoint(tmp_path):
    """`flowtel demo` with no endpoint prints each demo run as a tree, then a summary."""
    completed = run_demo(tmp_path)
    lines = completed.stdout.splitlines()
    roots = [line for line in lines if line[:1] in ("✔", "✘")]
    assert ["✔ flow process_orders", "✘ flow nightly_sync"] == [
        " ".join(r.split()[:3]) for r in roots
    ]
    expected_lines = [
        "├── ✔ fetch_orders",
        "│     • INFO fetched 5 orders",
        "├── ✘ notify_warehouse",
        "├── ✔ write_report",
        "└── ✔ flow publish_report",
        "│ ◆ artifact 'report' (json): Order totals",
        "│ ★ result 'orders': 5 orders priced",
        "└── ✘ load_config",
    ]
    for expected in expected_lines:
        assert True is any(line.startswith(expected) for line in lines), expected
    assert 5 == sum(line.startswith("├── ✔ price_order") for line in lines)
    assert "process_orders: completed (total=150.00), 8 tasks, 1 tolerated failure" in lines


def run_demo(tmp_path, env=None):
    completed = subprocess.run(
        [sys.executable, "-m", "flowtel", "demo"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=child_environment(env),
        timeout=SUBPROCESS_TIMEOUT,
        cwd=tmp_path,
    )
    assert 0 == completed.returncode, completed.stderr
    return completed


def test_flowtel_demo_sends_to_otel_exporter_otlp_endpoint(tmp_path, grpc_receiver):
    """With OTEL_EXPORTER_OTLP_ENDPOINT set, `flowtel demo` sends its runs there (default gRPC)."""
    completed = run_demo(tmp_path, {"OTEL_EXPORTER_OTLP_ENDPOINT": grpc_receiver.endpoint})
    spans = grpc_receiver.spans()
    by_name = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    (orders,) = by_name["process_orders"]
    (nested,) = by_name["publish_report"]
    (sync,) = by_name["nightly_sync"]
    assert (5, orders.span_id, orders.trace_id) == (
        len(by_name["price_order"]),
        nested.parent_span_id,
        nested.trace_id,
    )
    assert ("failure", 2) == (sync.attributes["cicd.pipeline.result"], sync.status_code)
    assert {"flowtel-demo"} == {span.resource["service.name"] for span in spans}
    assert True is any(r.body == "fetched 5 orders" for r in grpc_receiver.log_records())
    assert True is ("flowtel.flow.runs" in {m.name for m in grpc_receiver.metrics()})
    assert f"telemetry sent to {grpc_receiver.endpoint} as service 'flowtel-demo'" in (
        completed.stdout.splitlines()
    )
    assert [] == [line for line in completed.stdout.splitlines() if line[:1] in ("✔", "✘")]


SLOW_EXPORT_ENV = {
    # Nothing would be exported on its own before the process ends.
    "OTEL_BSP_SCHEDULE_DELAY": "600000",
    "OTEL_BLRP_SCHEDULE_DELAY": "600000",
    "OTEL_METRIC_EXPORT_INTERVAL": "600000",
}


def test_shutdown_flushes_spans_logs_and_metrics(tmp_path, http_receiver):
    """flowtel.shutdown() exports everything buffered (the script then exits without atexit)."""
    script = (
        FLOW_SCRIPT
        + """
flowtel.configure(service_name="shutdown-test", endpoint=sys.argv[1], protocol="http/protobuf")
run()
flowtel.shutdown()
os._exit(0)  # skip atexit: only shutdown() can have exported
"""
    )
    completed = run_python(tmp_path, script, http_receiver.endpoint, env=SLOW_EXPORT_ENV)
    check_wire_flow(http_receiver, last_json(completed.stdout), "shutdown-test")


def test_buffered_telemetry_is_lost_without_shutdown_or_exit(tmp_path, http_receiver):
    """Control case: with long export delays and a hard exit, nothing is exported."""
    script = (
        FLOW_SCRIPT
        + """
flowtel.configure(service_name="control", endpoint=sys.argv[1], protocol="http/protobuf")
run()
os._exit(0)
"""
    )
    run_python(tmp_path, script, http_receiver.endpoint, env=SLOW_EXPORT_ENV)
    assert ([], [], []) == (
        http_receiver.spans(),
        http_receiver.log_records(),
        http_receiver.metrics(),
    )


def test_short_script_loses_nothing_at_exit(tmp_path, grpc_receiver):
    """A script that never calls shutdown() still exports its spans, logs and metrics at exit."""
    script = (
        FLOW_SCRIPT
        + """
flowtel.configure(service_name="atexit-test", endpoint=sys.argv[1], protocol="grpc")
run()
"""
    )
    completed = run_python(tmp_path, script, grpc_receiver.endpoint, env=SLOW_EXPORT_ENV)
    check_wire_flow(grpc_receiver, last_json(completed.stdout), "atexit-test")
