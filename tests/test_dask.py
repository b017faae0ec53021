"""flowtel.dask: submitted tasks run on a real LocalCluster of worker processes; the flow's
record (log, tasks, artifacts, results, events, errors) stays whole in the flow process.

One cluster (2 worker processes, 1 thread each) is shared by the module; its workers import
the tasks from tests/dask_tasks.py. Telemetry on the wire is in test_dask_telemetry.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time

import distributed
import pytest
from dask_tasks import (
    async_add,
    double,
    fails,
    fails_twice,
    identity,
    reads_flow_data,
    returns_lock,
    returns_only_here,
    returns_unprintable,
    sleeper,
    submits_inner,
    too_slow,
    where,
)
from helpers import child_environment

import flowtel.dask
from flowtel import Flow_Run__Config, Flow_Run__Event_Type, flow
from flowtel._remote import RemoteTaskError
from flowtel.dask import DaskTaskRunner

TESTS = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two single-threaded worker processes on 127.0.0.1."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as local_cluster:
        yield local_cluster
        flowtel.dask._close_shared_clients()  # runs share a client per address; this one goes


@pytest.fixture
def runner(cluster):
    """A DaskTaskRunner pointed at the module's cluster."""
    return DaskTaskRunner(address=cluster.scheduler_address)


def quiet(raise_flow_error=True):
    return Flow_Run__Config(raise_flow_error=raise_flow_error)


def test_submitted_tasks_run_in_worker_processes_and_direct_calls_inline(runner):
    """map() runs each call in a worker process; a task called directly runs in the flow's."""

    @flow(task_runner=runner)
    def spread():
        return where.map(range(6)).result(), where()

    worker_pids, inline_pid = spread().execute().flow_return_value
    assert os.getpid() == inline_pid
    assert os.getpid() not in worker_pids
    assert 1 <= len(set(worker_pids)) <= 2


def test_worker_tasks_record_their_messages_artifacts_results_and_events_in_order(runner, events):
    """Each worker task's log, artifact, result and events arrive together, in the documented order."""

    @flow(task_runner=runner)
    def doubling():
        return [future.result() for future in double.map([1, 2, 3])]

    run = doubling().execute()

    assert [2, 4, 6] == run.flow_return_value
    assert ["double"] * 3 == [task.task_name for task in run.executed_tasks]
    assert {"completed"} == {task.status for task in run.executed_tasks}
    assert [2, 4, 6] == sorted(task.task_return_value for task in run.executed_tasks)
    assert all(task.duration > 0 for task in run.executed_tasks)
    assert 0 < run.durations()["flow_tasks"]["double"]
    assert ["item-1", "item-2", "item-3"] == sorted(a["key"] for a in run.flow_artifacts)
    assert {"double-1": "2", "double-2": "4", "double-3": "6"} == {
        r["key"]: r["description"] for r in run.flow_results if r["key"].startswith("double")
    }
    for task in run.executed_tasks:
        x = task.task_return_value // 2
        of_task = [e for e in events if e.event_data.task_run_id == task.task_id]
        assert [
            ("task_start", None),
            ("flow_message", "Executing task 'double'"),
            ("flow_message", f"doubling {x}"),
            ("flow_message", f"printed {x}"),
            ("new_artifact", None),
            ("new_result", None),
            ("flow_message", f"Task return value: {2 * x}"),
            ("task_stop", None),
        ] == [
            (str(e.event_type), e.event_data.data.get("message_data", {}).get("message"))
            for e in of_task
        ]
        start = events.index(of_task[0])
        assert of_task == events[start : start + len(of_task)], "one task's events arrive together"
        assert "completed" == of_task[-1].event_data.data["status"]
    log = run.log_messages()
    for x in (1, 2, 3):
        assert f"doubling {x}" in log
        assert f"printed {x}" in log
    flow_stop = [e for e in events if e.event_type == Flow_Run__Event_Type.FLOW_STOP]
    assert events[-1] is flow_stop[0]


def test_a_worker_task_returning_an_unprintable_value_completes(runner):
    """A value whose __str__ raises is logged on the worker as a stand-in; the task completes."""

    @flow(task_runner=runner)
    def unprintable():
        return type(returns_unprintable.submit().result()).__name__

    run = unprintable().execute()
    assert "Unprintable" == run.flow_return_value
    assert ["completed"] == [task.status for task in run.executed_tasks]
    assert any(
        text.startswith("Task return value: <unprintable Unprintable")
        for text in run.log_messages()
    )


def test_failing_task_reraises_its_original_exception_type_with_the_worker_traceback(runner):
    """A task failing on a worker raises the same exception type in the flow; the record keeps the worker's traceback."""

    @flow(task_runner=runner, flow_config=quiet(raise_flow_error=False))
    def failing():
        return fails.submit("missing-key").result()

    run = failing().execute()

    assert KeyError is type(run.flow_error)
    assert "'missing-key'" == str(run.flow_error)
    assert 1 == run.failed_tasks
    (task,) = run.executed_tasks
    assert "failed" == task.status
    assert KeyError is type(task.task_error)
    assert "raise KeyError(kind)" in task.worker_traceback
    assert "Task 'fails' failed: KeyError: 'missing-key'" in run.log_messages()
    if sys.version_info >= (3, 11):
        assert "raise KeyError(kind)" in run.flow_error.__notes__[0]


def test_an_exception_that_cannot_be_pickled_comes_back_as_remote_task_error(runner):
    """An exception the worker cannot send is replaced by RemoteTaskError naming its type and traceback."""

    @flow(task_runner=runner, flow_config=quiet(raise_flow_error=False))
    def failing():
        return fails.submit("unpicklable").result()

    error = failing().execute().flow_error

    assert RemoteTaskError is type(error)
    assert "dask_tasks.NotBuildable" == error.error_type
    assert "NotBuildable: holds a lock" == str(error)
    assert 'raise NotBuildable("holds a lock")' in error.worker_traceback


def test_an_argument_that_cannot_be_pickled_fails_at_submit_naming_task_and_type(runner):
    """submit() with an unpicklable argument raises TypeError naming the task and the value's type."""

    @flow(task_runner=runner)
    def sends_lock():
        identity.submit(threading.Lock())

    with pytest.raises(
        TypeError, match=r"task 'identity' cannot be sent to Dask: argument 0 \(a lock\)"
    ):
        sends_lock().execute()


def test_a_result_that_cannot_be_pickled_fails_naming_task_and_type(runner):
    """A task returning an unpicklable value fails in the flow with a TypeError naming task and type."""

    @flow(task_runner=runner, flow_config=quiet(raise_flow_error=False))
    def gets_lock():
        return returns_lock.submit().result()

    run = gets_lock().execute()

    assert TypeError is type(run.flow_error)
    assert "task 'returns_lock' returned a lock that cannot be pickled" in str(run.flow_error)
    assert ["failed"] == [task.status for task in run.executed_tasks]
    assert 1 == run.failed_tasks


def test_a_result_that_cannot_be_unpickled_in_the_flow_process_fails_the_call(runner):
    """A worker's result the flow process cannot unpickle fails its future, naming the task;
    the run ends instead of waiting for it for ever."""

    @flow(task_runner=runner, flow_config=quiet(raise_flow_error=False))
    def fragile():
        future = returns_only_here.submit()
        future.wait(timeout=60)
        return future.done(), future.exception()

    runs = []
    running = threading.Thread(target=lambda: runs.append(fragile().execute()), daemon=True)
    running.start()
    running.join(90)
    assert [False, 1] == [running.is_alive(), len(runs)], "the run never ended"
    done, error = runs[0].flow_return_value
    assert (True, RuntimeError) == (done, type(error))
    assert True is ("'returns_only_here'" in str(error)), str(error)
    assert True is ("only unpickles in the process that made it" in str(error)), str(error)


def test_a_lost_call_the_flow_never_waits_on_still_counts_as_a_failed_task(runner):
    """A call whose record cannot come back (here: its result does not unpickle in the flow
    process) is a failed task of the run with an ERROR message, even if the flow never asks
    for its result: the run does not look clean."""

    @flow(task_runner=runner, flow_config=quiet(raise_flow_error=False))
    def forgetful():
        returns_only_here.submit()

    runs = []
    running = threading.Thread(target=lambda: runs.append(forgetful().execute()), daemon=True)
    running.start()
    running.join(90)
    assert [False, 1] == [running.is_alive(), len(runs)], "the run never ended"
    run = runs[0]
    lost = [m for m in run.log_messages() if "did not come back" in m]
    assert 1 == run.failed_tasks
    assert 1 == len(lost) and lost[0].startswith("Task 'returns_only_here' failed on Dask"), lost


def test_retries_run_on_the_worker_and_are_recorded(runner):
    """Each retry attempt runs on the worker; the flow's log has every failed attempt."""

    @flow(task_runner=runner)
    def retrying():
        return fails_twice.submit().result()

    run = retrying().execute()

    assert 3 == run.flow_return_value
    (task,) = run.executed_tasks
    assert (3, "completed") == (task.attempts, task.status)
    assert [
        "Task 'fails_twice' attempt 1 of 3 failed: ConnectionError: attempt 1 failed; retrying in 0 s",
        "Task 'fails_twice' attempt 2 of 3 failed: ConnectionError: attempt 2 failed; retrying in 0 s",
    ] == [m for m in run.log_messages() if "attempt" in m]


def test_task_timeout_on_the_worker_raises_timeout_error(runner):
    """A task over its timeout_seconds on a worker fails in the flow with TimeoutError."""

    @flow(task_runner=runner, flow_config=quiet(raise_flow_error=False))
    def slow():
        return too_slow.submit().result()

    run = slow().execute()

    assert flowtel.TaskRunTimeoutError is type(run.flow_error)  # a TimeoutError
    assert "task 'too_slow' timed out after 0.5 s" == str(run.flow_error)
    (task,) = run.executed_tasks
    assert ("failed", True) == (task.status, task._timed_out)


def test_flow_timeout_cancels_its_pending_dask_futures(runner):
    """A flow that times out cancels the tasks it submitted that have not run, and ends at once."""
    submitted = []

    @flow(task_runner=runner, timeout_seconds=1)
    def waits_too_long():
        futures = sleeper.map([1.5] * 6)
        submitted.extend(futures)
        return futures.result()

    started = time.perf_counter()
    with pytest.raises(TimeoutError, match="flow 'waits_too_long' timed out after 1 s"):
        waits_too_long().execute()

    assert time.perf_counter() - started < 2.5  # waiting for all six would take 4.5 s
    statuses = [future._future.dask_future.status for future in submitted]
    assert 6 == len(submitted)
    assert statuses.count("cancelled") >= 2, statuses
    assert all(future._future.cancelled() for future in submitted)


def test_a_cancelled_flow_cancels_its_pending_dask_futures(runner):
    """A flow ended by KeyboardInterrupt cancels its pending Dask futures instead of waiting."""
    submitted = []

    @flow(task_runner=runner)
    def interrupted():
        submitted.extend(sleeper.map([1.5] * 6))
        raise KeyboardInterrupt

    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        interrupted().execute()

    assert time.perf_counter() - started < 2.5  # waiting for all six would take 4.5 s
    assert all(future._future.cancelled() for future in submitted)


def test_async_tasks_run_on_workers_from_sync_and_async_flows(runner):
    """Async tasks submitted from a sync or an async flow run on workers; their messages come back."""

    @flow(task_runner=runner)
    def sync_flow():
        return async_add.map([1, 2], [10, 20]).result()

    @flow(task_runner=runner)
    async def async_flow():
        return await async_add.submit(3, 4)

    sync_run = sync_flow().execute()
    async_run = asyncio.run(async_flow().execute_async())

    assert [11, 22] == sync_run.flow_return_value
    assert 7 == async_run.flow_return_value
    assert "adding 3 and 4" in async_run.log_messages()
    assert ["async_add"] == [task.task_name for task in async_run.executed_tasks]


def test_a_task_on_a_worker_can_submit_another_task(runner):
    """A task submitted from a worker task runs there; both are in the flow's record."""

    @flow(task_runner=runner)
    def nested():
        return submits_inner.submit(5).result()

    run = nested().execute()

    assert 11 == run.flow_return_value
    assert {"submits_inner", "double"} == {task.task_name for task in run.executed_tasks}
    assert ["item-5"] == [artifact["key"] for artifact in run.flow_artifacts]
    assert "doubling 5" in run.log_messages()


def test_futures_as_arguments_are_resolved_on_the_worker_side(runner):
    """A future passed to submit() becomes its value on the worker; an upstream error fails the downstream call."""

    @flow(task_runner=runner, flow_config=quiet(raise_flow_error=False))
    def chained():
        doubled = double.submit(21)
        good = identity.submit(doubled)
        bad = identity.submit(fails.submit("upstream"))
        return good.result(), bad.exception()

    run = chained().execute()

    value, error = run.flow_return_value
    assert 42 == value
    assert KeyError is type(error)
    assert ["double", "fails", "identity"] == sorted(t.task_name for t in run.executed_tasks)


def test_mapped_futures_as_arguments_are_resolved_on_the_worker_side(runner):
    """map() over futures passes each future's value to its call."""

    @flow(task_runner=runner)
    def mapped_chain():
        return identity.map(double.map([1, 2, 3])).result()

    assert [2, 4, 6] == mapped_chain().execute().flow_return_value


def test_flow_data_on_a_worker_is_a_snapshot_taken_at_submit(runner):
    """A worker task sees flow_data as it was at submit; its writes stay on the worker."""

    @flow(task_runner=runner)
    def with_data(flow_data=None):
        flow_data["day"] = "monday"
        seen = reads_flow_data.submit().result()
        return seen, dict(flow_data)

    seen, after = with_data().execute().flow_return_value

    assert {"day": "monday"} == seen
    assert {"day": "monday"} == after


def test_prefect_convention_flows_take_the_dask_runner(runner):
    """A flowtel.prefect flow with task_runner=DaskTaskRunner(...) runs its mapped tasks on workers."""
    from flowtel import prefect

    @prefect.flow(task_runner=runner)
    def prefect_style():
        return where.map(range(3)).result()

    assert os.getpid() not in prefect_style()


def test_runner_settings_are_checked_when_made():
    """Contradictory or malformed DaskTaskRunner settings fail with a message naming them."""
    with pytest.raises(ValueError, match=r"either address= .* or cluster_class="):
        DaskTaskRunner(address="tcp://127.0.0.1:8786", cluster_kwargs={"n_workers": 1})
    with pytest.raises(TypeError, match="address must be a scheduler address"):
        DaskTaskRunner(address=8786)
    with pytest.raises(TypeError, match="cluster_kwargs must be a dict"):
        DaskTaskRunner(cluster_kwargs=[1])


def test_an_unknown_cluster_class_fails_the_run_when_it_starts_naming_it():
    """A cluster_class name that cannot be imported fails the run before its body, naming it."""
    ran = []

    @flow(task_runner=DaskTaskRunner(cluster_class="no_such_module.Cluster"))
    def uses_cluster():
        ran.append(True)
        where.submit()

    run = uses_cluster()
    with pytest.raises(
        ValueError, match=r"cluster_class='no_such_module\.Cluster' cannot be imported"
    ):
        run.execute()

    assert [] == ran
    assert "failed" == run.flow_status


class RecordingCluster(distributed.LocalCluster):
    """A real LocalCluster (one single-threaded worker process) that records its instances."""

    made: list[distributed.LocalCluster] = []

    def __init__(self, **kwargs):
        super().__init__(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            **kwargs,
        )
        RecordingCluster.made.append(self)


def cluster_states():
    return [cluster.status.name for cluster in RecordingCluster.made]


@pytest.fixture
def recording_cluster():
    """RecordingCluster with no instances yet (and every one it made closed afterwards)."""
    RecordingCluster.made = []
    yield RecordingCluster
    for cluster in RecordingCluster.made:
        cluster.close()


def test_a_temporary_cluster_runs_from_the_flow_start_to_its_end(recording_cluster):
    """The run's temporary cluster is up before the flow body submits anything, and closed when the run ends."""

    @flow(task_runner=DaskTaskRunner(cluster_class=recording_cluster))
    def uses_cluster():
        before_submit = cluster_states()
        return before_submit, where.submit().result()

    run = uses_cluster().execute()

    before_submit, worker_pid = run.flow_return_value
    assert ["running"] == before_submit
    assert os.getpid() != worker_pid
    assert ["closed"] == cluster_states()


def test_a_temporary_cluster_closes_when_the_run_fails_or_is_cancelled(recording_cluster):
    """A run that fails (async flow) or is cancelled (KeyboardInterrupt) without submitting still closes its cluster."""

    @flow(task_runner=DaskTaskRunner(cluster_class=recording_cluster))
    async def fails():
        assert ["running"] == cluster_states()
        raise ValueError("bad input")

    @flow(task_runner=DaskTaskRunner(cluster_class=recording_cluster))
    def interrupted():
        assert ["closed", "running"] == cluster_states()
        raise KeyboardInterrupt

    failed_run, cancelled_run = fails(), interrupted()
    with pytest.raises(ValueError, match="bad input"):
        asyncio.run(failed_run.execute_async())
    assert ("failed", ["closed"]) == (failed_run.flow_status, cluster_states())
    with pytest.raises(KeyboardInterrupt):
        cancelled_run.execute()
    assert ("cancelled", ["closed", "closed"]) == (cancelled_run.flow_status, cluster_states())


def test_an_address_runner_connects_when_the_run_starts(runner):
    """A runner with address= has its client connected before the flow body runs."""
    runner_in_body = []

    @flow(task_runner=runner)
    def connected(this_flow=None):
        runner_in_body.append(this_flow._runner)
        return this_flow._runner._client.status

    assert "running" == connected().execute().flow_return_value
    assert isinstance(runner_in_body[0], DaskTaskRunner)


def test_an_unreachable_scheduler_fails_the_run_when_it_starts():
    """A runner whose address= does not answer fails the run before its body, naming the address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening
        ran = []

        @flow(task_runner=DaskTaskRunner(address=address, client_kwargs={"timeout": 1}))
        def unreachable():
            ran.append(True)

        with pytest.raises(OSError, match=address.replace(".", r"\.")):
            unreachable().execute()

    assert [] == ran


def test_import_flowtel_does_not_import_dask():
    """import flowtel (and its prefect module) loads neither dask nor distributed."""
    code = (
        "import sys, flowtel, flowtel.prefect; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "[]" == done.stdout.strip()


def test_a_worker_with_its_own_providers_keeps_them():
    """configure_worker leaves a process that installed its own tracer provider as it is."""
    code = (
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "own = TracerProvider()\n"
        "trace.set_tracer_provider(own)\n"
        "from flowtel.dask import configure_worker\n"
        "how = configure_worker({'endpoint': 'http://127.0.0.1:9'}, {}, 'flow-service')\n"
        "print(how, trace.get_tracer_provider() is own)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "own True" == done.stdout.strip()


EXAMPLE = os.path.join(os.path.dirname(TESTS), "examples", "dask_flow.py")
README = os.path.join(os.path.dirname(TESTS), "README.md")


def test_readme_shows_the_dask_example_as_it_is():
    """The README's Dask section shows examples/dask_flow.py verbatim."""
    with open(EXAMPLE, encoding="utf-8") as example, open(README, encoding="utf-8") as readme:
        assert f"```py\n{example.read()}```" in readme.read()


def test_dask_example_script_runs_its_own_tasks_on_the_cluster(cluster, tmp_path):
    """examples/dask_flow.py, pointed at a scheduler, runs its script-defined tasks on the workers (sent by value)."""
    src = os.path.join(os.path.dirname(TESTS), "src")
    done = subprocess.run(
        [sys.executable, EXAMPLE],
        env=child_environment(
            {"PYTHONPATH": src, "DASK_SCHEDULER_ADDRESS": cluster.scheduler_address}
        ),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert 0 == done.returncode, done.stderr[-3000:]
    assert ["10760 20 20", "checksumming file-0"] == done.stdout.strip().splitlines()[-2:]
