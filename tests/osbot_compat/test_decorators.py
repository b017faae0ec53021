"""flowtel.osbot's @flow and @task: OSBot-Utils' calling convention on flowtel's engine."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest

import flowtel
from flowtel._futures import TaskRunFuture, TaskRunner
from flowtel.osbot.decorators.flow import flow
from flowtel.osbot.decorators.task import task
from flowtel.osbot.Flow import Flow
from flowtel.osbot.models.Flow_Run__Event_Type import Flow_Run__Event_Type

T = Flow_Run__Event_Type


def test_flow_call_returns_a_set_up_osbot_flow():
    """Calling an @flow() function returns a flowtel.osbot Flow that has not run yet."""

    @flow()
    def add(x, y):
        return x + y

    run = add(20, 22)
    assert (Flow, "pending") == (type(run), run.flow_status)
    assert 42 == run.execute().flow_return_value


def test_flow_keywords_are_checked_at_decoration():
    """An unknown @flow keyword raises TypeError naming it."""
    with pytest.raises(TypeError, match="'colour'"):
        flow(colour="red")


def test_task_events_in_a_flow(osbot_events):
    """Each task call raises TASK_START, its messages, TASK_STOP, with its run ids."""

    @task(task_name="custom")
    def step(this_task=None, this_flow=None):
        return f"{this_task.task_id}:{this_flow.flow_id}"

    @flow()
    def pipeline():
        return step()

    run = pipeline().execute()
    task_id, flow_id = run.flow_return_value.split(":")
    of_task = [e for e in osbot_events if e.event_data.task_run_id == task_id]
    assert [T.TASK_START, T.FLOW_MESSAGE, T.FLOW_MESSAGE, T.TASK_STOP] == [
        e.event_type for e in of_task
    ]
    assert {("custom", flow_id)} == {
        (e.event_data.task_name, e.event_data.flow_run_id)
        for e in of_task
        if e.event_type is not T.FLOW_MESSAGE
    }


def test_decorated_task_finds_a_flow_held_in_a_callers_local():
    """With no current flow, an @task() call joins a Flow held in a caller's local variable."""

    @task()
    def step(this_flow=None):
        return this_flow

    def caller(flow_in_a_local):
        return step()

    held = Flow()
    assert held is caller(held)
    assert 1 == len(held.executed_tasks)


def test_async_flow_with_async_and_sync_tasks():
    """An async @flow() runs from sync code; async and sync tasks both join it."""

    @task()
    async def double(x):
        await asyncio.sleep(0)
        return x * 2

    @task()
    def add_two(x):
        return x + 2

    @flow()
    async def pipeline(x):
        return add_two(await double(x))

    run = pipeline(20).execute()
    assert 42 == run.flow_return_value
    assert ["double", "add_two"] == [t.task_name for t in run.executed_tasks]


def test_methods_with_flow_and_task_decorators():
    """@flow() and @task() on methods: self is passed, tasks join the flow."""

    class Pipeline:
        @task()
        def step(self, value):
            return value + 1

        @flow()
        def run(self, value):
            return 40 + self.step(value)

    run = Pipeline().run(1).execute()
    assert (42, ["step"]) == (run.flow_return_value, [t.task_name for t in run.executed_tasks])


def test_osbot_tasks_are_flowtel_tasks_and_submit():
    """An @task() call is a flowtel Task; .submit() runs it concurrently in the flow."""

    @task()
    def square(x):
        return x * x

    @flow()
    def pipeline():
        futures = [square.submit(n) for n in range(3)]
        return [f.result() for f in futures]

    run = pipeline().execute()
    assert [0, 1, 4] == run.flow_return_value
    assert all(isinstance(t, flowtel.Task) for t in run.executed_tasks)


class _BatchRecordingRunner(TaskRunner):
    """A remote runner (as Dask's) that runs each call on a thread and records map batches."""

    remote = True

    def __init__(self, batches: list[int]) -> None:
        self.batches = batches
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)

    def duplicate(self) -> _BatchRecordingRunner:
        return type(self)(self.batches)

    def submit_task(self, call, task_name, args, kwargs, is_async):
        return TaskRunFuture(self.pool.submit(call, *args, **kwargs), task_name)

    def submit_tasks(self, call, task_name, calls, is_async):
        self.batches.append(len(calls))
        return super().submit_tasks(call, task_name, calls, is_async)

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait)


def test_map_hands_a_remote_runner_all_its_calls_at_once():
    """An osbot task's .map() gives a remote runner one submit_tasks batch, as flowtel's does."""
    batches: list[int] = []

    @task()
    def double(x):
        return x * 2

    @flow(task_runner=_BatchRecordingRunner(batches))
    def mapped():
        return double.map([1, 2, 3]).result()

    assert ([2, 4, 6], [3]) == (mapped().execute_flow().flow_return_value, batches)
