"""SIGTERM (how Kubernetes, systemd and docker stop a process) loses no finished telemetry.

A child process configured against a real OTLP receiver finishes flows, then is inside a long
flow when the test sends it SIGTERM.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from helpers import child_environment
from otlp_receiver import OtlpReceiver

from flowtel.telemetry._sigterm import SIGTERM_EXIT_STATUS

CHILD_TIMEOUT_S = 60
DEADLINE_MS = 2000
FLOWS = 200

CHILD = """
import asyncio, json, signal, sys, time

mode = sys.argv[1]
if mode == "app-handler":
    def app_handler(signum, frame):
        sys.__stdout__.write("app handler ran\\n")
        sys.__stdout__.flush()
        sys.exit(7)

    signal.signal(signal.SIGTERM, app_handler)

import flowtel
from flowtel import flow, task


@task()
def step(number):
    return number


@flow(flow_name="finished_job")
def finished_job(this_flow=None):
    this_flow.log_info("finished job")
    for number in range(4):
        step(number)


@task()
def wait_for_sigterm():
    sys.__stdout__.write(json.dumps({"ids": ids}) + "\\n")
    sys.__stdout__.flush()
    time.sleep(30)


@flow(flow_name="long_job")
def long_job():
    wait_for_sigterm()


@task()
async def await_sigterm():
    sys.__stdout__.write(json.dumps({"ids": ids}) + "\\n")
    sys.__stdout__.flush()
    await asyncio.sleep(30)


@flow(flow_name="long_async_job")
async def long_async_job():
    await await_sigterm()


flowtel.configure(
    service_name="sigterm-test", handle_sigterm=False if mode == "opt-out-arg" else None
)
ids = [finished_job().execute().flow_id for _ in range(int(sys.argv[2]))]
if mode == "async":
    asyncio.run(long_async_job().execute_async())
else:
    long_job().execute()
print("not reached", flush=True)
"""


def start_child(tmp_path, arguments, environment):
    """Start the child script with ``arguments`` and these environment variables."""
    script = tmp_path / "sigterm_child.py"
    script.write_text(textwrap.dedent(CHILD), encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=child_environment(environment),
        cwd=tmp_path,
    )


def terminate(mode, tmp_path, environment=None):
    """Run the child in ``mode``, SIGTERM it once its long flow runs; (status, ids, stdout,
    stderr, seconds from SIGTERM to exit, receiver)."""
    receiver = OtlpReceiver("grpc").start()
    child = start_child(
        tmp_path,
        [mode, str(FLOWS)],
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "FLOWTEL_SHUTDOWN_TIMEOUT_MS": str(DEADLINE_MS),
            **(environment or {}),
        },
    )
    watchdog = threading.Timer(CHILD_TIMEOUT_S, child.kill)
    watchdog.start()
    try:
        first = child.stdout.readline()
        time.sleep(0.2)  # inside time.sleep / asyncio.sleep of the long task
        child.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        stdout, stderr = child.communicate(timeout=CHILD_TIMEOUT_S)
        exit_after = time.monotonic() - sent
    finally:
        watchdog.cancel()
        receiver.stop()
    ids = json.loads(first)["ids"] if first.startswith("{") else []
    return child.returncode, ids, first + stdout, stderr, exit_after, receiver


def run_modes(cases, tmp_path_factory):
    """Run ``{label: (mode, environment)}`` at once; ``{label: terminate(...)}``."""
    # Temporary directories are made here: pytest's mktemp is not thread-safe.
    directories = [tmp_path_factory.mktemp("sigterm") for _ in cases]
    with ThreadPoolExecutor(len(cases)) as pool:
        results = pool.map(
            lambda case, path: terminate(case[0], path, case[1]), cases.values(), directories
        )
        return dict(zip(cases, results, strict=True))


def test_sigterm_flushes_everything_finished_and_exits_143(tmp_path_factory):
    """SIGTERM during a long flow (sync, and async under asyncio.run): exit status 143 within
    the shutdown deadline, every span and log record of the finished flows arrives, and the
    running flow and its task are exported as cancelled."""
    results = run_modes({"sync": ("sync", None), "async": ("async", None)}, tmp_path_factory)
    for mode, long_name, task_name in (
        ("sync", "long_job", "wait_for_sigterm"),
        ("async", "long_async_job", "await_sigterm"),
    ):
        status, ids, stdout, stderr, exit_after, receiver = results[mode]
        assert (SIGTERM_EXIT_STATUS, FLOWS) == (status, len(ids)), stderr
        assert True is (exit_after < DEADLINE_MS / 1000 + 2.5), exit_after
        spans = receiver.spans()
        per_flow = {}
        for span in spans:
            run_id = span.attributes.get("cicd.pipeline.run.id")
            per_flow[run_id] = per_flow.get(run_id, 0) + 1
        assert [] == [flow_id for flow_id in ids if per_flow.get(flow_id) != 5]
        finished_logs = [r for r in receiver.log_records() if r.body == "finished job"]
        assert FLOWS == len(finished_logs)
        cancelled = {
            span.name: span.attributes.get("cicd.pipeline.result")
            or span.attributes.get("cicd.pipeline.task.run.result")
            for span in spans
            if span.name in (long_name, task_name)
        }
        assert {long_name: "cancellation", task_name: "cancellation"} == cancelled
        assert "not reached" not in stdout


def test_an_applications_own_sigterm_handler_and_the_opt_outs_are_left_alone(tmp_path_factory):
    """An application's handler installed before configure() keeps running on SIGTERM;
    with handle_sigterm=False or FLOWTEL_HANDLE_SIGTERM=0 SIGTERM kills as it always did."""
    results = run_modes(
        {
            "app": ("app-handler", None),
            "argument": ("opt-out-arg", None),
            "variable": ("sync", {"FLOWTEL_HANDLE_SIGTERM": "0"}),
        },
        tmp_path_factory,
    )
    status, _, stdout, stderr, _, _ = results["app"]
    assert (7, True) == (status, "app handler ran" in stdout), stderr
    assert -signal.SIGTERM == results["argument"][0]
    assert -signal.SIGTERM == results["variable"][0]


def test_a_second_sigterm_during_the_exit_flush_kills_at_once(tmp_path):
    """A second SIGTERM while the exit flush waits on a silent endpoint kills the process
    (signal status, as without flowtel) instead of waiting out the shutdown deadline."""
    receiver = OtlpReceiver("grpc", black_hole=True).start()
    child = start_child(
        tmp_path,
        ["sync", "1"],
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_TIMEOUT": "30",
            "FLOWTEL_SHUTDOWN_TIMEOUT_MS": "30000",
        },
    )
    watchdog = threading.Timer(CHILD_TIMEOUT_S, child.kill)
    watchdog.start()
    try:
        child.stdout.readline()
        time.sleep(0.2)  # inside the long task
        child.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # the exit flush now waits on the receiver that never answers
        flushing = child.poll() is None
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        watchdog.cancel()
        receiver.stop()
    assert (True, -signal.SIGTERM) == (flushing, child.returncode), stderr
