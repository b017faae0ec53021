"""The telemetry runtime: internal errors never break a flow and fail loudly under tests;
providers are found through the public OpenTelemetry API only."""

from __future__ import annotations

import ast
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import child_environment

import flowtel
from flowtel import flow, get_current_flow, get_current_task, task
from flowtel.telemetry._runtime import RUNTIME


class BrokenTracerProvider:
    """A tracer provider whose spans cannot start (a broken SDK or exporter set-up)."""

    def get_tracer(self, *args, **kwargs):
        return self

    def start_span(self, *args, **kwargs):
        raise RuntimeError("broken tracer")


@task
def add_one(x):
    return x + 1


@flow
def adding_flow(x):
    return add_one(add_one(x))


@pytest.fixture
def broken_tracing():
    """flowtel emits through a tracer provider that raises on every span start."""
    RUNTIME.use_providers(BrokenTracerProvider(), None, None)
    yield
    RUNTIME.use_providers()


def test_internal_errors_do_not_break_the_flow_and_are_logged_once(broken_tracing, caplog):
    """With internal errors not raised (production), flows complete and each place logs once."""
    RUNTIME.raise_internal_errors = False
    with caplog.at_level(logging.ERROR, logger="flowtel.telemetry"):
        runs = [adding_flow(1).execute() for _ in range(3)]
    assert [3, 3, 3] == [run.flow_return_value for run in runs]
    assert ["completed"] * 3 == [run.flow_status for run in runs]
    places = [r.getMessage().split(" (the flow goes on")[0] for r in caplog.records]
    assert [
        "flowtel telemetry error in flow start",
        "flowtel telemetry error in task start",
    ] == places


def test_internal_errors_raise_under_the_test_kit(broken_tracing):
    """With internal errors raised (tests), the error surfaces at the call."""
    with pytest.raises(RuntimeError, match="broken tracer"):
        add_one(1)
    with pytest.raises(RuntimeError, match="broken tracer"):
        adding_flow(1).execute()


def test_a_failing_span_start_leaves_no_current_run_behind(broken_tracing):
    """When a span start raises under the test kit, no current flow or task stays set."""
    with pytest.raises(RuntimeError):
        add_one(1)
    assert (None, None) == (get_current_flow(), get_current_task())
    with pytest.raises(RuntimeError):
        adding_flow(1).execute()
    assert (None, None) == (get_current_flow(), get_current_task())


# -- public OpenTelemetry API only -----------------------------------------------------------------

SOURCE = Path(flowtel.__file__).parent
# The logs API, SDK and OTLP log exporters are published only as ``opentelemetry._logs``,
# ``opentelemetry.sdk._logs`` and ``...otlp.proto.{grpc,http}._log_exporter`` (the documented
# entry points of the still experimental logs signal); every other underscore name is
# OpenTelemetry's private implementation.
PUBLIC_UNDERSCORE_MODULES = {"_logs", "_log_exporter"}


def private_opentelemetry_uses(path):
    """(line, text) of every private OpenTelemetry module or attribute used in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    otel_names = set()
    found = []

    def private(part):
        return part.startswith("_") and part not in PUBLIC_UNDERSCORE_MODULES

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("opentelemetry"):
            parts = node.module.split(".")
            if any(private(part) for part in parts):
                found.append((node.lineno, node.module))
            for alias in node.names:
                if private(alias.name):
                    found.append((node.lineno, f"{node.module}.{alias.name}"))
                otel_names.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("opentelemetry"):
                    if any(private(part) for part in alias.name.split(".")):
                        found.append((node.lineno, alias.name))
                    otel_names.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in otel_names:
                found.append((node.lineno, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in otel_names
            and isinstance(node.args[1], ast.Constant)
            and private(str(node.args[1].value))
        ):
            found.append((node.lineno, node.args[1].value))
    return found


def test_the_checker_finds_private_reads():
    """The source check reports the kinds of private reads flowtel used to make."""
    sample = Path(__file__).with_name("_private_sample.py")
    sample.write_text(
        "from opentelemetry import _logs, trace\n"
        "from opentelemetry.metrics._internal import _ProxyMeterProvider\n"
        "p = getattr(trace, '_TRACER_PROVIDER', None)\n"
        "q = _logs._internal.ProxyLoggerProvider\n",
        encoding="utf-8",
    )
    try:
        found = private_opentelemetry_uses(sample)
    finally:
        sample.unlink()
    assert [
        (2, "opentelemetry.metrics._internal"),
        (2, "opentelemetry.metrics._internal._ProxyMeterProvider"),
        (3, "_TRACER_PROVIDER"),
        (4, "_internal"),
    ] == sorted(found)


def test_flowtel_reads_no_private_opentelemetry_attribute():
    """No module of flowtel imports or reads a private OpenTelemetry module or attribute."""
    found = {
        str(path.relative_to(SOURCE)): uses
        for path in sorted(SOURCE.rglob("*.py"))
        if (uses := private_opentelemetry_uses(path))
    }
    assert {} == found


PROVIDERS_LATER = """
import json
from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowtel import flow, task


@task()
def step(this_task=None):
    this_task.log_info("step ran")


@flow()
def later_flow():
    step()


later_flow().execute()  # no provider yet: nothing is recorded, nothing breaks

spans, logs, reader = InMemorySpanExporter(), InMemoryLogRecordExporter(), InMemoryMetricReader()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
logger_provider = LoggerProvider()
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
trace.set_tracer_provider(tracer_provider)
_logs.set_logger_provider(logger_provider)
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

step()  # a task outside any flow looks the provider up itself
later_flow().execute()
names = set()
for resource_metrics in reader.get_metrics_data().resource_metrics:
    for scope_metrics in resource_metrics.scope_metrics:
        names.update(metric.name for metric in scope_metrics.metrics)
print(json.dumps({
    "spans": sorted(span.name for span in spans.get_finished_spans()),
    "logs": [record.log_record.body for record in logs.get_finished_logs()],
    "runs": sorted(name for name in names if name.endswith(".runs")),
}))
"""


def test_providers_installed_after_flowtel_started_are_used(tmp_path):
    """Providers set after runs without them: the next flow (and a lone task) are recorded."""
    script = tmp_path / "providers_later.py"
    script.write_text(PROVIDERS_LATER, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=child_environment({"FLOWTEL_RAISE_INTERNAL_ERRORS": "1"}),
        timeout=120,
        cwd=tmp_path,
    )
    assert 0 == completed.returncode, completed.stderr
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert {
        "spans": ["later_flow", "step", "step"],
        "logs": ["step ran"],
        "runs": ["flowtel.flow.runs", "flowtel.task.runs"],
    } == outcome


def test_a_running_flow_looks_the_tracer_provider_up_per_run_not_per_task(monkeypatch):
    """The API getter (an environment read while no provider is set) runs per flow, not per task."""
    from opentelemetry import trace

    calls = []
    real_getter = trace.get_tracer_provider

    def counting_getter():
        calls.append(1)
        return real_getter()

    monkeypatch.setattr(trace, "get_tracer_provider", counting_getter)

    @flow
    def many_tasks(count):
        return [add_one(number) for number in range(count)]

    lookups = []
    for count in (1, 50):
        calls.clear()
        many_tasks(count).execute()
        lookups.append(len(calls))
    assert (True, lookups[0]) == (lookups[0] <= 2, lookups[1])


def test_run_time_tags_are_made_otlp_safe_and_the_span_arrives():
    """Tags known only at run time (flowtel.prefect's tags()) go through the same sanitising as
    every other value: an undecodable or huge tag costs no span on the wire (real gRPC receiver)."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from otlp_receiver import OtlpReceiver

    from flowtel.prefect import flow as prefect_flow
    from flowtel.prefect import tags

    @prefect_flow
    def tagged():
        return 1

    with OtlpReceiver("grpc") as receiver:
        provider = TracerProvider()
        provider.add_span_processor(
            SimpleSpanProcessor(
                OTLPSpanExporter(endpoint=f"127.0.0.1:{receiver.port}", insecure=True)
            )
        )
        RUNTIME.use_providers(provider, None, None)
        try:
            with tags("file-\udcff.csv", "x" * 20_000):
                tagged()
            provider.force_flush()
        finally:
            RUNTIME.reset()
            provider.shutdown()
        [span] = [span for span in receiver.spans() if span.name == "tagged"]
    tag_values = span.attributes["flowtel.tags"]
    assert "file-\ufffd.csv" == tag_values[0]
    assert tag_values[1].startswith("x" * 100) and tag_values[1].endswith(" chars]")
