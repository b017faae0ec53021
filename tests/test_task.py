"""Task: calls inside and outside flows, injection, methods, errors and per-call records."""

from __future__ import annotations

import asyncio
import gc
import inspect
import sys
import warnings

import pytest
from helpers import of_type, types_of

from flowtel import Flow_Run__Event_Type, Task, flow, task

T = Flow_Run__Event_Type


# -- calls -----------------------------------------------------------------------------------------


def test_task_outside_any_flow_runs_and_returns_its_value():
    """A task called with no flow around still runs, returns its value, and sees this_flow None."""

    @task
    def lonely(x, this_flow=None, this_task=None):
        return x, this_flow, this_task.task_name

    assert (5, None, "lonely") == lonely(5)


def test_async_task_outside_any_flow_runs():
    """An async task awaited outside any flow returns its value with this_flow None."""

    @task
    async def lonely(this_flow="sentinel"):
        await asyncio.sleep(0)
        return this_flow

    assert asyncio.run(lonely()) is None


def test_task_outside_a_flow_can_log_without_error():
    """log_* on a task outside any flow does not raise."""

    @task
    def logs(this_task=None):
        this_task.log_info("nowhere to go")
        this_task.log_error("still fine")
        return "ok"

    assert "ok" == logs()


def test_task_inside_a_flow_is_recorded_on_it():
    """A task called inside a flow belongs to it: this_flow is the Flow, the call is in executed_tasks."""

    @task
    def member(this_flow=None, this_task=None):
        return this_flow, this_task

    @flow
    def owner():
        return member()

    run = owner().execute()
    this_flow, this_task = run.flow_return_value
    assert this_flow is run
    assert [this_task] == run.executed_tasks
    assert this_task.task_flow is run


# -- injection -------------------------------------------------------------------------------------


def test_task_gets_this_task_this_flow_task_data_and_flow_data():
    """All four injectables arrive: its Task, its Flow, a task dict and the flow's dict."""

    @task
    def injected(this_task=None, this_flow=None, task_data=None, flow_data=None):
        task_data["mine"] = 1
        flow_data["shared"] = 2
        return this_task, this_flow, task_data, flow_data

    @flow
    def owner():
        return injected()

    run = owner().execute()
    this_task, this_flow, task_data, flow_data = run.flow_return_value
    assert isinstance(this_task, Task)
    assert this_flow is run
    assert task_data is this_task.data
    assert {"mine": 1} == task_data
    assert flow_data is run.data
    assert {"shared": 2} == run.data


def test_task_data_is_fresh_per_call_and_flow_data_is_shared():
    """Two calls get two empty task_data dicts but the same flow_data dict."""
    seen = []

    @task
    def call(n, task_data=None, flow_data=None):
        seen.append((dict(task_data), task_data, flow_data))
        task_data["n"] = n
        flow_data.setdefault("ns", []).append(n)

    @flow
    def owner():
        call(1)
        call(2)

    run = owner().execute()
    (first_before, first, shared1), (second_before, second, shared2) = seen
    assert ({}, {}) == (first_before, second_before)
    assert first is not second
    assert shared1 is shared2 is run.data
    assert {"ns": [1, 2]} == run.data


def test_explicit_keyword_arguments_beat_injection():
    """Injectables passed by keyword are used as given."""

    @task
    def injected(this_task=None, this_flow=None, task_data=None, flow_data=None):
        return this_task, this_flow, task_data, flow_data

    @flow
    def owner():
        return injected(this_task="t", this_flow="f", task_data={"td": 1}, flow_data={"fd": 2})

    assert ("t", "f", {"td": 1}, {"fd": 2}) == owner().execute().flow_return_value


def test_explicit_positional_arguments_beat_injection():
    """Injectables passed by position are used as given; only the rest are injected."""

    @task
    def injected(x, this_flow=None, flow_data=None):
        return x, this_flow, flow_data

    @flow
    def owner(this_flow=None):
        return injected(1, "positional-flow"), this_flow

    result, run = owner().execute().flow_return_value
    assert (1, "positional-flow", run.data) == result


def test_keyword_only_injection_for_tasks():
    """Keyword-only injectable parameters are injected too."""

    @task
    def kw_only(*, this_task, flow_data):
        return this_task.task_name, flow_data

    @flow
    def owner(flow_data=None):
        return kw_only(), flow_data

    (name, flow_data), owner_data = owner().execute().flow_return_value
    assert ("kw_only", owner_data) == (name, flow_data)


def test_parameters_not_named_for_injection_are_left_alone():
    """Only the four names are injected; other defaults stay as declared."""

    @task
    def other(flow=None, data=None, task=None):
        return flow, data, task

    @flow
    def owner():
        return other()

    assert (None, None, None) == owner().execute().flow_return_value


# -- methods ---------------------------------------------------------------------------------------


def test_task_as_a_method_binds_self_and_injects():
    """A @task method gets self and still has its injectables."""

    class Worker:
        def __init__(self, factor):
            self.factor = factor

        @task
        def work(self, x, this_task=None, flow_data=None):
            flow_data["by"] = this_task.task_name
            return self.factor * x

    @flow
    def owner():
        return Worker(3).work(2)

    run = owner().execute()
    assert 6 == run.flow_return_value
    assert {"by": "work"} == run.data


def test_async_task_as_a_method():
    """An async @task method gets self and is awaited in an async flow."""

    class Worker:
        name = "w"

        @task
        async def work(self, this_flow=None):
            await asyncio.sleep(0)
            return self.name, this_flow

    @flow
    async def owner():
        return await Worker().work()

    run = owner().execute()
    assert ("w", run) == run.flow_return_value


def test_task_as_staticmethod_and_classmethod():
    """@task under @staticmethod / @classmethod works as usual."""

    class Tools:
        base = 10

        @staticmethod
        @task
        def static(x):
            return x + 1

        @classmethod
        @task
        def klass(cls, x):
            return cls.base + x

    @flow
    def owner():
        return Tools.static(1), Tools.klass(1), Tools().klass(2)

    run = owner().execute()
    assert (2, 11, 12) == run.flow_return_value
    assert ["static", "klass", "klass"] == [t.task_name for t in run.executed_tasks]


def test_task_and_flow_over_classmethod():
    """@task / @flow above @classmethod decorate the function and stay bound to the class."""

    class Jobs:
        base = 100

        @task
        @classmethod
        def add(cls, x):
            return cls.base + x

        @flow
        @classmethod
        def run(cls, x):
            return cls.add(x)

    assert 101 == Jobs.run(1).execute().flow_return_value


# -- errors ----------------------------------------------------------------------------------------


def test_failing_task_raises_the_original_exception_object(events):
    """With raise_on_error=True the call raises the very exception the function raised."""
    error = ZeroDivisionError("original")
    caught = []

    @task
    def fails():
        raise error

    @flow
    def owner():
        try:
            fails()
        except ZeroDivisionError as raised:
            caught.append(raised)
        return "handled"

    run = owner().execute()
    assert [error] == caught
    [call] = run.executed_tasks
    assert ("failed", error) == (call.status, call.task_error)
    assert ("completed", None) == (run.flow_status, run.flow_error)
    stop = of_type(events, T.TASK_STOP)[0]
    assert {"status": "failed", "error": "ZeroDivisionError: original"}.items() <= (
        stop.event_data.data.items()
    )


def test_raise_on_error_false_returns_none_and_the_flow_goes_on():
    """With raise_on_error=False the call returns None, is marked failed, later tasks still run."""

    @task(raise_on_error=False)
    def tolerated():
        raise RuntimeError("ignored")

    @task
    def after():
        return "after ran"

    @flow
    def owner():
        return tolerated(), after()

    run = owner().execute()
    assert (None, "after ran") == run.flow_return_value
    assert ["failed", "completed"] == [t.status for t in run.executed_tasks]
    assert "ignored" == str(run.executed_tasks[0].task_error)
    assert ("completed", None) == (run.flow_status, run.flow_error)


def test_async_raise_on_error_false_returns_none():
    """An async task with raise_on_error=False resolves to None on failure."""

    @task(raise_on_error=False)
    async def tolerated():
        await asyncio.sleep(0)
        raise RuntimeError("ignored")

    @flow
    async def owner():
        return await tolerated()

    run = owner().execute()
    assert (None, "completed") == (run.flow_return_value, run.flow_status)
    assert "failed" == run.executed_tasks[0].status


def test_argument_binding_error_is_a_task_error_with_paired_events(events):
    """Calling a task with wrong arguments raises TypeError as a failed task; START/STOP paired."""

    @task
    def one_arg(x):
        return x

    @flow
    def owner():
        one_arg(1, 2, 3)

    run = owner()
    with pytest.raises(TypeError):
        run.execute()
    [call] = run.executed_tasks
    assert "failed" == call.status
    assert isinstance(call.task_error, TypeError)
    kinds = types_of(events, task_run_id=call.task_id)
    assert (T.TASK_START, T.TASK_STOP) == (kinds[0], kinds[-1])
    assert 1 == kinds.count(T.TASK_START) == kinds.count(T.TASK_STOP)


def test_argument_binding_error_with_raise_on_error_false_returns_none(events):
    """A binding error in a tolerant task returns None, marks it failed, and keeps events paired."""

    @task(raise_on_error=False)
    def one_arg(x):
        return x

    @flow
    def owner():
        return one_arg(), "went on"

    run = owner().execute()
    assert (None, "went on") == run.flow_return_value
    [call] = run.executed_tasks
    assert "failed" == call.status
    kinds = types_of(events, task_run_id=call.task_id)
    assert (T.TASK_START, T.TASK_STOP) == (kinds[0], kinds[-1])


def test_async_task_binding_error_is_a_task_error(events):
    """An async task called with wrong arguments fails as a task, events paired."""

    @task
    async def one_arg(x):
        return x

    @flow
    async def owner():
        await one_arg(1, 2)

    run = owner()
    with pytest.raises(TypeError):
        run.execute()
    [call] = run.executed_tasks
    assert "failed" == call.status
    kinds = types_of(events, task_run_id=call.task_id)
    assert (T.TASK_START, T.TASK_STOP) == (kinds[0], kinds[-1])


def test_task_error_outside_a_flow_still_propagates():
    """A failing task outside any flow raises its original exception."""
    error = IndexError("out of flow")

    @task
    def fails():
        raise error

    with pytest.raises(IndexError) as raised:
        fails()
    assert error is raised.value


# -- per-call records ------------------------------------------------------------------------------


def test_each_call_has_its_own_task_object_and_id():
    """Repeated calls of one task give distinct Task objects with distinct task_ids."""

    @task
    def repeated(n):
        return n

    @flow
    def owner():
        return [repeated(n) for n in range(5)]

    run = owner().execute()
    assert [0, 1, 2, 3, 4] == [t.task_return_value for t in run.executed_tasks]
    assert 5 == len({t.task_id for t in run.executed_tasks})


def test_task_records_its_return_value_status_and_duration():
    """A completed call keeps its return value, status 'completed' and a positive duration."""

    @task
    async def value():
        await asyncio.sleep(0.02)
        return "v"

    @flow
    async def owner():
        return await value()

    [call] = owner().execute().executed_tasks
    assert ("value", "v", "completed", None) == (
        call.task_name,
        call.task_return_value,
        call.status,
        call.task_error,
    )
    assert call.duration >= 0.02


def test_nested_task_calls_are_all_recorded_in_call_order():
    """A task calling another task: both are calls of the flow, outer first."""

    @task
    def inner():
        return "inner"

    @task
    def outer():
        return inner() + "+outer"

    @flow
    def owner():
        return outer()

    run = owner().execute()
    assert "inner+outer" == run.flow_return_value
    assert ["outer", "inner"] == [t.task_name for t in run.executed_tasks]


def test_task_by_hand_with_setup_and_execute():
    """Task(task_name=...).setup(fn, *args).execute() runs fn as a task of the current flow."""

    def double(x, this_flow=None):
        return x * 2, this_flow

    @flow
    def owner():
        return Task(task_name="by-hand").setup(double, 4).execute()

    run = owner().execute()
    assert (8, run) == run.flow_return_value
    assert ["by-hand"] == [t.task_name for t in run.executed_tasks]
    assert "Executing task 'by-hand'" in run.log_messages()


def test_a_task_renamed_after_setup_logs_its_own_name():
    """A by-hand task whose task_name is changed after setup() logs the name it runs under."""

    @flow
    def owner():
        by_hand = Task(task_name="first").setup(lambda: 1)
        by_hand.task_name = "renamed"
        by_hand.execute()

    messages = owner().execute().log_messages()
    assert ("Executing task 'renamed'", False) == (
        messages[1],
        "Executing task 'first'" in messages,
    )


# -- an async task called without await ----------------------------------------------------


@task()
async def price(order):
    return order * 2


def await_warnings(run):
    """flowtel's 'without await' RuntimeWarnings raised while ``run()`` runs."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
        gc.collect()
    return [str(w.message) for w in caught if "without await" in str(w.message)]


def test_an_async_task_called_without_await_in_a_sync_flow_warns_naming_it():
    """A coroutine of an async task dropped unstarted in a sync flow gives a warning naming both."""

    @flow()
    def forgetful():
        price(1)

    assert [
        "async task 'price' was called in sync flow 'forgetful' without await, so it never "
        "ran: await it inside an async flow (or asyncio.run() it), or make 'price' a plain "
        "def task"
    ] == await_warnings(lambda: forgetful().execute())


def test_async_task_calls_that_run_do_not_warn():
    """Awaited in an async flow, asyncio.run() in a sync flow, or submitted: no warning."""

    @flow()
    async def awaiting():
        return await asyncio.gather(price(1), price(2))

    @flow()
    def running_it():
        return asyncio.run(price(3))

    @flow()
    def submitting():
        return price.submit(4).result()

    assert ([2, 4], 6, 8) == (
        awaiting().execute().flow_return_value,
        running_it().execute().flow_return_value,
        submitting().execute().flow_return_value,
    )
    for run in (
        lambda: awaiting().execute(),
        lambda: running_it().execute(),
        lambda: submitting().execute(),
    ):
        assert [] == await_warnings(run)


def test_an_async_task_is_still_a_coroutine_function():
    """asyncio (and, on Python 3.12+, inspect) still see an async task as a coroutine function."""
    assert True is asyncio.iscoroutinefunction(price)
    if sys.version_info >= (3, 12):
        assert True is inspect.iscoroutinefunction(price)
    assert True is inspect.iscoroutine(coroutine := price(1))
    assert 2 == asyncio.run(coroutine)


def test_an_async_task_call_makes_a_coroutine_named_like_the_task():
    """With or without a running loop, the coroutine is named after the task function, the name
    Python's own 'coroutine ... was never awaited' warning shows."""

    async def named_in_loop():
        coroutine = price(1)
        try:
            return coroutine.__name__, coroutine.__qualname__
        finally:
            coroutine.close()

    with pytest.warns(RuntimeWarning, match="without await"):  # closed unstarted: warned
        outside = price(2)
        names_outside = (outside.__name__, outside.__qualname__)
        outside.close()
        del outside
        gc.collect()
    assert [("price", "price"), ("price", "price")] == [
        asyncio.run(named_in_loop()),
        names_outside,
    ]


def test_find_flow_returns_the_running_flow_inside_a_task():
    """Task.find_flow() inside a running task is the flow the task belongs to."""

    @task
    def finder(this_task=None):
        return this_task.find_flow()

    @flow
    def outer():
        return finder()

    run = outer().execute()
    assert run is run.flow_return_value


def test_find_flow_on_a_task_made_by_hand_returns_the_current_flow():
    """Task().find_flow() is the current flow (from `with flow:`), and None outside any flow."""

    @flow
    def holder():
        return None

    run = holder()
    assert Task().find_flow() is None
    with run:
        assert Task().find_flow() is run


def test_finished_tasks_keep_pointing_at_the_run_that_keeps_them():
    """After a run, each of its executed tasks still names that run as its flow (task_flow,
    this_flow, find_flow); a call kept after its run was released has no flow any more."""

    @task
    def step(x):
        return x

    @flow
    def stepping():
        step(1)
        step(2)

    run = stepping().execute()
    assert [(run, run, run), (run, run, run)] == [
        (t.task_flow, t.this_flow, t.find_flow()) for t in run.executed_tasks
    ]
    kept = run.executed_tasks[0]
    del run
    gc.collect()
    assert (None, 1) == (kept.task_flow, kept.task_return_value)


def test_a_task_set_up_by_hand_runs_again_in_the_next_flow():
    """A by-hand Task executed in one run and then in another belongs to the second one."""

    def double(x):
        return 2 * x

    by_hand = Task(task_name="by-hand").setup(double, 3)

    @flow
    def first():
        return by_hand.execute()

    @flow
    def second():
        return by_hand.execute()

    one = first().execute()
    two = second().execute()
    assert (6, 6, two) == (one.flow_return_value, two.flow_return_value, by_hand.task_flow)


def test_a_task_run_by_hand_in_a_with_block_runs_again_outside_any_flow():
    """A by-hand Task executed inside ``with flow:`` (capturing its own prints) and then again
    outside any flow: both calls run, and no run state is left set afterwards."""
    from flowtel import Flow, get_current_task

    block_flow = Flow()
    by_hand = Task(task_name="twice").setup(lambda: print("ran") or 1)
    with block_flow:
        first = by_hand.execute()
    second = by_hand.execute()
    assert (1, 1, None) == (first, second, get_current_task())
    assert ["ran"] == [m for m in block_flow.log_messages() if m == "ran"]
