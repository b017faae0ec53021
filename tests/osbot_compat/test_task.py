"""flowtel.osbot's Task: hand-made tasks, find_flow (context, then stack), stats, ids."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

import flowtel
from flowtel.osbot.Flow import Flow
from flowtel.osbot.models.Flow_Run__Config import Flow_Run__Config
from flowtel.osbot.models.Flow_Run__Event_Type import Flow_Run__Event_Type
from flowtel.osbot.schemas.Schema__Flow__Status import Schema__Flow__Status
from flowtel.osbot.Task import TASK__RANDOM_ID__PREFIX, Task

T = Flow_Run__Event_Type


def test_new_task_defaults():
    """Task() has no error, raise_on_error True, no return value, and is its own context."""
    with Task() as task:
        assert (None, True, None) == (task.task_error, task.raise_on_error, task.task_return_value)
        assert (None, (), {}) == (task.task_target, task.task_args, task.task_kwargs)


def test_random_task_id_and_assigned_task_id():
    """random_task_id() has OSBot's prefix; an assigned task_id is the one the call uses."""
    task = Task(task_target=lambda this_task=None: this_task.task_id)
    assert task.random_task_id().startswith(TASK__RANDOM_ID__PREFIX)
    task.task_id = "my-task"
    assert "my-task" == task.execute__sync()
    with pytest.raises(TypeError, match="non-empty str, got ''"):
        task.task_id = ""


def test_execute_sync_runs_target_with_args_in_the_current_flow(osbot_events):
    """A hand-made task joins the flow of `with flow:`, gets its args and injections."""
    flow = Flow().setup(lambda: None)
    with flow, Task() as task:
        task.task_target = lambda x, y=0, flow_data=None: (x + y, flow_data is flow.data)
        task.task_args = (40,)
        task.task_kwargs = {"y": 2}
        assert (42, True) == task.execute__sync()
    assert flow is task.task_flow
    assert [task] == flow.executed_tasks
    assert [T.TASK_START, T.TASK_STOP] == [
        e.event_type for e in osbot_events if e.event_type in (T.TASK_START, T.TASK_STOP)
    ]


def test_execute_async_awaits_an_async_target():
    """execute__async() awaits an async task_target and returns its value."""

    async def fetch(n):
        await asyncio.sleep(0)
        return n + 1

    async def main():
        return await Task(task_target=fetch, task_args=(1,)).execute__async()

    assert 2 == asyncio.run(main())


def test_execute_sync_refuses_async_targets_and_missing_targets():
    """execute__sync() of an async target, or with no target, raises TypeError saying what to do."""

    async def fetch():
        return 1

    with pytest.raises(TypeError, match="execute__async"):
        Task(task_target=fetch).execute__sync()
    with pytest.raises(TypeError, match="task_target set to a function, got NoneType"):
        Task().execute__sync()


def test_find_flow_prefers_the_current_flow():
    """find_flow() is the flow of `with flow:` even when another Flow is a local variable."""
    other = Flow()
    current = Flow()
    assert other is not current
    with current:
        assert current is Task().find_flow()


def test_find_flow_falls_back_to_a_flow_in_a_callers_locals():
    """With no current flow, find_flow() finds a Flow held in a caller's local variable."""
    held = Flow()

    def caller(flow_in_a_local):
        return inner()

    def inner():
        return Task().find_flow()

    assert held is caller(held)


def test_find_flow_is_none_without_any_flow():
    """find_flow() is None with no current flow and no Flow on the stack."""
    assert None is Task().find_flow()


def test_hand_made_task_uses_stack_flow_and_records_stats():
    """execute__sync finds a Flow held by a caller; stats and flow_data record the call."""
    flow = Flow(flow_name="held")

    def pipeline(this):
        task = Task(task_name="load", task_target=lambda: "rows")
        return task, task.execute__sync()

    task, value = pipeline(flow)
    assert ("rows", flow) == (value, task.task_flow)
    stats = task.task_stats.stats
    assert ("load", 1, Schema__Flow__Status.COMPLETED, flow.flow_id) == (
        stats.task_name,
        stats.execution_order,
        stats.status,
        stats.parent_flow_id,
    )
    assert {task.task_id: stats} == flow.flow_stats.stats.tasks_stats


def test_task_outside_any_flow_runs_on_its_own():
    """A hand-made task with no flow anywhere runs, with execution order 1."""
    task = Task(task_target=lambda: "alone")
    assert "alone" == task.execute__sync()
    assert (None, 1) == (task.task_flow, task.task_stats.stats.execution_order)


def test_tolerated_failure_is_recorded_and_raised_failure_is_the_original():
    """raise_on_error=False returns None and keeps the error; otherwise the error propagates."""
    flow = Flow().setup(lambda: None)

    def broken():
        raise ValueError("Task error")

    with flow:
        tolerant = Task(task_target=broken, raise_on_error=False)
        assert None is tolerant.execute__sync()
        with pytest.raises(ValueError, match="Task error"):
            Task(task_target=broken).execute__sync()
    assert (ValueError, Schema__Flow__Status.FAILED, "Task error") == (
        type(tolerant.task_error),
        tolerant.task_stats.stats.status,
        tolerant.task_stats.stats.error_message,
    )


def test_print_error_stack_trace_prints_the_traceback(capsys):
    """print_error_stack_trace=True prints a failing task's traceback to stdout."""
    flow = Flow(flow_config=Flow_Run__Config(print_error_stack_trace=True)).setup(lambda: None)

    def broken():
        raise ValueError("deep problem")

    with flow:
        Task(task_target=broken, raise_on_error=False).execute__sync()
    out = capsys.readouterr().out
    assert "Traceback" in out
    assert "ValueError: deep problem" in out


def test_task_log_before_running_goes_to_the_flow_it_would_join():
    """log_info on a Task made by hand, not yet run, lands in the current flow's log."""
    flow = Flow()
    with flow:
        task = Task(task_name="t")
        task.log_info("Info message")
        task.log_debug("Debug message")
        task.log_error("Error message")
    assert ["Info message", "Debug message", "Error message"] == flow.log_messages()


def test_core_task_find_flow_is_the_current_flow():
    """flowtel.Task.find_flow() (the core one) also answers with the current flow."""
    flow = Flow()
    with flow:
        assert flow is flowtel.Task().find_flow()


def test_task_flow_given_is_used_when_no_flow_is_current():
    """Task(task_flow=flow) joins that flow when none is current, even with another on the stack."""
    given = Flow(flow_name="given")
    on_stack = Flow(flow_name="on_stack")
    task = Task(task_target=lambda this_flow=None: this_flow.flow_name, task_flow=given)
    assert on_stack is not given
    assert "given" == task.execute__sync()


def test_ended_task_keeps_its_flow_while_the_run_lives_and_runs_alone_once_released():
    """A kept hand-made task points at its living run; released, it has none and runs alone."""
    kept = []

    def pipeline(this_flow=None):
        task = Task(task_name="load", task_target=lambda: "rows")
        kept.append(task)
        return task.execute__sync()

    flow = Flow(flow_name="kept").setup(pipeline)
    flow.execute_flow()
    task = kept[0]
    assert (flow, [task], flow) == (task.task_flow, flow.executed_tasks, task.find_flow())
    assert flow.flow_id == task.task_event_data().flow_run_id
    flow_ref = weakref.ref(flow)
    del flow
    gc.collect()
    assert (None, None) == (flow_ref(), task.task_flow)
    assert "rows" == task.execute__sync()
    stats = task.task_stats.stats
    assert (None, 1, "") == (task.task_flow, stats.execution_order, stats.parent_flow_id)
