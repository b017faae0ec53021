"""An unreachable OTLP endpoint never breaks or blocks flows; export resumes when it is back.

The flow runs in a child process configured with flowtel.configure() against a closed port
on 127.0.0.1. The child reports its timings on stdout, then waits on stdin while this test
starts a real OTLP receiver on that very port, and finally runs one more flow that must
arrive at the receiver.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from helpers import child_environment
from otlp_receiver import OtlpReceiver, closed_port

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
    environment = child_environment(
        {
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
                receiver = OtlpReceiver(protocol, port).start()
                child.stdin.write("go\n")
            if report["phase"] == "recovered":
                # force_flush() has returned in the child: an export that worked has arrived.
                recoveries.append(report)
                again = not receiver.spans_of_run(report["flow_id"])
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
    """The outage is reported by flowtel exactly once, cause first, however many exports of
    however many signals fail; none of the OTLP exporters' own retry lines is printed."""
    warnings = flowtel_warnings(outage["outage_stderr"])
    where = f"http://127.0.0.1:{outage['receiver'].port}"
    assert 1 == len(warnings), warnings
    assert warnings[0].startswith(
        f"flowtel: cannot export telemetry to {where}: connection refused;"
    ), warnings[0]
    assert [] == [line for line in outage["stderr"] if "retrying in" in line]


def test_export_resumes_when_the_endpoint_is_back(outage):
    """Once a receiver listens on the port, runs are exported again (within a few runs)."""
    recoveries = outage["recoveries"]
    receiver = outage["receiver"]
    assert [([], "completed")] * len(recoveries) == [
        (report["errors"], report["status"]) for report in recoveries
    ]
    last = recoveries[-1]
    arrived = receiver.spans_of_run(last["flow_id"])
    assert {"recovery_flow", "work"} == arrived, f"nothing after {len(recoveries)} runs"
    assert True is ("endpoint is back" in [record.body for record in receiver.log_records()])


SHORT_SCRIPT = """
import flowtel
from flowtel import flow, task


@task()
def work(number):
    return number * 2


@flow()
def short_flow():
    return sum(work(number) for number in range(10))


flowtel.configure(service_name="short-script")
print(short_flow().execute().flow_return_value)
"""


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_a_short_script_exits_promptly_when_the_endpoint_is_down(protocol):
    """At exit with the endpoint down, flowtel drops unsent telemetry instead of retrying for
    the exporter's full timeout (10 s by default), and says so once."""
    port = closed_port()
    environment = child_environment(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        }
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", SHORT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        env=environment,
    )
    elapsed = time.monotonic() - started
    assert (0, "90") == (result.returncode, result.stdout.strip())
    assert elapsed < 8, f"exit took {elapsed:.1f} s"
    where = f"http://127.0.0.1:{port}"
    assert [
        f"flowtel: {where}: connection refused. Dropped 11 spans (endpoint unreachable at "
        f"shutdown: 11) and 0 log records"
    ] == [line for line in result.stderr.splitlines() if line.startswith("flowtel")]


def test_demo_reports_dropped_telemetry_when_the_endpoint_is_down():
    """`flowtel demo` against a closed port still runs its flows, then says per signal, on
    stdout, that the endpoint refused the connection and what was dropped, and exits 1."""
    port = closed_port()
    environment = child_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"})
    result = subprocess.run(
        [sys.executable, "-m", "flowtel", "demo"],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        env=environment,
    )
    lines = result.stdout.strip().splitlines()
    where = f"http://127.0.0.1:{port}"
    assert (1, "") == (result.returncode, result.stderr)
    assert lines[-5].startswith("process_orders: completed")
    assert [
        f"traces: could not export to {where}: connection refused; 12 spans dropped "
        "(12 endpoint unreachable at shutdown)",
        f"logs: could not export to {where}: connection refused; 5 log records dropped "
        "(5 endpoint unreachable at shutdown)",
        f"metrics: could not export to {where}: connection refused",
    ] == lines[-3:]


def test_demo_against_a_traces_only_endpoint_reports_each_signal():
    """`flowtel demo` against an endpoint that takes traces but not logs or metrics (as Jaeger):
    traces delivered, each refused signal named with the variable that turns it off, exit 0."""
    with OtlpReceiver("grpc", refuse={"logs": 404, "metrics": 404}) as receiver:
        result = subprocess.run(
            [sys.executable, "-m", "flowtel", "demo"],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            env=child_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}),
        )
    lines = result.stdout.strip().splitlines()
    assert (0, "") == (result.returncode, result.stderr)
    assert [
        f"traces: 12 spans delivered to {receiver.endpoint}",
        "logs: the endpoint does not accept OTLP logs (UNIMPLEMENTED); set OTEL_LOGS_EXPORTER=none",
        "metrics: the endpoint does not accept OTLP metrics (UNIMPLEMENTED); "
        "set OTEL_METRICS_EXPORTER=none",
        f"telemetry sent to {receiver.endpoint} as service 'flowtel-demo'",
    ] == lines[-5:-1]
    assert lines[-1].startswith("next: ")  # where to look, after the per-signal lines
    assert 12 == len(receiver.spans())
    assert [] == [line for line in lines if "unreachable" in line or "could not" in line]
