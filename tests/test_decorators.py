"""@flow and @task: every decorator form, bad input at decoration time, analysis done once."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from flowtel import Flow, Flow_Run__Config, Task, flow, task

# -- @flow forms ---------------------------------------------------------------------------------


def test_bare_flow_decorator_returns_a_set_up_flow_that_has_not_run(events):
    """@flow without parentheses: calling the function gives a pending Flow, nothing runs yet."""
    calls = []

    @flow
    def bare(x):
        calls.append(x)
        return x * 2

    run = bare(21)
    assert isinstance(run, Flow)
    assert ("pending", None, [], []) == (run.flow_status, run.flow_return_value, calls, events)
    assert run is run.execute()
    assert (42, [21], "completed") == (run.flow_return_value, calls, run.flow_status)


def test_flow_decorator_with_empty_parentheses():
    """@flow() works like @flow and names the flow after the function."""

    @flow()
    def empty_parens():
        return "ok"

    run = empty_parens()
    assert "empty_parens" == run.flow_name
    assert "ok" == run.execute().flow_return_value


def test_flow_decorator_with_config_name_and_id():
    """@flow(flow_config=, flow_name=, flow_id=) sets the run's config, name and id."""
    config = Flow_Run__Config(print_finished_message=True)

    @flow(flow_config=config, flow_name="custom-name", flow_id="fixed-run-id")
    def configured():
        return 1

    run = configured()
    assert (config, "custom-name", "fixed-run-id") == (run.flow_config, run.flow_name, run.flow_id)
    run.execute()
    assert "Finished flow run 'fixed-run-id'" in run.log_messages()


def test_flow_decorator_keeps_the_function_metadata():
    """The decorated flow keeps the function's __name__ and __doc__."""

    @flow
    def documented():
        """Flow docs."""

    assert ("documented", "Flow docs.") == (documented.__name__, documented.__doc__)


def test_flow_unknown_keyword_raises_at_decoration_naming_valid_ones():
    """@flow(bogus=...) raises TypeError before any function is given, naming the valid keywords."""
    with pytest.raises(TypeError) as raised:
        flow(flow_nam="typo")
    message = str(raised.value)
    for expected in ("flow_nam", "flow_config", "flow_name", "flow_id"):
        assert expected in message


def test_flow_on_a_non_callable_raises_naming_it():
    """@flow applied to a non-callable raises TypeError naming the value."""
    with pytest.raises(TypeError) as raised:
        flow(12345)
    assert "12345" in str(raised.value)
    with pytest.raises(TypeError) as raised:
        flow()("not-a-function")
    assert "not-a-function" in str(raised.value)


def test_flow_decorator_rejects_wrong_config_type_at_decoration():
    """@flow(flow_config=<not a Flow_Run__Config>) raises TypeError naming flow_config."""
    with pytest.raises(TypeError) as raised:
        flow(flow_config={"raise_flow_error": False})
    assert "flow_config" in str(raised.value)


def test_flow_decorator_rejects_wrong_name_and_id_types(events):
    """@flow(flow_name=<not str>) and @flow(flow_id=<not str>) raise TypeError naming the keyword."""
    with pytest.raises(TypeError) as raised:
        flow(flow_name=42)
    assert "flow_name" in str(raised.value)
    with pytest.raises(TypeError) as raised:
        flow(flow_id=7)
    assert "flow_id" in str(raised.value)
    assert [] == events


# -- @task forms ---------------------------------------------------------------------------------


def test_bare_task_decorator_runs_at_once_and_returns_the_value():
    """@task without parentheses: the call runs the function and returns its value."""
    calls = []

    @task
    def bare(x):
        calls.append(x)
        return x + 1

    assert 2 == bare(1)
    assert [1] == calls


def test_task_decorator_with_empty_parentheses():
    """@task() works like @task; the task is named after the function."""

    @task()
    def named_after_function(this_task=None):
        return this_task.task_name

    assert "named_after_function" == named_after_function()


def test_task_decorator_with_task_name_and_raise_on_error():
    """@task(task_name=..., raise_on_error=False) renames the task and tolerates its errors."""

    @task(task_name="renamed", raise_on_error=False)
    def failing(this_task=None):
        raise ValueError(this_task.task_name)

    @flow
    def runner():
        return failing()

    run = runner().execute()
    assert run.flow_return_value is None
    [call] = run.executed_tasks
    assert ("renamed", "failed", "renamed") == (call.task_name, call.status, str(call.task_error))


def test_async_task_call_returns_a_coroutine_to_await():
    """Calling an async @task returns a coroutine; awaiting it gives the value."""

    @task
    async def async_double(x):
        await asyncio.sleep(0)
        return x * 2

    pending = async_double(4)
    assert inspect.iscoroutine(pending)
    assert 8 == asyncio.run(pending)


def test_task_decorator_keeps_the_function_metadata():
    """The decorated task keeps the function's __name__ and __doc__."""

    @task
    def documented():
        """Task docs."""

    assert ("documented", "Task docs.") == (documented.__name__, documented.__doc__)


def test_task_unknown_keyword_raises_at_decoration_naming_valid_ones():
    """@task(bogus=...) raises TypeError naming the bad keyword and the valid ones."""
    with pytest.raises(TypeError) as raised:
        task(raise_on_eror=False)
    message = str(raised.value)
    for expected in ("raise_on_eror", "task_name", "raise_on_error"):
        assert expected in message


def test_task_on_a_non_callable_raises_naming_it():
    """@task applied to a non-callable raises TypeError naming the value."""
    with pytest.raises(TypeError) as raised:
        task(3.25)
    assert "3.25" in str(raised.value)
    with pytest.raises(TypeError) as raised:
        task()(["a", "list"])
    assert "['a', 'list']" in str(raised.value)


def test_task_decorator_rejects_wrong_option_types():
    """task_name must be a str and raise_on_error a bool, checked at decoration time."""
    with pytest.raises(TypeError) as raised:

        @task(task_name=99)
        def bad_name():
            pass

    assert "task_name" in str(raised.value)
    with pytest.raises(TypeError) as raised:

        @task(raise_on_error="no")
        def bad_flag():
            pass

    assert "raise_on_error" in str(raised.value)


# -- analysis happens once -----------------------------------------------------------------------


def test_signature_is_analysed_at_decoration_not_per_call(monkeypatch):
    """After decoration, running flows and tasks never calls inspect.signature."""

    @task
    def injected(x, this_task=None, this_flow=None, task_data=None, flow_data=None):
        return (x, this_task.task_name, this_flow.flow_name, task_data, sorted(flow_data))

    @task
    async def injected_async(this_task=None):
        return this_task.task_name

    @flow
    def sync_flow(this_flow=None, flow_data=None):
        flow_data["k"] = 1
        return [injected(i) for i in range(3)]

    @flow
    async def async_flow(flow_data=None):
        return [await injected_async() for _ in range(3)]

    calls = []
    real_signature = inspect.signature

    def counting_signature(*args, **kwargs):
        calls.append(args)
        return real_signature(*args, **kwargs)

    monkeypatch.setattr(inspect, "signature", counting_signature)
    first = sync_flow().execute()
    second = sync_flow().execute()
    third = async_flow().execute()
    assert [] == calls
    assert [(0, "injected", "sync_flow", {}, ["k"])] == first.flow_return_value[:1]
    assert 3 == len(second.flow_return_value)
    assert ["injected_async"] * 3 == third.flow_return_value


def test_decorated_task_objects_are_new_per_call():
    """Each call of a decorated task is its own Task with its own run id."""
    seen = []

    @task
    def record(this_task=None):
        seen.append(this_task)

    @flow
    def runner():
        record()
        record()

    runner().execute()
    assert all(isinstance(t, Task) for t in seen)
    assert 2 == len({t.task_id for t in seen})
    assert seen[0] is not seen[1]
