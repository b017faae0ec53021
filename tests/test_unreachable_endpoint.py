"""An unreachable OTLP endpoint never breaks or blocks flows; export resumes when it is back.

The flow runs in a child process configured with flowtel.configure() against a closed port
on 127.0.0.1. The child reports its timings on stdout, then waits on stdin while this test
starts a real OTLP receiver on that very port, and finally runs one more flow that must
arrive at the receiver.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

# OTEL_EXPORTER_OTLP_TIMEOUT (seconds) bounds one export, retries included (OTLP exporter
# docs). A flow that waited for exports would take at least one such export per batch.
EXPORT_TIMEOUT_S = 2
TASK_CALLS = 1000
CHILD_TIMEOUT_S = 60
# Runs after the endpoint is back; the gRPC channel may need one to reconnect.
RECOVERY_RUNS = 5

CHILD = """
import json
import logging
import sys
import time

logging.basicConfig(
    level=logging.WARNING,
    format="LOG|%(name)s|%(levelname)s|%(message)s",
    stream=sys.stderr,
)

import flowtel
from flowtel import flow, task


@task()
def work(number):
    return number * 2


@flow(flow_name="outage_flow")
def outage_flow(calls, this_flow):
    this_flow.log_info("outage flow starting")
    return sum(work(number) for number in range(calls))


@flow(flow_name="recovery_flow")
def recovery_flow(this_flow):
    this_flow.log_info("endpoint is back")
    return work(21)


def report(**values):
    print(json.dumps(values), flush=True)


flowtel.configure(service_name="outage-test", endpoint=sys.argv[1], protocol=sys.argv[2])
calls = int(sys.argv[3])
errors = []
run = None
started = time.perf_counter()
try:
    run = outage_flow(calls).execute()
except BaseException as error:
    errors.append(repr(error))
elapsed = time.perf_counter() - started
report(
    phase="outage",
    elapsed=elapsed,
    errors=errors,
    status=run.flow_status if run else None,
    tasks=len(run.executed_tasks) if run else None,
    value=run.flow_return_value if run else None,
)

# Let every signal try (and fail) to export what is buffered: several failed exports.
started = time.perf_counter()
flowtel.force_flush()
print("LOG|marker|INFO|outage phase over", file=sys.stderr, flush=True)
report(phase="flushed", flush_seconds=time.perf_counter() - started)

# The test starts a receiver on the port, then says "go" for each recovery run it wants.
while sys.stdin.readline().strip() == "go":
    errors = []
    try:
        back = recovery_flow().execute()
    except BaseException as error:
        errors.append(repr(error))
    flowtel.force_flush()
    report(phase="recovered", errors=errors, flow_id=back.flow_id, status=back.flow_status)
flowtel.shutdown()
"""


class Receiver:
    """A real OTLP receiver on a given loopback port (HTTP/protobuf or gRPC), counting spans."""

    def __init__(self, protocol, port):
        self.protocol = protocol
        self.port = port
        self.spans = []
        self.log_bodies = []
        self.metric_names = []
        self._lock = threading.Lock()

    def traces(self, request):
        with self._lock:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        attributes = {kv.key: kv.value for kv in span.attributes}
                        run_id = attributes.get("cicd.pipeline.run.id")
                        self.spans.append((span.name, run_id.string_value if run_id else None))

    def logs(self, request):
        with self._lock:
            for resource_logs in request.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    self.log_bodies.extend(r.body.string_value for r in scope_logs.log_records)

    def metrics(self, request):
        with self._lock:
            for resource_metrics in request.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    self.metric_names.extend(m.name for m in scope_metrics.metrics)

    def has_run(self, flow_id):
        """True when spans of the run with this flow id have arrived."""
        with self._lock:
            return any(run_id == flow_id for _, run_id in self.spans)

    def start(self):
        if self.protocol == "grpc":
            self._start_grpc()
        else:
            self._start_http()
        return self

    def _start_http(self):
        receiver = self
        routes = {
            "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, receiver.traces),
            "/v1/logs": (logs_service_pb2.ExportLogsServiceRequest, receiver.logs),
            "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest, receiver.metrics),
        }

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request_type, handle = routes[self.path]
                request = request_type()
                request.ParseFromString(body)
                handle(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._stop = lambda: (server.shutdown(), server.server_close())

    def _start_grpc(self):
        receiver = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                receiver.traces(request)
                return trace_service_pb2.ExportTraceServiceResponse()

        class Logs(logs_service_pb2_grpc.LogsServiceServicer):
            def Export(self, request, context):
                receiver.logs(request)
                return logs_service_pb2.ExportLogsServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request, context):
                receiver.metrics(request)
                return metrics_service_pb2.ExportMetricsServiceResponse()

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
        assert self.port == server.add_insecure_port(f"127.0.0.1:{self.port}")
        server.start()
        self._stop = lambda: server.stop(grace=None).wait(5)

    def stop(self):
        self._stop()


def closed_port():
    """A loopback port with nothing listening on it (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def flowtel_warnings(stderr_lines):
    """The WARNING-or-worse records flowtel's own loggers wrote, from the child's log format."""
    found = []
    for line in stderr_lines:
        parts = line.split("|", 3)
        if len(parts) == 4 and parts[0] == "LOG" and parts[1].startswith("flowtel"):
            if parts[2] in ("WARNING", "ERROR", "CRITICAL"):
                found.append(parts[3])
    return found


@pytest.fixture(scope="module", params=["http/protobuf", "grpc"])
def outage(request, tmp_path_factory):
    """Run the child against a closed port, bring a receiver up on it mid-way; return the outcome."""
    protocol = request.param
    port = closed_port()
    tmp_path = tmp_path_factory.mktemp("outage")
    script = tmp_path / "outage_child.py"
    script.write_text(textwrap.dedent(CHILD), encoding="utf-8")
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "FLOWTEL_"))
    }
    environment.update(
        {
            "PYTHONIOENCODING": "utf-8",
            "FLOWTEL_RAISE_INTERNAL_ERRORS": "1",
            "OTEL_EXPORTER_OTLP_TIMEOUT": str(EXPORT_TIMEOUT_S),
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_BLRP_SCHEDULE_DELAY": "100",
        }
    )
    child = subprocess.Popen(
        [sys.executable, str(script), f"http://127.0.0.1:{port}", protocol, str(TASK_CALLS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=environment,
        cwd=tmp_path,
    )
    watchdog = threading.Timer(CHILD_TIMEOUT_S, child.kill)  # a hung child fails, not hangs
    watchdog.start()
    receiver = None
    stderr_lines = []
    reader = threading.Thread(target=lambda: stderr_lines.extend(child.stderr), daemon=True)
    reader.start()
    try:
        reports = {}
        recoveries = []
        for line in child.stdout:
            report = json.loads(line)
            reports[report["phase"]] = report
            if report["phase"] == "flushed":
                receiver = Receiver(protocol, port).start()
                child.stdin.write("go\n")
            if report["phase"] == "recovered":
                # force_flush() has returned in the child: an export that worked has arrived.
                recoveries.append(report)
                again = not receiver.has_run(report["flow_id"])
                child.stdin.write("go\n" if again and len(recoveries) < RECOVERY_RUNS else "stop\n")
            child.stdin.flush()
        child.wait(timeout=CHILD_TIMEOUT_S)
        reader.join(timeout=10)
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.wait()
        if receiver is not None:
            receiver.stop()
    assert 0 == child.returncode, "".join(stderr_lines)
    marker = next(i for i, line in enumerate(stderr_lines) if "outage phase over" in line)
    return {
        "protocol": protocol,
        "reports": reports,
        "recoveries": recoveries,
        "receiver": receiver,
        "outage_stderr": stderr_lines[:marker],
        "stderr": stderr_lines,
    }


def test_thousand_task_calls_finish_without_errors(outage):
    """With the endpoint down, a flow of 1,000 task calls completes and no exception reaches it."""
    report = outage["reports"]["outage"]
    expected_value = sum(number * 2 for number in range(TASK_CALLS))
    assert ([], "completed", TASK_CALLS, expected_value) == (
        report["errors"],
        report["status"],
        report["tasks"],
        report["value"],
    )
    assert [] == [line for line in outage["stderr"] if "Traceback" in line]


def test_flow_is_not_slowed_by_the_outage(outage):
    """The flow's wall time stays under one exporter timeout: it never waits for an export."""
    elapsed = outage["reports"]["outage"]["elapsed"]
    assert True is (elapsed < EXPORT_TIMEOUT_S), (
        f"{TASK_CALLS} task calls took {elapsed:.2f}s with the endpoint down; "
        f"OTEL_EXPORTER_OTLP_TIMEOUT is {EXPORT_TIMEOUT_S}s"
    )


def test_exactly_one_flowtel_warning_about_the_outage(outage):
    """The outage is reported by flowtel exactly once, however many exports fail."""
    warnings = flowtel_warnings(outage["outage_stderr"])
    assert 1 == len(warnings), warnings
    assert True is ("could not export" in warnings[0])


def test_export_resumes_when_the_endpoint_is_back(outage):
    """Once a receiver listens on the port, runs are exported again (within a few runs)."""
    recoveries = outage["recoveries"]
    receiver = outage["receiver"]
    assert [([], "completed")] * len(recoveries) == [
        (report["errors"], report["status"]) for report in recoveries
    ]
    last = recoveries[-1]
    arrived = {name for name, run_id in receiver.spans if run_id == last["flow_id"]}
    assert {"recovery_flow", "work"} == arrived, f"nothing after {len(recoveries)} runs"
    assert True is ("endpoint is back" in receiver.log_bodies)
