"""One trace across processes: flows on Dask clusters export to a real OTLP receiver on loopback.

Two real clusters: a temporary LocalCluster(processes=True, n_workers=2, threads_per_worker=1)
started by DaskTaskRunner in a flow process configured with flowtel.configure() (its workers
get the flow's settings through the worker plugin), and a cluster started from the
``dask scheduler`` / ``dask worker`` command lines as separate processes whose workers have
their own OTEL_* environment. Each flow's 50 mapped tasks (one retried, one tolerated
failure) must give exactly one trace of 51 spans at the receiver, with the log records of
every exported message, nothing lost and nothing duplicated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import distributed
import pytest
from dask_tasks import flaky, submits_inner
from helpers import child_environment
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from otlp_receiver import OtlpReceiver

import flowtel.dask
from flowtel import flow
from flowtel.dask import DaskTaskRunner
from flowtel.telemetry._runtime import RUNTIME

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"
STATUS_ERROR = 2


def worker_environment(extra=None):
    """A child environment whose Python imports this checkout's flowtel and the test tasks."""
    return child_environment({"PYTHONPATH": f"{SRC}{os.pathsep}{TESTS}", **(extra or {})})


def assert_one_whole_trace(receiver, flow_id, flow_pid, task_ids, exported_messages):
    """The receiver holds exactly one trace for the run: 51 spans, task spans children of the
    flow span and made in worker processes, and one log record per exported message, each
    carrying its task span's ids. Returns the task spans."""
    spans = [s for s in receiver.spans() if s.attributes.get("cicd.pipeline.run.id") == flow_id]
    assert 51 == len(spans)
    assert 51 == len({s.span_id for s in spans}), "no span arrived twice"
    assert 1 == len({s.trace_id for s in spans})
    (flow_span,) = [s for s in spans if "cicd.pipeline.task.run.id" not in s.attributes]
    task_spans = [s for s in spans if s is not flow_span]
    assert "" == flow_span.parent_span_id
    assert {flow_span.span_id} == {s.parent_span_id for s in task_spans}
    assert sorted(task_ids) == sorted(s.attributes["cicd.pipeline.task.run.id"] for s in task_spans)
    worker_pids = {s.resource["process.pid"] for s in task_spans}
    assert 1 <= len(worker_pids) <= 2
    assert flow_pid not in worker_pids
    assert all(s.resource.get("host.name") for s in task_spans)
    assert len(worker_pids) == len({s.resource["service.instance.id"] for s in task_spans})
    by_task = {s.attributes["cicd.pipeline.task.run.id"]: s for s in task_spans}
    item_13 = [s for s in task_spans if s.status_code == STATUS_ERROR]
    assert 1 == len(item_13)
    assert "ValueError: item 13 failed" == item_13[0].status_message
    retried = [s for s in task_spans if s.attributes.get("flowtel.task.attempts") == 2]
    assert 2 == len(retried)  # items 7 (then succeeded) and 13 (failed twice)
    assert [
        ["flowtel.attempt.failed"],  # item 7: its second attempt succeeded
        ["flowtel.attempt.failed", "exception"],  # item 13: both failed, the last is the error
    ] == sorted([n for n, _ in span.events if n != "flowtel.message"] for span in retried)
    records = [
        r for r in receiver.log_records() if r.attributes.get("cicd.pipeline.run.id") == flow_id
    ]
    assert exported_messages == len(records)
    assert max(Counter((r.span_id, r.body) for r in records).values()) == 1, "no duplicates"
    for record in records:
        span = by_task[record.attributes["cicd.pipeline.task.run.id"]]
        assert (span.trace_id, span.span_id) == (record.trace_id, record.span_id)
    assert {f"item {x} attempt 1" for x in range(50)} <= {r.body for r in records}
    return task_spans, flow_span


@pytest.fixture(scope="module")
def receiver():
    """A real OTLP/gRPC receiver on 127.0.0.1."""
    with OtlpReceiver("grpc") as otlp:
        yield otlp


def test_local_cluster_flow_gives_one_trace_of_51_spans(receiver):
    """A flow process configured with flowtel.configure() on a temporary LocalCluster: one trace, nothing lost."""
    done = subprocess.run(
        [sys.executable, str(TESTS / "dask_otlp_flow.py"), receiver.endpoint],
        env=worker_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=TESTS,
    )
    assert 0 == done.returncode, done.stderr[-3000:]
    run = json.loads(done.stdout.strip().splitlines()[-1])
    assert [x for x in range(50) if x != 13] == [x for x in run["returned"] if x is not None]
    assert 1 == run["failed_tasks"]

    task_spans, flow_span = assert_one_whole_trace(
        receiver, run["flow_id"], run["pid"], run["task_ids"], run["exported_messages"]
    )

    assert "dask-flow" == flow_span.resource["service.name"]
    assert {"dask-flow"} == {s.resource["service.name"] for s in task_spans}


# -- a cluster from the command line -------------------------------------------------------


def start(command, env, log):
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *command],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=TESTS,
    )


@pytest.fixture(scope="module")
def cli_cluster(receiver, tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, workers exporting to the receiver."""
    where = tmp_path_factory.mktemp("dask-cli")
    scheduler_file = where / "scheduler.json"
    log = open(where / "cluster.log", "w")
    env = worker_environment()
    worker_env = worker_environment(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_SERVICE_NAME": "dask-workers"}
    )
    processes = [
        start(
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(scheduler_file),
            ],
            env,
            log,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            assert time.monotonic() < deadline, (where / "cluster.log").read_text()
            assert processes[0].poll() is None, (where / "cluster.log").read_text()
            time.sleep(0.1)
        for _ in range(2):
            processes.append(
                start(
                    [
                        "worker",
                        "--scheduler-file",
                        str(scheduler_file),
                        "--nthreads",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--dashboard-address",
                        "127.0.0.1:0",
                    ],
                    worker_env,
                    log,
                )
            )
        with distributed.Client(scheduler_file=str(scheduler_file), set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
        yield address
        flowtel.dask._close_shared_clients()
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@pytest.fixture
def flow_telemetry(receiver):
    """This process as a flow process exporting over OTLP/gRPC to the receiver (its own providers)."""
    resource = Resource.create({"service.name": "dask-cli-flow"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True))
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=receiver.endpoint, insecure=True))
    )
    RUNTIME.use_providers(tracer_provider, logger_provider, None)
    yield tracer_provider, logger_provider
    tracer_provider.shutdown()
    logger_provider.shutdown()


def test_command_line_cluster_flow_gives_one_trace_of_51_spans(
    cli_cluster, receiver, flow_telemetry
):
    """Workers started by `dask worker` with their own OTEL_* variables export the tasks' spans and logs into the flow's trace."""

    @flow(task_runner=DaskTaskRunner(address=cli_cluster))
    def fifty():
        return flaky.map(range(50)).result()

    run = fifty().execute()
    for provider in flow_telemetry:
        provider.force_flush()

    assert 1 == run.failed_tasks
    exported = sum(entry.level >= 20 for entry in run.log_entries())
    task_spans, flow_span = assert_one_whole_trace(
        receiver, run.flow_id, os.getpid(), [t.task_id for t in run.executed_tasks], exported
    )
    assert "dask-cli-flow" == flow_span.resource["service.name"]
    assert {"dask-workers"} == {s.resource["service.name"] for s in task_spans}


def test_a_task_submitted_on_a_worker_is_a_child_of_the_submitting_task(
    cli_cluster, receiver, flow_telemetry
):
    """A task submitted from a worker task is that task's child span, in the flow's trace."""

    @flow(task_runner=DaskTaskRunner(address=cli_cluster))
    def nested():
        return submits_inner.submit(4).result()

    run = nested().execute()
    for provider in flow_telemetry:
        provider.force_flush()

    assert 9 == run.flow_return_value
    spans = {
        s.name: s
        for s in receiver.spans()
        if s.attributes.get("cicd.pipeline.run.id") == run.flow_id
    }
    assert {"nested", "submits_inner", "double"} == set(spans)
    assert spans["nested"].span_id == spans["submits_inner"].parent_span_id
    assert spans["submits_inner"].span_id == spans["double"].parent_span_id
    assert 1 == len({s.trace_id for s in spans.values()})
