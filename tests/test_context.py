"""Task -> flow discovery through contextvars: await, gather, create_task, nesting, with, threads."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import pathlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import run_in_threads

import flowtel
from flowtel import Flow, flow, get_current_flow, get_current_task, task


@task
def whose(label, this_flow=None, this_task=None):
    """Report which flow this call belongs to."""
    return label, this_flow, this_task


@task
async def whose_async(label, delay=0.0, this_flow=None):
    await asyncio.sleep(delay)
    return label, this_flow


# -- async -----------------------------------------------------------------------------------------


def test_tasks_after_await_still_belong_to_the_flow():
    """Tasks called after awaits (sleeps, other coroutines) find the same flow."""

    async def helper():
        await asyncio.sleep(0.001)
        return whose("in helper")[1]

    @flow
    async def awaiting():
        before = whose("before")[1]
        await asyncio.sleep(0.001)
        inner = await helper()
        after = (await whose_async("after", 0.001))[1]
        return before, inner, after

    run = awaiting().execute()
    assert (run, run, run) == run.flow_return_value


def test_tasks_under_gather_belong_to_the_flow():
    """Async tasks run concurrently with asyncio.gather inside a flow all belong to it."""

    @flow
    async def gathering():
        return await asyncio.gather(*(whose_async(n, 0.001 * (5 - n)) for n in range(5)))

    run = gathering().execute()
    assert [(n, run) for n in range(5)] == run.flow_return_value
    assert 5 == len(run.executed_tasks)


def test_tasks_in_create_task_belong_to_the_flow():
    """asyncio.create_task inside a flow carries the flow to the tasks it runs."""

    @flow
    async def spawning():
        spawned = [asyncio.create_task(whose_async(n, 0.001)) for n in range(3)]
        return [await s for s in spawned]

    run = spawning().execute()
    assert [(n, run) for n in range(3)] == run.flow_return_value


def test_concurrent_flows_on_one_loop_keep_their_own_tasks():
    """Two flows interleaving on one loop each see only their own tasks."""

    @flow
    async def interleaved(name):
        results = []
        for step in range(3):
            results.append(await whose_async(f"{name}-{step}", 0.002))
        return results

    async def both():
        return await asyncio.gather(
            interleaved("a").execute_async(), interleaved("b").execute_async()
        )

    run_a, run_b = asyncio.run(both())
    assert {run_a} == {flow_obj for _, flow_obj in run_a.flow_return_value}
    assert {run_b} == {flow_obj for _, flow_obj in run_b.flow_return_value}
    assert ["a-0", "a-1", "a-2"] == [t.task_return_value[0] for t in run_a.executed_tasks]
    assert ["b-0", "b-1", "b-2"] == [t.task_return_value[0] for t in run_b.executed_tasks]


# -- nested flows ------------------------------------------------------------------------------------


def test_nested_flow_tasks_belong_to_the_inner_then_the_outer_again():
    """Inner flow's tasks belong to it; after it returns (kept in a local) the outer owns tasks again."""

    @flow
    def inner_flow():
        return whose("inner")[1]

    @flow
    def outer_flow():
        before = whose("outer-before")[1]
        inner_run = inner_flow().execute()
        after = whose("outer-after")[1]
        return before, inner_run, after

    run = outer_flow().execute()
    before, inner_run, after = run.flow_return_value
    assert (run, run) == (before, after)
    assert inner_run is not run
    assert inner_run is inner_run.flow_return_value
    assert ["outer-before", "outer-after"] == [t.task_return_value[0] for t in run.executed_tasks]
    assert ["inner"] == [t.task_return_value[0] for t in inner_run.executed_tasks]


def test_nested_flow_started_from_a_task_belongs_to_itself():
    """A flow executed inside a task has its own tasks; the calling task stays the outer flow's."""

    @flow
    def inner_flow():
        return whose("inner")[1]

    @task
    def launcher():
        inner_run = inner_flow().execute()
        return inner_run, whose("after-inner")[1]

    @flow
    def outer_flow():
        return launcher()

    run = outer_flow().execute()
    inner_run, after = run.flow_return_value
    assert after is run
    assert inner_run.flow_return_value is inner_run
    assert ["launcher", "whose"] == [t.task_name for t in run.executed_tasks]
    assert ["whose"] == [t.task_name for t in inner_run.executed_tasks]


def test_nested_async_flows():
    """An async flow awaited inside an async flow owns its tasks; the outer owns the rest."""

    @flow
    async def inner_flow():
        return (await whose_async("inner"))[1]

    @flow
    async def outer_flow():
        inner_run = await inner_flow().execute_async()
        return inner_run, (await whose_async("outer"))[1]

    run = outer_flow().execute()
    inner_run, after = run.flow_return_value
    assert (inner_run, run) == (inner_run.flow_return_value, after)
    assert 1 == len(run.executed_tasks) == len(inner_run.executed_tasks)


def test_async_flow_executed_from_a_sync_task_of_an_async_flow():
    """An async flow executed (on a worker) from a sync task of a running async flow owns its tasks."""

    @flow
    async def inner_flow():
        return (await whose_async("inner"))[1]

    @task
    def launcher():
        return inner_flow().execute()

    @flow
    async def outer_flow():
        inner_run = launcher()
        return inner_run, (await whose_async("outer"))[1]

    run = outer_flow().execute()
    inner_run, after = run.flow_return_value
    assert (inner_run, run) == (inner_run.flow_return_value, after)
    assert ["launcher", "whose_async"] == [t.task_name for t in run.executed_tasks]
    assert ["whose_async"] == [t.task_name for t in inner_run.executed_tasks]


def test_current_flow_is_cleared_after_a_run():
    """Outside any run, get_current_flow() and get_current_task() are None again."""
    seen = []

    @task
    def peek():
        seen.append((get_current_flow(), get_current_task()))

    @flow
    def peeking():
        peek()

    run = peeking().execute()
    assert [(run, run.executed_tasks[0])] == seen
    assert (None, None) == (get_current_flow(), get_current_task())


def test_current_flow_is_restored_after_a_failing_nested_flow():
    """When an inner flow fails, the outer flow is current again for the following tasks."""

    @flow
    def inner_flow():
        raise ValueError("inner failed")

    @flow
    def outer_flow():
        with pytest.raises(ValueError):
            inner_flow().execute()
        return whose("after")[1]

    run = outer_flow().execute()
    assert run is run.flow_return_value


# -- with / async with -------------------------------------------------------------------------------


def test_with_flow_makes_it_current_and_returns_it():
    """`with flow_obj as f:` returns flow_obj and tasks called in the block belong to it."""
    flow_obj = Flow(flow_name="manual")
    with flow_obj as entered:
        _, this_flow, this_task = whose("in-with")
        assert flow_obj is get_current_flow()
    assert entered is flow_obj
    assert this_flow is flow_obj
    assert [this_task] == flow_obj.executed_tasks
    assert get_current_flow() is None
    assert whose("after-with")[1] is None


def test_with_flow_collects_messages_and_prints_of_its_tasks():
    """Task log messages and prints inside a `with` block go to that Flow's log."""

    @task
    def talk(this_task=None):
        this_task.log_info("logged in with")
        print("printed in with")

    flow_obj = Flow(flow_name="manual")
    with flow_obj:
        talk()
    assert "logged in with" in flow_obj.log_messages()
    assert "printed in with" in flow_obj.log_messages()


def test_async_with_flow_makes_it_current():
    """`async with flow_obj as f:` returns flow_obj and async tasks in the block belong to it."""
    flow_obj = Flow(flow_name="manual-async")

    async def use():
        async with flow_obj as entered:
            result = await whose_async("in-async-with")
        return entered, result

    entered, (_, this_flow) = asyncio.run(use())
    assert (flow_obj, flow_obj) == (entered, this_flow)
    assert 1 == len(flow_obj.executed_tasks)


def test_nested_with_blocks_restore_the_outer_flow():
    """Nested `with` blocks of two Flows restore the outer one when the inner block ends."""
    outer, inner = Flow(flow_name="outer"), Flow(flow_name="inner")
    with outer:
        with inner:
            in_inner = whose("x")[1]
        back_in_outer = whose("y")[1]
    assert (inner, outer) == (in_inner, back_in_outer)


def test_with_block_restores_the_flow_after_an_exception():
    """An exception leaving a `with` block still restores the previous current flow."""
    flow_obj = Flow(flow_name="manual")
    with pytest.raises(RuntimeError), flow_obj:
        raise RuntimeError("leave")
    assert get_current_flow() is None


# -- threads ----------------------------------------------------------------------------------------


def test_thread_with_copied_context_belongs_to_the_flow():
    """A thread run with contextvars.copy_context() inside a flow calls tasks of that flow."""

    @flow
    def threaded():
        context = contextvars.copy_context()
        out = {}
        worker = threading.Thread(target=lambda: out.update(r=context.run(whose, "thread")))
        worker.start()
        worker.join()
        return out["r"][1]

    run = threaded().execute()
    assert run is run.flow_return_value
    assert ["whose"] == [t.task_name for t in run.executed_tasks]


def test_executor_with_copied_contexts_belongs_to_the_flow():
    """ThreadPoolExecutor jobs submitted through copy_context().run belong to the flow."""

    @flow
    def pooled():
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(contextvars.copy_context().run, whose, n) for n in range(8)]
            return [f.result()[1] for f in futures]

    run = pooled().execute()
    assert [run] * 8 == run.flow_return_value
    assert 8 == len(run.executed_tasks)


def test_plain_thread_without_context_is_outside_the_flow():
    """A plain thread does not inherit the flow: its task call sees this_flow None."""

    @flow
    def threaded():
        out = {}
        worker = threading.Thread(target=lambda: out.update(r=whose("plain thread")))
        worker.start()
        worker.join()
        return out["r"][1]

    run = threaded().execute()
    assert run.flow_return_value is None
    assert [] == run.executed_tasks


def test_flows_in_parallel_threads_keep_their_own_tasks():
    """Flows running at the same time in several threads each own exactly their tasks."""
    barrier = threading.Barrier(6)

    @task
    def step(name, n):
        return f"{name}-{n}"

    @flow
    def per_thread(name):
        barrier.wait()
        return [step(name, n) for n in range(20)]

    runs = run_in_threads(per_thread, [f"t{i}" for i in range(6)])
    for name, run in runs.items():
        assert [f"{name}-{n}" for n in range(20)] == [
            t.task_return_value for t in run.executed_tasks
        ]
        assert {run} == {t.task_flow for t in run.executed_tasks}


# -- no stack inspection -------------------------------------------------------------------------------


def test_no_stack_inspection_during_runs(monkeypatch):
    """Runs never inspect the stack: inspect.stack & co. raising does not affect any run."""

    def forbidden(*args, **kwargs):
        raise AssertionError("flowtel inspected the stack")

    for name in (
        "stack",
        "getouterframes",
        "currentframe",
        "getframeinfo",
        "trace",
        "getinnerframes",
    ):
        monkeypatch.setattr(inspect, name, forbidden)

    @flow
    def inner_flow():
        return whose("inner")[1]

    @task
    def middle(this_task=None):
        this_task.log_info("middle")
        print("middle print")
        return inner_flow().execute()

    @flow
    def sync_flow():
        return middle(), whose("sync")[1]

    @flow
    async def async_flow():
        gathered = await asyncio.gather(whose_async(1), whose_async(2))
        return [flow_obj for _, flow_obj in gathered]

    sync_run = sync_flow().execute()
    async_run = async_flow().execute()
    inner_run, outer = sync_run.flow_return_value
    assert (sync_run, inner_run) == (outer, inner_run.flow_return_value)
    assert [async_run, async_run] == async_run.flow_return_value
    with Flow(flow_name="manual") as manual:
        assert manual is whose("manual")[1]


def test_flowtel_source_has_no_frame_walking():
    """No flowtel module uses inspect.stack, sys._getframe, currentframe or frame locals.

    The one exception is flowtel.osbot's documented OSBot-Utils fallback, osbot/Task.py.
    """
    package_dir = pathlib.Path(flowtel.__file__).parent
    found = []
    for path in sorted(package_dir.rglob("*.py")):
        text = path.read_text()
        for needle in ("inspect.stack", "_getframe", "f_locals", "f_back", "currentframe"):
            if needle in text:
                found.append((path.relative_to(package_dir).as_posix(), needle))
    assert 10 <= len(list(package_dir.rglob("*.py")))
    assert [] == [(name, needle) for name, needle in found if name != "osbot/Task.py"]
