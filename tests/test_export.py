"""The export boundary against real OTLP receivers on loopback (gRPC and HTTP/protobuf).

Each case runs flows in a child process configured with flowtel.configure(), because exit
timing, atexit flushing and the once-per-process providers are what is tested. Children of
one test run at the same time to keep the wall time small. Each child counts what it emitted
with an extra in-memory processor, so "nothing lost" and "every drop counted" are exact.
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from helpers import child_environment, wait_for
from opentelemetry import trace as trace_api
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)
from otlp_receiver import OtlpReceiver, closed_port

from flowtel.telemetry._export import (
    AFTER_SHUTDOWN,
    ExportSetup,
    OutageReport,
    SignalQueue,
    SignalStatus,
    log_queue_processor,
    log_record_size,
    make_exporter,
    resolve_signals,
    span_size,
)

PROTOCOLS = ("grpc", "http/protobuf")
CHILD_TIMEOUT_S = 60
DEADLINE_MS = 1500
# Interpreter start-up is not in the measured time, but teardown (and a loaded CI machine) is.
EXIT_MARGIN_S = 2.5

CHILD = """
import json, sys, time

config = json.loads(sys.argv[1])

import flowtel
from flowtel import flow, task
from opentelemetry import _logs, trace
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@task()
def step(number):
    return number


@task()
def chatty(messages, this_task=None):
    for number in range(messages):
        this_task.log_info(f"{number} " + "x" * 8000)


@flow(flow_name="export_job")
def export_job(tasks, this_flow=None):
    this_flow.log_info("export job running")
    for number in range(tasks):
        step(number)
    if config.get("messages"):
        chatty(config["messages"])


flowtel.configure(service_name="export-test", **config.get("configure", {}))
spans = InMemorySpanExporter()
logs = InMemoryLogRecordExporter()
if hasattr(trace.get_tracer_provider(), "add_span_processor"):
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(spans))
if hasattr(_logs.get_logger_provider(), "add_log_record_processor"):
    _logs.get_logger_provider().add_log_record_processor(SimpleLogRecordProcessor(logs))
ids = [export_job(config["tasks"]).execute().flow_id for _ in range(config["flows"])]
time.sleep(config.get("linger", 0))
report = {
    "ids": ids,
    "spans": len(spans.get_finished_spans()),
    "logs": len(logs.get_finished_logs()),
}
print(json.dumps(report), flush=True)
"""


def start_child(arguments, environment, tmp_path, stdin=None):
    """Start Python with ``arguments`` and ``environment``; (the child, a watchdog that kills
    it after CHILD_TIMEOUT_S, to be cancelled)."""
    child = subprocess.Popen(
        [sys.executable, *arguments],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=child_environment(environment),
        cwd=tmp_path,
    )
    watchdog = threading.Timer(CHILD_TIMEOUT_S, child.kill)
    watchdog.start()
    return child, watchdog


def run_child(config, environment, tmp_path):
    """Run CHILD with ``config``; its report, stderr, exit status and seconds from report to exit."""
    script = tmp_path / "export_child.py"
    if not script.exists():
        script.write_text(textwrap.dedent(CHILD), encoding="utf-8")
    child, watchdog = start_child([str(script), json.dumps(config)], environment, tmp_path)
    stderr = []
    reader = threading.Thread(target=lambda: stderr.extend(child.stderr), daemon=True)
    reader.start()
    try:
        line = child.stdout.readline()
        reported = time.monotonic()
        child.wait()
        exit_after = time.monotonic() - reported
        reader.join(10)
    finally:
        watchdog.cancel()
    return SimpleNamespace(
        returncode=child.returncode,
        report=json.loads(line) if line.strip() else None,
        stderr="".join(stderr),
        exit_after=exit_after,
    )


def run_children(cases, tmp_path_factory):
    """Run ``(config, environment)`` cases at once; their results in order."""
    # Temporary directories are made here: pytest's mktemp is not thread-safe.
    directories = [tmp_path_factory.mktemp("child") for _ in cases]
    with ThreadPoolExecutor(len(cases)) as pool:
        return list(pool.map(lambda case, path: run_child(*case, path), cases, directories))


def flowtel_lines(stderr):
    """The lines flowtel's logger wrote (they all start with "flowtel: ")."""
    return [line for line in stderr.splitlines() if line.startswith("flowtel: ")]


def dropped(stderr):
    """(spans, log records) from flowtel's one drop warning; (0, 0) when there is none."""
    lines = [line for line in flowtel_lines(stderr) if "Dropped " in line]
    assert len(lines) <= 1, lines
    if not lines:
        return (0, 0)
    found = re.search(r"Dropped (\d+) spans?.* and (\d+) log records?", lines[0])
    return (int(found[1]), int(found[2]))


def otlp_environment(receiver_or_port, protocol, **extra):
    port = getattr(receiver_or_port, "port", receiver_or_port)
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        **extra,
    }


# --- the shutdown deadline ------------------------------------------------------------------


def test_shutdown_deadline_holds_for_a_slow_a_silent_and_a_closed_endpoint(tmp_path_factory):
    """With an endpoint that answers after 5 s, one that never answers and a closed port, over
    gRPC and HTTP, the process exits within the shutdown deadline, and one warning counts every
    span and log record it did not deliver (queue full and deadline included)."""
    receivers = []
    cases = []
    for protocol in PROTOCOLS:
        slow = OtlpReceiver(protocol, delay=5).start()
        silent = OtlpReceiver(protocol, black_hole=True).start()
        receivers += [("slow", protocol, slow), ("silent", protocol, silent)]
        # A small queue, so the slow endpoint also makes the queue overflow.
        small_queue = {"OTEL_BSP_MAX_QUEUE_SIZE": "50", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "25"}
        common = {
            "FLOWTEL_SHUTDOWN_TIMEOUT_MS": str(DEADLINE_MS),
            "OTEL_EXPORTER_OTLP_TIMEOUT": "8",
        }
        cases.append(
            ({"flows": 20, "tasks": 5}, otlp_environment(slow, protocol, **common, **small_queue))
        )
        cases.append(({"flows": 20, "tasks": 5}, otlp_environment(silent, protocol, **common)))
    closed = closed_port()
    for protocol in PROTOCOLS:
        environment = otlp_environment(
            closed, protocol, FLOWTEL_SHUTDOWN_TIMEOUT_MS=str(DEADLINE_MS)
        )
        cases.append(({"flows": 20, "tasks": 5}, environment))
    try:
        results = run_children(cases, tmp_path_factory)
    finally:
        for _, _, receiver in receivers:
            receiver.stop()
    names = [f"{kind} {protocol}" for kind, protocol, _ in receivers] + [
        f"closed {protocol}" for protocol in PROTOCOLS
    ]
    for name, result in zip(names, results, strict=True):
        assert (name, 0) == (name, result.returncode), result.stderr
        assert result.exit_after < DEADLINE_MS / 1000 + EXIT_MARGIN_S, (name, result.exit_after)
        emitted = (result.report["spans"], result.report["logs"])
        assert (name, emitted) == (name, dropped(result.stderr)), result.stderr
        assert [] == [line for line in result.stderr.splitlines() if "retrying in" in line]
    slow_grpc_warning = [line for line in flowtel_lines(results[0].stderr) if "Dropped" in line]
    assert True is ("queue full" in slow_grpc_warning[0]), slow_grpc_warning
    assert True is ("unsent at the shutdown deadline (1.5 s)" in slow_grpc_warning[0])
    closed_warning = [line for line in flowtel_lines(results[-1].stderr) if "Dropped" in line]
    assert closed_warning[0].startswith(f"flowtel: http://127.0.0.1:{closed}: connection refused.")


def test_credentials_in_the_endpoint_never_reach_flowtels_log_lines(tmp_path_factory):
    """An endpoint URL with user:password@ is reported with the password masked."""
    port = closed_port()
    environment = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://robot:s3cret-pw@127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "1",
        "FLOWTEL_SHUTDOWN_TIMEOUT_MS": "1000",
    }
    [result] = run_children(
        [({"flows": 2, "tasks": 1, "linger": 1.5}, environment)], tmp_path_factory
    )
    lines = flowtel_lines(result.stderr)
    assert 2 == len(lines), result.stderr
    assert [] == [line for line in lines if "s3cret-pw" in line]
    assert True is all(f"http://robot:[REDACTED]@127.0.0.1:{port}" in line for line in lines)


# --- one signal refused, the others delivered -----------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_refused_signal_costs_no_other_signal(protocol, tmp_path_factory):
    """An endpoint that accepts traces only (logs and metrics refused, as Jaeger does): every
    span arrives, for a process that lives past the log and metric export intervals; each
    refusal is reported once with what to set, and the refused log records are counted."""
    receiver = OtlpReceiver(protocol, refuse={"logs": 404, "metrics": 404}).start()
    environment = otlp_environment(
        receiver,
        protocol,
        OTEL_BLRP_SCHEDULE_DELAY="100",
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_METRIC_EXPORT_INTERVAL="200",
    )
    try:
        [result] = run_children(
            [({"flows": 100, "tasks": 5, "linger": 1.0}, environment)], tmp_path_factory
        )
    finally:
        receiver.stop()
    assert 0 == result.returncode, result.stderr
    assert 600 == result.report["spans"]
    assert (600, 600) == (len(receiver.spans()), result.report["spans"])
    assert set(result.report["ids"]) == {
        span.attributes.get("cicd.pipeline.run.id") for span in receiver.spans()
    }
    code = "UNIMPLEMENTED" if protocol == "grpc" else "HTTP 404"
    lines = flowtel_lines(result.stderr)
    expected = [
        f"the endpoint does not accept OTLP logs ({code}) at",
        f"the endpoint does not accept OTLP metrics ({code}) at",
    ]
    # Logs or metrics may be refused first: one line each, in either order.
    assert expected == sorted(
        next((needle for needle in expected if needle in line), line)
        for line in lines
        if "Dropped" not in line
    ), result.stderr
    assert True is all(
        "set OTEL_LOGS_EXPORTER=none" in line
        for line in lines
        if "OTLP logs" in line and "Dropped" not in line
    )
    assert (0, result.report["logs"]) == dropped(result.stderr)
    assert [] == [line for line in lines if "cannot export" in line or "unreachable" in line]


def test_401_and_403_are_reported_as_authentication_failures(tmp_path_factory):
    """An endpoint answering 401/403 (gRPC UNAUTHENTICATED/PERMISSION_DENIED) is reported as
    an authentication failure per signal, never as unreachable."""
    receivers = [
        (
            protocol,
            status,
            OtlpReceiver(
                protocol, refuse=dict.fromkeys(("traces", "logs", "metrics"), status)
            ).start(),
        )
        for protocol in PROTOCOLS
        for status in (401, 403)
    ]
    environment = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_BLRP_SCHEDULE_DELAY": "100"}
    cases = [
        (
            {"flows": 3, "tasks": 1, "linger": 0.5},
            otlp_environment(receiver, protocol, **environment),
        )
        for protocol, _, receiver in receivers
    ]
    try:
        results = run_children(cases, tmp_path_factory)
    finally:
        for _, _, receiver in receivers:
            receiver.stop()
    labels = {
        ("grpc", 401): "authentication failed (UNAUTHENTICATED)",
        ("grpc", 403): "permission denied (PERMISSION_DENIED)",
        ("http/protobuf", 401): "authentication failed (HTTP 401)",
        ("http/protobuf", 403): "permission denied (HTTP 403)",
    }
    for (protocol, status, _), result in zip(receivers, results, strict=True):
        label = labels[(protocol, status)]
        lines = [line for line in flowtel_lines(result.stderr) if "Dropped" not in line]
        assert 0 == result.returncode, result.stderr
        assert ["spans", "log records"] == [
            kind
            for kind in ("spans", "log records")
            if any(label in line and f"its {kind}" in line for line in lines)
        ], result.stderr
        assert [] == [line for line in lines if "unreachable" in line or "cannot export" in line]
        assert (result.report["spans"], result.report["logs"]) == dropped(result.stderr)


def test_a_batch_rejected_at_shutdown_ends_only_that_batch(tmp_path_factory):
    """At shutdown, an endpoint that answers 400 rejects each batch on its own: every batch is
    still sent, and all drops are counted as rejected, none as unreachable or interrupted."""
    receiver = OtlpReceiver("http/protobuf", refuse={"traces": 400}).start()
    environment = otlp_environment(
        receiver,
        "http/protobuf",
        OTEL_BSP_SCHEDULE_DELAY="60000",  # everything is still queued at shutdown
        OTEL_LOGS_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
    )
    # Seven spans of about 1 MiB of messages each: several requests under the 3 MiB budget.
    config = {"flows": 7, "tasks": 0, "messages": 128}
    try:
        [result] = run_children([(config, environment)], tmp_path_factory)
    finally:
        receiver.stop()
    assert 0 == result.returncode, result.stderr
    spans = result.report["spans"]
    assert [
        f"flowtel: Dropped {spans} spans (rejected by the endpoint: {spans}) and 0 log records"
    ] == flowtel_lines(result.stderr)
    assert True is (len(receiver.headers["traces"]) > 1), "the spans made several requests"


# --- a flapping collector -------------------------------------------------------------------

FLAPPING_CHILD = """
import json, sys, threading, time

import flowtel
from flowtel import flow, task


@task()
def step(number):
    return number


@flow(flow_name="flapping_job")
def flapping_job(this_flow=None):
    this_flow.log_info("flapping job")
    step(1)
    step(2)


flowtel.configure(service_name="flapping-test")
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
finished = []
while not stop.is_set():
    run = flapping_job().execute()
    finished.append((run.flow_id, time.time()))
    time.sleep(0.02)
print(json.dumps(finished), flush=True)
"""
OUTAGE_S = 10.0  # as in production reports: a collector restart


def flap(protocol, tmp_path, queue_size=None, answer_delay=0.0, outage_s=OUTAGE_S):
    """Run the child against a receiver that is up, down for ``outage_s``, up again. With an
    ``answer_delay`` the receiver is stopped while it holds a request unanswered."""
    receiver = OtlpReceiver(protocol, delay=answer_delay).start()
    script = tmp_path / "flapping_child.py"
    script.write_text(textwrap.dedent(FLAPPING_CHILD), encoding="utf-8")
    # A 1 s export timeout makes exports fail during the outage (instead of the exporter
    # retrying through it), so flowtel's own keep-and-retry is what brings the data over.
    environment = otlp_environment(
        receiver,
        protocol,
        OTEL_BSP_SCHEDULE_DELAY="200",
        OTEL_BLRP_SCHEDULE_DELAY="200",
        OTEL_EXPORTER_OTLP_TIMEOUT="1",
    )
    if queue_size is not None:
        environment["OTEL_BSP_MAX_QUEUE_SIZE"] = environment["OTEL_BLRP_MAX_QUEUE_SIZE"] = str(
            queue_size
        )
    child, watchdog = start_child([str(script)], environment, tmp_path, stdin=subprocess.PIPE)
    try:
        time.sleep(2.0)
        if answer_delay:
            wait_for(lambda: request_unanswered(receiver, "traces"), timeout=5.0)
        down = time.time()
        receiver.stop()
        time.sleep(outage_s)
        receiver.start()
        up = time.time()
        time.sleep(1.5)
        stdout, stderr = child.communicate("stop\n", timeout=CHILD_TIMEOUT_S)
    finally:
        watchdog.cancel()
        receiver.stop()
    return SimpleNamespace(
        returncode=child.returncode,
        finished=json.loads(stdout),
        stderr=stderr,
        receiver=receiver,
        down=down,
        up=up,
    )


def request_unanswered(receiver, signal):
    """True while the receiver holds a request of ``signal`` it has not answered."""
    with receiver._lock:
        return len(receiver.headers[signal]) > len(receiver.requests[signal])


def distinct_spans_per_run(receiver):
    """How many different spans of each run arrived. A batch in flight when the receiver
    stops may have been kept by it and is sent again after the outage (OTLP delivers at least
    once; backends keep one copy per span id), so copies are not counted twice."""
    span_ids = {}
    for span in receiver.spans():
        span_ids.setdefault(span.attributes.get("cicd.pipeline.run.id"), set()).add(span.span_id)
    return {run_id: len(ids) for run_id, ids in span_ids.items()}


SMALL_QUEUE = 30


@pytest.fixture(scope="module")
def flapped(tmp_path_factory):
    """The flapping runs, all at once: gRPC and HTTP with the default queues, and HTTP with a
    queue of SMALL_QUEUE that the outage overflows."""
    cases = (
        [(protocol, {}) for protocol in PROTOCOLS]
        + [("http/protobuf", {"queue_size": SMALL_QUEUE})]
        + [(protocol, {"answer_delay": 0.3, "outage_s": 3.0}) for protocol in PROTOCOLS]
    )
    directories = [tmp_path_factory.mktemp("flap") for _ in cases]
    with ThreadPoolExecutor(len(cases)) as pool:
        results = list(
            pool.map(lambda case, path: flap(case[0], path, **case[1]), cases, directories)
        )
    return {"default": results[:2], "small queue": results[2], "stopped answering": results[3:]}


def test_flapping_collector_loses_nothing_that_finished_while_it_was_up(flapped):
    """Collector up, down, up again, over gRPC and HTTP: every span and log record of a flow
    that finished while it was up arrives, and whatever did not arrive is counted in the one
    drop warning (here: nothing, the outage fits in the queue)."""
    for protocol, result in zip(PROTOCOLS, flapped["default"], strict=True):
        assert 0 == result.returncode, result.stderr
        receiver = result.receiver
        arrived_spans = distinct_spans_per_run(receiver)
        logged = {
            record.attributes.get("cicd.pipeline.run.id")
            for record in receiver.log_records()
            if record.body == "flapping job"
        }
        while_up = [
            flow_id
            for flow_id, ended in result.finished
            if ended < result.down or ended > result.up
        ]
        assert True is (len(while_up) > 20), len(while_up)
        assert (protocol, []) == (protocol, [f for f in while_up if arrived_spans.get(f) != 3])
        assert (protocol, []) == (protocol, [f for f in while_up if f not in logged])
        missing = sum(3 - min(arrived_spans.get(f, 0), 3) for f, _ in result.finished)
        assert (protocol, missing) == (protocol, dropped(result.stderr)[0]), result.stderr
        outage = [line for line in flowtel_lines(result.stderr) if "cannot export" in line]
        assert (protocol, 1) == (protocol, len(outage)), result.stderr


def test_a_batch_whose_answer_was_lost_is_sent_again(flapped):
    """The collector stops while it holds a batch unanswered, over gRPC and HTTP: that batch is
    sent again once it is back, so every span of every flow arrives (some twice: OTLP delivers
    at least once) and nothing is counted as dropped."""
    for protocol, result in zip(PROTOCOLS, flapped["stopped answering"], strict=True):
        assert 0 == result.returncode, result.stderr
        arrived_spans = distinct_spans_per_run(result.receiver)
        logged = {
            record.attributes.get("cicd.pipeline.run.id")
            for record in result.receiver.log_records()
            if record.body == "flapping job"
        }
        finished = [flow_id for flow_id, _ in result.finished]
        assert (protocol, []) == (protocol, [f for f in finished if arrived_spans.get(f) != 3])
        assert (protocol, []) == (protocol, [f for f in finished if f not in logged])
        assert (protocol, (0, 0)) == (protocol, dropped(result.stderr)), result.stderr


# --- which exporters, where: the standard variables ------------------------------------------


def kinds(setups):
    """{signal: [(kind, protocol, endpoint)]} for resolve_signals' answer."""
    return {
        signal: [(s.kind, s.protocol, s.endpoint) for s in found]
        for signal, found in setups.items()
    }


@pytest.fixture
def otel_env(monkeypatch):
    """A clean OTEL_* environment for resolve_signals; returns monkeypatch.setenv."""
    import os

    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    return monkeypatch.setenv


def test_signal_exporter_variables_select_otlp_console_or_none(otel_env):
    """OTEL_TRACES_EXPORTER / OTEL_LOGS_EXPORTER / OTEL_METRICS_EXPORTER choose each signal's
    exporters (otlp, console, none, or a comma-separated list)."""
    otel_env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")
    otel_env("OTEL_TRACES_EXPORTER", "otlp,console")
    otel_env("OTEL_LOGS_EXPORTER", "none")
    otel_env("OTEL_METRICS_EXPORTER", "console")
    assert {
        "traces": [("otlp", "grpc", "http://collector:4317"), ("console", "grpc", None)],
        "logs": [],
        "metrics": [("console", "grpc", None)],
    } == kinds(resolve_signals(None, None, None))


def test_unknown_signal_exporter_is_a_value_error_naming_it(otel_env):
    """An exporter name flowtel does not know is an error naming the variable and the choices."""
    otel_env("OTEL_LOGS_EXPORTER", "zipkin")
    with pytest.raises(ValueError, match=r"OTEL_LOGS_EXPORTER='zipkin' .* otlp, console, none"):
        resolve_signals(None, None, None)


def test_per_signal_endpoint_protocol_and_headers_win_over_the_general_ones(otel_env):
    """OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_{ENDPOINT,PROTOCOL,HEADERS} apply to their signal
    (the endpoint as is); the general ones to the rest (HTTP gets the signal's path)."""
    otel_env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318")
    otel_env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    otel_env("OTEL_EXPORTER_OTLP_HEADERS", "x-team=data")
    otel_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces-only:4317")
    otel_env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
    otel_env("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "authorization=Bearer%20abc")
    setups = resolve_signals(None, None, None)
    assert {
        "traces": [("otlp", "grpc", "http://traces-only:4317")],
        "logs": [("otlp", "http/protobuf", "http://general:4318/v1/logs")],
        "metrics": [("otlp", "http/protobuf", "http://general:4318/v1/metrics")],
    } == kinds(setups)
    assert [{"x-team": "data"}, {"authorization": "Bearer abc"}, {"x-team": "data"}] == [
        setups[signal][0].headers for signal in ("traces", "logs", "metrics")
    ]


def test_explicit_arguments_win_over_every_endpoint_variable(otel_env):
    """configure(endpoint=, protocol=, headers=) apply to all three signals."""
    otel_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces-only:4317")
    otel_env("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc")
    setups = resolve_signals("http://mine:4318", "http/protobuf", {"k": "v"})
    assert [
        "http://mine:4318/v1/traces",
        "http://mine:4318/v1/logs",
        "http://mine:4318/v1/metrics",
    ] == [setups[signal][0].endpoint for signal in ("traces", "logs", "metrics")]
    assert {"http/protobuf"} == {setups[signal][0].protocol for signal in setups}
    assert [{"k": "v"}] * 3 == [
        setups[signal][0].headers for signal in ("traces", "logs", "metrics")
    ]


def test_bad_per_signal_protocol_is_a_value_error_naming_it(otel_env):
    """A per-signal protocol flowtel cannot use is an error naming the variable."""
    otel_env("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json")
    with pytest.raises(ValueError, match=r"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL='http/json'"):
        resolve_signals("http://collector:4317", None, None)


def test_reported_endpoint_masks_credentials():
    """The endpoint flowtel names in its reports has its password masked."""
    setup = ExportSetup(
        "traces", "otlp", "http/protobuf", "https://bot:pw123@otlp.example/v1/traces"
    )
    assert "https://bot:[REDACTED]@otlp.example/v1/traces" == setup.where


ENV_CHILD = """
import json, sys
import flowtel
from flowtel import flow, task


@task()
def step():
    return 1


@flow(flow_name="env_job")
def env_job(this_flow=None):
    this_flow.log_info("env job")
    step()


flowtel.configure(service_name="env-test")
status = env_job().execute().flow_status
flowtel.shutdown()
print(json.dumps({"status": status}), flush=True)
"""


def run_env_child(environment, tmp_path):
    script = tmp_path / "env_child.py"
    script.write_text(textwrap.dedent(ENV_CHILD), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=CHILD_TIMEOUT_S,
        env=child_environment(environment),
        cwd=tmp_path,
    )


def test_standard_variables_end_to_end(tmp_path_factory):
    """Against real receivers: OTEL_TRACES_EXPORTER=none, OTEL_LOGS_EXPORTER=none,
    OTEL_METRICS_EXPORTER=none and OTEL_SDK_DISABLED=true each silence what they name (flows
    still run); per-signal endpoints, protocols and headers send each signal where it says;
    OTEL_TRACES_EXPORTER=console prints the spans."""
    receivers = {
        name: OtlpReceiver(protocol).start()
        for name, protocol in (
            ("traces_none", "grpc"),
            ("logs_none", "grpc"),
            ("metrics_none", "http/protobuf"),
            ("disabled", "grpc"),
            ("traces_http", "http/protobuf"),
            ("logs_grpc", "grpc"),
        )
    }

    def endpoint(name):
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": receivers[name].endpoint}

    cases = {
        "traces_none": {**endpoint("traces_none"), "OTEL_TRACES_EXPORTER": "none"},
        "logs_none": {**endpoint("logs_none"), "OTEL_LOGS_EXPORTER": "none"},
        "metrics_none": {
            **endpoint("metrics_none"),
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRICS_EXPORTER": "none",
        },
        "disabled": {**endpoint("disabled"), "OTEL_SDK_DISABLED": "true"},
        "per_signal": {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receivers["traces_http"].endpoint + "/v1/traces",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-tenant=traces-team",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": receivers["logs_grpc"].endpoint,
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "x-tenant=logs-team",
        },
        "console": {"OTEL_TRACES_EXPORTER": "console"},
    }
    directories = [tmp_path_factory.mktemp("env") for _ in cases]
    with ThreadPoolExecutor(len(cases)) as pool:
        results = dict(
            zip(
                cases,
                pool.map(run_env_child, cases.values(), directories),
                strict=True,
            )
        )
    for receiver in receivers.values():
        receiver.stop()
    for name, result in results.items():
        assert (name, 0, '{"status": "completed"}') == (
            name,
            result.returncode,
            result.stdout.strip().splitlines()[-1],
        ), result.stderr

    def arrived(name):
        receiver = receivers[name]
        return (
            len(receiver.spans()) > 0,
            len(receiver.log_records()) > 0,
            len(receiver.metrics()) > 0,
        )

    assert (False, True, True) == arrived("traces_none")
    assert (True, False, True) == arrived("logs_none")
    assert (True, True, False) == arrived("metrics_none")
    assert (False, False, False) == arrived("disabled")
    assert (True, False, False) == arrived("traces_http")
    assert (False, True, False) == arrived("logs_grpc")
    assert {"traces-team"} == {
        h.get("x-tenant") for h in receivers["traces_http"].headers["traces"]
    }
    assert {"logs-team"} == {
        dict(h).get("x-tenant") for h in receivers["logs_grpc"].headers["logs"]
    }
    console = results["console"].stdout
    assert True is ('"name": "env_job"' in console and '"name": "step"' in console), console


def test_bad_shutdown_timeout_is_a_value_error_naming_it(monkeypatch):
    """A shutdown deadline that is not a number of milliseconds >= 0 is rejected, by name."""
    import flowtel

    with pytest.raises(ValueError, match=r"shutdown_timeout_ms must be .* got -5"):
        flowtel.configure(shutdown_timeout_ms=-5)
    monkeypatch.setenv("FLOWTEL_SHUTDOWN_TIMEOUT_MS", "soon")
    with pytest.raises(ValueError, match=r"FLOWTEL_SHUTDOWN_TIMEOUT_MS='soon'"):
        flowtel.configure()


def test_bad_sigterm_choice_is_an_error_naming_it(monkeypatch):
    """handle_sigterm must be a bool, FLOWTEL_HANDLE_SIGTERM 1 or 0."""
    import flowtel

    with pytest.raises(TypeError, match=r"handle_sigterm must be True or False, got 'no'"):
        flowtel.configure(handle_sigterm="no")
    monkeypatch.setenv("FLOWTEL_HANDLE_SIGTERM", "maybe")
    with pytest.raises(ValueError, match=r"FLOWTEL_HANDLE_SIGTERM='maybe'"):
        flowtel.configure()


FLUSH_CHILD = """
import json, time
import flowtel
from flowtel import flow


@flow()
def flushed_job():
    return 1


flowtel.configure(shutdown_timeout_ms=500)
flushed_job().execute()
started = time.monotonic()
delivered = flowtel.force_flush(1000)
print(json.dumps({"delivered": delivered, "seconds": time.monotonic() - started}), flush=True)
"""


def test_force_flush_returns_false_within_its_timeout_when_nothing_answers():
    """force_flush(1000) against an endpoint that never answers returns False after about 1 s
    (the SDK's own force_flush would wait for the exporter's full timeout)."""
    with OtlpReceiver("grpc", black_hole=True) as receiver:
        result = subprocess.run(
            [sys.executable, "-c", FLUSH_CHILD],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            env=child_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}),
        )
    report = json.loads(result.stdout)
    assert (0, False) == (result.returncode, report["delivered"]), result.stderr
    assert True is (0.9 < report["seconds"] < 2.0), report


def test_an_outage_longer_than_the_queue_is_counted_when_export_resumes(flapped):
    """With a queue of 30, the flapping collector's outage overflows it: flows that finished
    before the outage all arrive, the recovery line says how many were dropped meanwhile, and
    the drop warning at exit counts exactly what never arrived."""
    result = flapped["small queue"]
    assert 0 == result.returncode, result.stderr
    arrived = distinct_spans_per_run(result.receiver)
    before = [flow_id for flow_id, ended in result.finished if ended < result.down]
    assert [] == [flow_id for flow_id in before if arrived.get(flow_id) != 3]
    recovered = [line for line in flowtel_lines(result.stderr) if "works again" in line]
    counted = re.search(r"the full queue dropped (\d+) spans? and (\d+) log records?", recovered[0])
    assert True is (int(counted[1]) > 0), recovered
    missing = sum(3 - min(arrived.get(flow_id, 0), 3) for flow_id, _ in result.finished)
    assert missing == dropped(result.stderr)[0], result.stderr


# --- request size ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_long_messages_never_make_a_request_the_endpoint_refuses(protocol, tmp_path_factory):
    """Flows with many messages at their size limit (100 x 8 KB per task span and as log
    records) all arrive: requests stay under gRPC's default 4 MiB, and after an endpoint with
    a smaller limit refuses a batch as too large, batches are made half that size."""
    default_limit = OtlpReceiver(protocol, max_request_bytes=4 * 1024 * 1024).start()
    small_limit = OtlpReceiver(protocol, max_request_bytes=1024 * 1024).start()
    config = {"flows": 8, "tasks": 2, "messages": 100}
    try:
        results = run_children(
            [
                (config, otlp_environment(default_limit, protocol)),
                (
                    {**config, "linger": 4},
                    otlp_environment(
                        small_limit,
                        protocol,
                        OTEL_EXPORTER_OTLP_TIMEOUT="1",
                        OTEL_BSP_SCHEDULE_DELAY="100",
                        OTEL_BLRP_SCHEDULE_DELAY="100",
                    ),
                ),
            ],
            tmp_path_factory,
        )
    finally:
        default_limit.stop()
        small_limit.stop()
    for receiver, result in zip((default_limit, small_limit), results, strict=True):
        assert 0 == result.returncode, result.stderr
        emitted = (result.report["spans"], result.report["logs"])
        assert (8 * 4, 8 * 101) == emitted
        assert emitted == (len(receiver.spans()), len(receiver.log_records())), result.stderr
        assert (0, 0) == dropped(result.stderr)


# Real spans and log records, as the SDK hands them to a processor, sized against the OTLP
# encoder's own bytes: the estimate must never be below what an item adds to a request.


def _ended_spans(make):
    """The spans ``make(tracer)`` ends, as the SDK hands them to a span processor."""
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    make(provider.get_tracer("size-test"))
    provider.shutdown()
    return exporter.get_finished_spans()


def _emitted_records(**emitted):
    """The log record one ``emit(**emitted)`` makes, as the OTLP exporter takes it."""
    provider = LoggerProvider()
    exporter = InMemoryLogRecordExporter()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    provider.get_logger("size-test").emit(**emitted)
    provider.shutdown()
    return exporter.get_finished_logs()


def _added_bytes(encode, item):
    """The bytes one more ``item`` adds to an OTLP request already holding one."""
    return len(encode([item, item]).SerializeToString()) - len(encode([item]).SerializeToString())


def _span(name="step", attributes=None, events=(), links=(), status=None, trace_state=None):
    def make(tracer):
        context = None
        if trace_state is not None:
            parent = SpanContext(
                0x1F, 0x2F, True, TraceFlags(TraceFlags.SAMPLED), trace_state=trace_state
            )
            context = trace_api.set_span_in_context(NonRecordingSpan(parent))
        span = tracer.start_span(name, context=context, attributes=attributes, links=links)
        for event_name, event_attributes in events:
            span.add_event(event_name, event_attributes)
        if status is not None:
            span.set_status(status)
        span.end()

    return make


LONG_STATE = TraceState([(f"vendor{number}", "v" * 250) for number in range(32)])
SPAN_CASES = {
    "flowtel's task span": _span(
        "bench_task",
        {
            "cicd.pipeline.task.name": "bench_task",
            "cicd.pipeline.task.run.id": "9b1365fe16210c0a",
            "code.line.number": 376,
            "code.file.path": "/work/benchmarks/workloads.py",
        },
    ),
    "long ASCII attribute": _span(attributes={"result": "x" * 100_000}),
    "non-ASCII keys and values": _span(
        attributes={"é" * 50: "é" * 5_000, "k": "中" * 5_000, "emoji": "😀" * 5_000}
    ),
    "sequences": _span(
        attributes={
            "texts": ("é" * 100,) * 50,
            "numbers": tuple(range(300)),
            "floats": (1.5,) * 100,
            "flags": (True, False) * 50,
        }
    ),
    "many numbers with long keys": _span(attributes={f"key.{n}." * 20: n for n in range(128)}),
    "messages as events": _span(
        events=[(f"message {n} ✓", {"message": "é" * 8_000, "n": n}) for n in range(100)]
    ),
    "links with attributes and trace state": _span(
        links=[
            Link(
                SpanContext(n + 1, n + 1, is_remote=True, trace_state=LONG_STATE),
                {"why": "ü" * 2_000},
            )
            for n in range(20)
        ]
    ),
    "status description": _span(status=Status(StatusCode.ERROR, "ошибка " * 2_000)),
    "non-ASCII name": _span("名" * 1_000),
    "propagated trace state": _span(trace_state=LONG_STATE),
}


@pytest.mark.parametrize("case", SPAN_CASES, ids=list(SPAN_CASES))
def test_span_size_is_never_below_what_the_span_adds_to_an_otlp_request(case):
    """A span's size estimate is at least the bytes it adds to an OTLP request."""
    [span] = _ended_spans(SPAN_CASES[case])
    added = _added_bytes(encode_spans, span)
    assert True is (span_size(span) >= added), (span_size(span), added)


@pytest.mark.parametrize("case", SPAN_CASES, ids=list(SPAN_CASES))
def test_span_size_from_the_sdk_span_fields_equals_the_size_from_its_public_properties(case):
    """The estimate read from the SDK span's own fields is the one its public properties give
    (what a span object without those fields is measured by)."""
    [span] = _ended_spans(SPAN_CASES[case])
    public = SimpleNamespace(
        name=span.name,
        attributes=span.attributes,
        events=span.events,
        links=span.links,
        status=span.status,
        context=span.context,
    )
    assert span_size(public) == span_size(span)


LOG_CASES = {
    "flowtel's message": {
        "body": "processed item",
        "attributes": {"cicd.pipeline.name": "job", "cicd.pipeline.run.id": "7089d41241882c0c"},
    },
    "long non-ASCII body": {"body": "ж" * 50_000},
    "bytes body": {"body": b"\xff" * 100_000},
    "bytearray body (sent as numbers)": {"body": bytearray(5_000)},
    "nested body with non-text keys": {
        "body": {1: "x" * 1_000, "list": [{"k": "é" * 500}] * 20, "raw": b"\x00" * 1_000}
    },
    "nested attributes": {
        "body": "m",
        "attributes": {"nested": {"k": ["é" * 100] * 10}, "raw": b"x" * 1_000, "n": 1},
    },
    "long event name": {"body": "m", "event_name": "evénement." * 1_000},
}


@pytest.mark.parametrize("case", LOG_CASES, ids=list(LOG_CASES))
def test_log_record_size_is_never_below_what_the_record_adds_to_an_otlp_request(case):
    """A log record's size estimate is at least the bytes it adds to an OTLP request."""
    [record] = _emitted_records(**LOG_CASES[case])
    added = _added_bytes(encode_logs, record)
    assert True is (log_record_size(record) >= added), (log_record_size(record), added)


def test_the_size_estimate_of_long_text_is_close_to_its_encoded_size():
    """Long ASCII text is counted once, not several times: batches are not cut needlessly."""
    [span] = _ended_spans(SPAN_CASES["long ASCII attribute"])
    [record] = _emitted_records(body="x" * 100_000)
    assert 100_000 <= _added_bytes(encode_spans, span) <= span_size(span) <= 101_000
    assert 100_000 <= _added_bytes(encode_logs, record) <= log_record_size(record) <= 101_000


class BatchRecorder(InMemoryLogRecordExporter):
    """An in-memory exporter that also keeps each batch (one request) as it came."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def export(self, batch):
        self.batches.append(list(batch))
        return super().export(batch)


def _log_queue(exporter, **settings):
    report = OutageReport()
    status = report.add(SignalStatus("logs", "memory", "memory"))
    settings = {"max_queue": 2048, "max_batch": 512, "delay_s": 60, **settings}
    return SignalQueue(exporter, status, report, **settings)


def _stop(queue):
    queue.begin_shutdown()
    assert True is queue.finish_shutdown(time.monotonic() + 5)


def test_requests_stay_under_the_byte_budget_and_every_record_is_sent():
    """Batches are cut by estimated bytes: each request stays under the budget, none is lost."""
    exporter = BatchRecorder()
    queue = _log_queue(exporter)
    queue.batch_bytes = 64 * 1024
    records = [record for n in range(40) for record in _emitted_records(body=f"{n} " + "é" * 3_000)]
    for record in records:
        queue.add(record)
    assert True is queue.force_flush(5)
    _stop(queue)
    sizes = [len(encode_logs(batch).SerializeToString()) for batch in exporter.batches]
    assert [True] * len(sizes) == [size <= 64 * 1024 for size in sizes], sizes
    assert len(sizes) > 1
    assert [record.log_record.body for record in records] == [
        record.log_record.body for record in exporter.get_finished_logs()
    ]


class Unsizable(list):
    """A body whose items cannot be read (as neither the estimate nor an encoder can)."""

    def __iter__(self):
        raise RuntimeError("unreadable")


def test_a_record_the_estimate_cannot_size_goes_in_a_request_of_its_own():
    """An item whose size cannot be estimated is sent alone, and the others around it as usual."""
    exporter = BatchRecorder()
    queue = _log_queue(exporter)
    bodies = ["a", "b", Unsizable(), "c", "d"]
    for body in bodies:
        [record] = _emitted_records(body=body)
        queue.add(record)
    assert True is queue.force_flush(5)
    _stop(queue)
    assert [2, 1, 2] == [len(batch) for batch in exporter.batches]
    assert Unsizable is type(exporter.batches[1][0].log_record.body)


# --- flowtel's log record processor -----------------------------------------------------------


def test_flowtels_own_log_processor_is_used_with_the_installed_sdk():
    """configure()'s log processor is flowtel's own (no per-record context switch), an SDK
    LogRecordProcessor (so it answers what newer SDKs ask processors, such as enabled())."""
    queue = _log_queue(BatchRecorder())
    try:
        processor = log_queue_processor(queue)
    finally:
        _stop(queue)
    assert ("LogQueueProcessor", True) == (
        type(processor).__name__,
        isinstance(processor, LogRecordProcessor),
    )


def _records_through(processor_is_own, receiver, protocol):
    """Emit hostile and ordinary records through one log processor kind to ``receiver``."""
    endpoint = receiver.endpoint + ("" if protocol == "grpc" else "/v1/logs")
    exporter = make_exporter(ExportSetup("logs", "otlp", protocol, endpoint))
    queue = _log_queue(exporter)
    resource = Resource.create({"service.name": "log-processor-test"})
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(log_queue_processor(queue, own=processor_is_own))
    logger = provider.get_logger("flowtel.test", "1.0")
    tracer_provider = TracerProvider()
    with tracer_provider.get_tracer("t").start_as_current_span("flow") as span:
        for body in ("ordinary", "é😀" * 100, b"\x00\xff", {"k": [1, "v"]}):
            logger.emit(
                severity_number=SeverityNumber.WARN,
                severity_text="WARN",
                body=body,
                attributes={"kind": processor_is_own, "nested": {"a": ["x", "ü"]}},
            )
    assert True is provider.force_flush(5000)
    _stop(queue)
    context = span.get_span_context()
    return [
        (
            record.body,
            record.severity_number,
            record.severity_text,
            record.trace_id == f"{context.trace_id:032x}",
            record.span_id == f"{context.span_id:016x}",
            record.attributes["nested"],
            record.resource["service.name"],
        )
        for record in receiver.log_records()
        if record.attributes["kind"] is processor_is_own
    ]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_flowtels_log_processor_and_the_sdks_deliver_the_same_records(protocol):
    """flowtel's own log processor and the SDK-made records deliver the same over real OTLP."""
    with OtlpReceiver(protocol) as receiver:
        own = _records_through(True, receiver, protocol)
        sdk = _records_through(False, receiver, protocol)
    assert sdk == own
    assert [
        ("ordinary", 13, "WARN", True, True, {"a": ["x", "ü"]}, "log-processor-test"),
        ("é😀" * 100, 13, "WARN", True, True, {"a": ["x", "ü"]}, "log-processor-test"),
        (b"\x00\xff", 13, "WARN", True, True, {"a": ["x", "ü"]}, "log-processor-test"),
        ({"k": [1, "v"]}, 13, "WARN", True, True, {"a": ["x", "ü"]}, "log-processor-test"),
    ] == own


class ShutdownDuringAppend(collections.deque):
    """A queue whose next append first lets the queue be shut down: the interleaving of a
    record that ends on a flow thread exactly while the process shuts the queue down."""

    signal_queue = None

    def append(self, item):
        queue, self.signal_queue = self.signal_queue, None
        if queue is not None:
            _stop(queue)
        super().append(item)


def test_a_record_ending_while_the_queue_shuts_down_is_counted_not_lost_silently():
    """A record added after the add() check but while the queue closes is neither kept in a
    closed queue nor uncounted: it is reported as dropped after shutdown."""
    exporter = BatchRecorder()
    queue = _log_queue(exporter)
    racing = ShutdownDuringAppend()
    racing.signal_queue = queue
    queue.queue = racing
    [record] = _emitted_records(body="late")
    queue.add(record)
    assert ((), 0, {AFTER_SHUTDOWN: 1}) == (
        exporter.get_finished_logs(),
        len(queue.queue),
        queue.status.dropped,
    )
