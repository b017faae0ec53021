"""flowtel._remote: a submitted call run as on a worker (run_submitted) exports its telemetry
under the same rules as in the flow process, and its journal replays into the flow."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import child_environment
from otlp_receiver import OtlpReceiver

import flowtel
from flowtel import task
from flowtel._remote import FLUSH_TIMEOUT_S, run_submitted

HIDDEN = "Task return value: [not recorded: record_return_values is off]"


@task()
def issue_token() -> dict:
    return {"user": "ann", "password2": "hunter2"}


def run_on_worker(call, *args):
    """Run ``call`` the way a Dask worker runs a submitted call, for a flow run 'run-1'."""
    flow_snapshot = ("issuer", "run-1", None, {})
    return run_submitted(args, {}, (call, {}, flow_snapshot, False, call.__name__))


def test_a_worker_never_exports_a_return_value_unless_recorded(flowtel_telemetry):
    """On a worker the DEBUG return-value line is exported without the value (record_return_values off)."""
    flowtel.configure(install_providers=False, export_level="DEBUG")
    try:
        outcome = run_on_worker(issue_token)
    finally:
        flowtel.configure(install_providers=False, export_level="INFO")
    bodies = flowtel_telemetry.log_bodies()
    assert [HIDDEN] == [body for body in bodies if "return value" in body]
    assert False is ("hunter2" in " ".join(map(str, bodies)))
    events = [e.attributes for s in flowtel_telemetry.spans for e in s.events]
    assert False is ("hunter2" in repr(events))
    journal = [entry[2] for entry in outcome.journal if entry[0] == "message"]
    assert True is ("hunter2" in " ".join(journal))  # the run's own log keeps the value


@task()
def quote_the_template(this_task=None) -> None:
    this_task.log_info("Task return value: %s")


def test_a_worker_exports_a_message_that_reads_like_the_return_value_line_as_written(
    flowtel_telemetry,
):
    """On a worker too, a user's own message with the return-value template's text is not
    taken for a return-value line."""
    run_on_worker(quote_the_template)
    bodies = flowtel_telemetry.log_bodies()
    assert ["Task return value: %s"] == [body for body in bodies if "return value" in body]


STALLED_WORKER_CHILD = """
import json, sys, time
import flowtel
from flowtel import task
from flowtel._remote import run_submitted

@task()
def one():
    return 1

flowtel.configure(console=False, handle_sigterm=False, shutdown_timeout_ms=500)
started = time.monotonic()
outcome = run_submitted((), {}, (one, {}, ("stalled", "run-1", None, {}), False, "one"))
print(json.dumps({"value": outcome.value, "seconds": time.monotonic() - started}))
"""


def test_a_stalled_collector_holds_a_worker_task_result_back_at_most_the_flush_timeout():
    """A worker's call returns its result within FLUSH_TIMEOUT_S while the collector never answers."""
    with OtlpReceiver("grpc", black_hole=True) as receiver:
        done = subprocess.run(
            [sys.executable, "-c", STALLED_WORKER_CHILD],
            capture_output=True,
            text=True,
            timeout=60,
            env=child_environment(
                {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                    "OTEL_EXPORTER_OTLP_TIMEOUT": "8",
                }
            ),
        )
    assert 0 == done.returncode, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert 1 == report["value"]
    assert True is (report["seconds"] < FLUSH_TIMEOUT_S + 1.5), report  # the export hangs 8 s
