"""200 async flows at once under asyncio.gather while 8 threads run flows: nothing crosses runs."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import defaultdict

import pytest
from helpers import message_text, messages, types_of

from flowtel import Flow_Run__Event_Type, flow, task

T = Flow_Run__Event_Type

ASYNC_FLOWS = 200
THREADS = 8
MIN_FLOWS_PER_THREAD = 5


@task
def sync_step(marker, i, this_task=None, flow_data=None):
    this_task.log_info(f"{marker}|log|sync|{i}")
    print(f"{marker}|print|sync|{i}")
    flow_data.setdefault("steps", []).append(f"{marker}|sync|{i}")
    return f"{marker}|sync|{i}"


@task
async def async_step(marker, i, this_task=None, this_flow=None, flow_data=None):
    this_task.log_info(f"{marker}|log|async|{i}")
    await asyncio.sleep(0)
    print(f"{marker}|print|async|{i}")
    await asyncio.sleep(0.001)
    this_flow.add_flow_artifact(key=f"{marker}-{i}", data=marker, artifact_type="marker")
    flow_data.setdefault("steps", []).append(f"{marker}|async|{i}")
    return f"{marker}|async|{i}"


@task(raise_on_error=False)
async def sometimes_fails(marker):
    await asyncio.sleep(0)
    raise ValueError(f"{marker}|error")


@flow
async def async_flow(marker, this_flow=None):
    this_flow.log_info(f"{marker}|log|flow|start")
    results = []
    for i in range(3):
        results.append(await async_step(marker, i))
        results.append(sync_step(marker, i))
    gathered = await asyncio.gather(async_step(marker, 10), async_step(marker, 11))
    await sometimes_fails(marker)
    print(f"{marker}|print|flow|end")
    this_flow.add_flow_result(key="marker", description=marker)
    return results + list(gathered)


@flow
def thread_flow(marker, this_flow=None):
    this_flow.log_info(f"{marker}|log|flow|start")
    results = [sync_step(marker, i) for i in range(5)]
    print(f"{marker}|print|flow|end")
    this_flow.add_flow_artifact(key=f"{marker}-sync", data=marker, artifact_type="marker")
    return results


def marker_of(text):
    return text.split("|", 1)[0]


def is_user_text(text):
    """A message the flow code logged or printed (engine messages quote these, so skip them)."""
    return ("|log|" in text or "|print|" in text) and text.split("|", 1)[0][:1] in "AT"


@pytest.mark.timeout(120)
def test_200_async_flows_and_8_threads_keep_everything_attributed(events):
    """Every event, message, print, artifact and task of each run belongs to that run only."""
    original_stdout = sys.stdout
    async_done = threading.Event()
    thread_runs = defaultdict(list)
    thread_errors = []

    def thread_worker(n):
        try:
            count = 0
            while count < MIN_FLOWS_PER_THREAD or not async_done.is_set():
                marker = f"T{n}-{count}"
                thread_runs[n].append((marker, thread_flow(marker).execute()))
                count += 1
        except BaseException as error:  # pragma: no cover - reported below
            thread_errors.append(error)

    threads = [threading.Thread(target=thread_worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()

    async def all_async_flows():
        runs = [(f"A{n}", async_flow(f"A{n}")) for n in range(ASYNC_FLOWS)]
        done = await asyncio.gather(*(run.execute_async() for _, run in runs))
        return [(marker, run) for (marker, _), run in zip(runs, done, strict=True)]

    try:
        async_runs = asyncio.run(all_async_flows())
        async_finished = time.time()
    finally:
        async_done.set()
        for thread in threads:
            thread.join()

    assert [] == thread_errors
    assert original_stdout is sys.stdout
    all_runs = dict(async_runs)
    for runs in thread_runs.values():
        all_runs.update(runs)
    assert ASYNC_FLOWS + THREADS * MIN_FLOWS_PER_THREAD <= len(all_runs)
    assert len(all_runs) == len({run.flow_id for run in all_runs.values()})
    first_async_start = min(run.started_at for _, run in async_runs)
    overlapping = [
        run
        for runs in thread_runs.values()
        for _, run in runs
        if first_async_start <= run.started_at <= async_finished
    ]
    assert THREADS <= len(overlapping)

    by_run = defaultdict(list)
    for event in events:
        by_run[event.event_data.flow_run_id].append(event)
    assert {run.flow_id for run in all_runs.values()} == set(by_run)

    for marker, run in all_runs.items():
        is_async = marker.startswith("A")
        run_events = by_run[run.flow_id]
        kinds = [e.event_type for e in run_events]

        # the run itself
        assert "completed" == run.flow_status, marker
        assert {run.flow_name} == {e.event_data.flow_name for e in run_events}
        assert (T.FLOW_START, T.FLOW_STOP) == (kinds[0], kinds[-1])
        assert 1 == kinds.count(T.FLOW_START) == kinds.count(T.FLOW_STOP)

        # its tasks: its own, in its own events, each bracketed
        task_ids = {t.task_id for t in run.executed_tasks}
        assert (9 if is_async else 5) == len(run.executed_tasks)
        assert {run} == {t.task_flow for t in run.executed_tasks}
        event_task_ids = {e.event_data.task_run_id for e in run_events} - {""}
        assert task_ids == event_task_ids
        for task_id in task_ids:
            own = types_of(run_events, task_run_id=task_id)
            assert (T.TASK_START, T.TASK_STOP) == (own[0], own[-1])
        for value in (t.task_return_value for t in run.executed_tasks):
            assert value is None or marker == marker_of(value)

        # its messages, prints and data
        user_messages = [m for m in run.log_messages() if is_user_text(m)]
        assert {marker} == {marker_of(m) for m in user_messages}
        expected_count = (1 + 5 * 2 + 3 * 2 + 1) if is_async else (1 + 5 * 2 + 1)
        assert expected_count == len(user_messages), marker
        event_texts = [message_text(e) for e in messages(run_events)]
        assert sorted(user_messages) == sorted(t for t in event_texts if is_user_text(t))
        for entry in run.log_entries():
            if is_user_text(entry.text) and "|sync|" in entry.text:
                assert "sync_step" == entry.task_name
            if is_user_text(entry.text) and "|async|" in entry.text:
                assert "async_step" == entry.task_name
        assert {marker} == {marker_of(step) for step in run.data["steps"]}
        assert {marker} == {artifact["data"] for artifact in run.flow_artifacts}

    failed = [t for run in all_runs.values() for t in run.executed_tasks if t.status == "failed"]
    assert ASYNC_FLOWS == len(failed)
    for task_run in failed:
        assert marker_of(str(task_run.task_error)) == marker_of(
            task_run.task_flow.flow_return_value[0]
        )
