"""Flow: building runs, executing them (sync and async), injection, artifacts, errors, stats."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import subprocess
import sys
import threading
import time
import warnings
import weakref

import pytest
from helpers import of_type, types_of

from flowtel import Flow, Flow_Run__Config, Flow_Run__Event_Type, flow, task

T = Flow_Run__Event_Type


# -- building runs by hand -----------------------------------------------------------------------


def test_setup_binds_target_and_arguments_and_returns_the_flow():
    """Flow(...).setup(target, *args, **kwargs) returns the Flow, ready to execute with those args."""

    def add(a, b, scale=1):
        return (a + b) * scale

    run = Flow()
    assert run is run.setup(add, 2, 3, scale=10)
    assert ("add", "pending") == (run.flow_name, run.flow_status)
    assert 50 == run.execute().flow_return_value


def test_flow_constructor_takes_config_name_and_id():
    """Flow(flow_config=, flow_name=, flow_id=) keeps all three; the name beats the target's name."""
    config = Flow_Run__Config(raise_flow_error=False)
    run = Flow(flow_config=config, flow_name="by-hand", flow_id="run-1").setup(lambda: "x")
    assert (config, "by-hand", "run-1") == (run.flow_config, run.flow_name, run.flow_id)
    assert ("x", "by-hand", "run-1") == (
        run.execute().flow_return_value,
        run.flow_name,
        run.flow_id,
    )


def test_setup_of_a_non_callable_raises_naming_it():
    """Flow().setup(<not callable>) raises TypeError naming the value."""
    with pytest.raises(TypeError) as raised:
        Flow().setup("just a string")
    assert "just a string" in str(raised.value)


def test_flow_constructor_rejects_wrong_config_type():
    """Flow(flow_config=<not a config>) raises TypeError naming flow_config."""
    with pytest.raises(TypeError) as raised:
        Flow(flow_config=object())
    assert "flow_config" in str(raised.value)


def test_execute_on_a_flow_never_set_up_raises_and_records_nothing(events):
    """execute() on a bare Flow raises an error saying it was never set up; no event, still pending."""
    run = Flow(flow_name="bare")
    with pytest.raises(RuntimeError) as raised:
        run.execute()
    assert "never set up" in str(raised.value)
    assert ([], "pending", []) == (events, run.flow_status, run.log_messages())
    with pytest.raises(RuntimeError) as raised:
        asyncio.run(run.execute_async())
    assert "never set up" in str(raised.value)
    assert [] == events


# -- runs and run ids ----------------------------------------------------------------------------


def test_each_call_gives_a_new_flow_with_a_fresh_run_id():
    """Every call of a @flow function makes a distinct Flow with a unique flow_id."""

    @flow
    def numbered(n):
        return n

    runs = [numbered(n) for n in range(50)]
    assert 50 == len({id(r) for r in runs})
    assert 50 == len({r.flow_id for r in runs})
    assert list(range(50)) == [r.execute().flow_return_value for r in runs]


def test_fixed_flow_id_is_used_by_every_run():
    """@flow(flow_id=...) fixes the run id of every call and re-run."""

    @flow(flow_id="always-this")
    def fixed():
        return 1

    first, second = fixed(), fixed()
    assert ["always-this", "always-this"] == [first.flow_id, second.flow_id]
    assert "always-this" == first.execute().execute().flow_id
    assert "always-this" == second.execute().flow_id


def test_executing_again_starts_a_new_run_with_fresh_state():
    """Re-executing a Flow gives a new run id and resets data, tasks, artifacts and log."""

    @task
    def step(flow_data=None):
        flow_data["count"] = flow_data.get("count", 0) + 1

    @flow
    def twice(this_flow=None):
        step()
        this_flow.add_flow_artifact(key="a", data=1)
        this_flow.log_info("once per run")

    run = twice().execute()
    first_id = run.flow_id
    run.execute()
    assert first_id != run.flow_id
    assert {"count": 1} == run.data
    assert 1 == len(run.executed_tasks)
    assert 1 == len(run.flow_artifacts)
    assert 1 == run.log_messages().count("once per run")


def test_execute_returns_the_flow_with_value_and_no_error():
    """execute() returns the Flow itself; flow_return_value holds the value, flow_error None."""

    @flow
    def value():
        return {"answer": 42}

    run = value()
    assert run is run.execute()
    assert ({"answer": 42}, None, "completed") == (
        run.flow_return_value,
        run.flow_error,
        run.flow_status,
    )


# -- async flows -----------------------------------------------------------------------------------


@task
async def async_step(x):
    await asyncio.sleep(0.001)
    return x * 10


@task
def sync_step(x):
    return x + 1


@flow
async def mixed_flow(x):
    a = await async_step(x)
    b = sync_step(a)
    c = await async_step(b)
    return [a, b, c]


def test_async_flow_runs_with_execute_from_sync_code():
    """An async flow runs to the end with execute() from plain synchronous code."""
    run = mixed_flow(1).execute()
    assert [10, 11, 110] == run.flow_return_value
    assert ["async_step", "sync_step", "async_step"] == [t.task_name for t in run.executed_tasks]
    assert ["completed"] * 3 == [t.status for t in run.executed_tasks]


def test_async_flow_execute_inside_a_running_loop_uses_a_worker_keeping_contextvars():
    """execute() inside a running loop runs the async flow on a worker thread with the caller's contextvars."""
    user_var: contextvars.ContextVar[str] = contextvars.ContextVar("user_var", default="unset")
    seen = {}

    @task
    async def read_var():
        seen["task_var"] = user_var.get()
        return user_var.get()

    @flow
    async def reads_context():
        seen["thread"] = threading.get_ident()
        seen["flow_var"] = user_var.get()
        return await read_var()

    async def caller():
        user_var.set("from-caller")
        seen["caller_thread"] = threading.get_ident()
        return reads_context().execute()

    run = asyncio.run(caller())
    assert "from-caller" == run.flow_return_value
    assert ("from-caller", "from-caller") == (seen["flow_var"], seen["task_var"])
    assert seen["caller_thread"] != seen["thread"]
    assert "completed" == run.flow_status


def test_async_flow_execute_inside_a_running_loop_propagates_errors():
    """An error of an async flow executed from inside a loop reaches the caller unchanged."""
    error = LookupError("worker failure")

    @flow
    async def fails():
        raise error

    async def caller():
        return fails().execute()

    with pytest.raises(LookupError) as raised:
        asyncio.run(caller())
    assert error is raised.value


def test_execute_async_runs_on_the_current_loop():
    """await flow.execute_async() runs the flow on the caller's loop and thread."""
    seen = {}

    @flow
    async def on_loop():
        seen["loop"] = asyncio.get_running_loop()
        seen["thread"] = threading.get_ident()
        return await async_step(2)

    async def caller():
        run = on_loop()
        result = await run.execute_async()
        return result, run, asyncio.get_running_loop()

    result, run, loop = asyncio.run(caller())
    assert result is run
    assert 20 == run.flow_return_value
    assert loop is seen["loop"]
    assert threading.get_ident() == seen["thread"]


def test_execute_async_also_runs_a_sync_flow():
    """await execute_async() works for a sync flow function too."""

    @flow
    def plain():
        return sync_step(1)

    run = asyncio.run(plain().execute_async())
    assert (2, "completed") == (run.flow_return_value, run.flow_status)


def test_concurrent_async_flows_interleave_on_one_loop():
    """Several async flows awaited with gather overlap in time and each returns its own value."""

    @flow
    async def sleeper(n):
        await asyncio.sleep(0.05)
        return n

    async def caller():
        return await asyncio.gather(*(sleeper(n).execute_async() for n in range(10)))

    started = time.perf_counter()
    runs = asyncio.run(caller())
    elapsed = time.perf_counter() - started
    assert list(range(10)) == [r.flow_return_value for r in runs]
    assert elapsed < 0.4


# -- flows as methods and injection --------------------------------------------------------------


def test_flow_as_a_method_binds_self():
    """A @flow method gets self as usual and runs its method tasks."""

    class Calculator:
        def __init__(self, base):
            self.base = base

        @task
        def add(self, x):
            return self.base + x

        @flow
        def compute(self, x):
            return self.add(x) * 2

    run = Calculator(5).compute(1)
    assert "compute" == run.flow_name
    assert 12 == run.execute().flow_return_value
    assert ["add"] == [t.task_name for t in run.executed_tasks]


def test_async_flow_as_a_method():
    """An async @flow method runs with execute() and awaits async method tasks."""

    class Service:
        @task
        async def fetch(self):
            await asyncio.sleep(0)
            return "fetched"

        @flow
        async def run_it(self):
            return await self.fetch()

    assert "fetched" == Service().run_it().execute().flow_return_value


def test_flow_function_gets_this_flow_and_flow_data():
    """A flow function's this_flow is its Flow and flow_data is flow.data, shared with tasks."""

    @task
    def writer(flow_data=None):
        flow_data["from_task"] = True

    @flow
    def injected(this_flow=None, flow_data=None):
        flow_data["from_flow"] = True
        writer()
        return this_flow, flow_data

    run = injected().execute()
    this_flow, flow_data = run.flow_return_value
    assert this_flow is run
    assert flow_data is run.data
    assert flow_data is run.flow_data
    assert {"from_flow": True, "from_task": True} == run.data


def test_explicit_arguments_beat_flow_injection():
    """Arguments the caller passes for this_flow / flow_data are used instead of injected ones."""

    @flow
    def injected(this_flow=None, flow_data=None):
        return this_flow, flow_data

    mine = {"mine": True}
    assert ("explicit", mine) == injected("explicit", mine).execute().flow_return_value
    assert ("kw", mine) == injected(flow_data=mine, this_flow="kw").execute().flow_return_value


def test_keyword_only_injection_for_flows():
    """Keyword-only this_flow / flow_data parameters are injected too."""

    @flow
    def kw_only(x, *, this_flow, flow_data):
        return x, this_flow, flow_data

    run = kw_only(3).execute()
    assert (3, run, run.data) == run.flow_return_value


# -- artifacts and results -----------------------------------------------------------------------


def test_artifacts_and_results_are_kept_and_raise_events(events):
    """add_flow_artifact / add_flow_result record on the run and raise NEW_ARTIFACT / NEW_RESULT."""

    @flow
    def recording(this_flow=None):
        artifact = this_flow.add_flow_artifact(
            description="desc", key="k1", data=[1, 2], artifact_type="json"
        )
        result = this_flow.add_flow_result(key="r1", description="first result")
        return artifact, result

    run = recording().execute()
    artifact = {"key": "k1", "type": "json", "description": "desc", "data": [1, 2]}
    result = {"key": "r1", "description": "first result"}
    assert [artifact] == run.flow_artifacts
    assert result == run.flow_results[0]
    assert [{"artifact_data": artifact}] == [
        e.event_data.data for e in of_type(events, T.NEW_ARTIFACT)
    ]
    assert {"result_data": result} == of_type(events, T.NEW_RESULT)[0].event_data.data


def test_non_none_return_value_is_recorded_as_flow_return_value_result(events):
    """A non-None return value is also the result 'flow-return-value' (described by its text)."""

    @flow
    def returns():
        return 123

    run = returns().execute()
    expected = {"key": "flow-return-value", "description": "123"}
    assert [expected] == run.flow_results
    assert [{"result_data": expected}] == [e.event_data.data for e in of_type(events, T.NEW_RESULT)]


def test_none_return_value_records_no_result():
    """A flow returning None records no 'flow-return-value' result."""

    @flow
    def returns_none():
        return None

    assert [] == returns_none().execute().flow_results


def test_artifacts_added_from_a_task_belong_to_the_flow():
    """this_flow.add_flow_artifact inside a task records on the task's flow."""

    @task
    def produce(this_flow=None):
        this_flow.add_flow_artifact(key="from-task", data="payload", artifact_type="text")

    @flow
    def outer():
        produce()

    run = outer().execute()
    assert ["from-task"] == [a["key"] for a in run.flow_artifacts]


# -- errors ----------------------------------------------------------------------------------------


def test_flow_error_propagates_the_same_object_and_is_recorded(events):
    """A failing flow re-raises the very exception object from execute() and keeps it in flow_error."""
    error = KeyError("missing")

    @task
    def fails():
        raise error

    @flow
    def failing():
        fails()

    run = failing()
    with pytest.raises(KeyError) as raised:
        run.execute()
    assert error is raised.value
    assert error is run.flow_error
    assert "failed" == run.flow_status
    stop = of_type(events, T.FLOW_STOP)[0]
    assert ("failed", "KeyError: 'missing'") == (
        stop.event_data.data["status"],
        stop.event_data.data["error"],
    )


def test_raise_flow_error_false_returns_the_flow_with_the_error():
    """With raise_flow_error=False execute() returns the Flow, flow_error set, status failed."""
    error = ValueError("tolerated")

    @flow(flow_config=Flow_Run__Config(raise_flow_error=False))
    def failing():
        raise error

    run = failing()
    assert run is run.execute()
    assert (error, "failed", None) == (run.flow_error, run.flow_status, run.flow_return_value)


def test_async_flow_error_propagates_the_same_object():
    """An async flow's error is re-raised unchanged by execute() and by execute_async()."""
    error = ArithmeticError("async boom")

    @flow
    async def failing():
        await asyncio.sleep(0)
        raise error

    with pytest.raises(ArithmeticError) as raised:
        failing().execute()
    assert error is raised.value
    run = failing()
    with pytest.raises(ArithmeticError) as raised:
        asyncio.run(run.execute_async())
    assert (error, error) == (raised.value, run.flow_error)


def test_running_again_does_not_reraise_an_earlier_error():
    """A Flow whose first run failed runs cleanly the second time: no old error, new status."""
    attempts = []

    @flow(flow_config=Flow_Run__Config(raise_flow_error=False))
    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first time only")
        return "second time ok"

    run = flaky().execute()
    assert "failed" == run.flow_status
    run.execute()
    assert ("completed", None, "second time ok") == (
        run.flow_status,
        run.flow_error,
        run.flow_return_value,
    )


def test_running_again_starts_from_the_defaults_whatever_the_last_run_set():
    """The run state the first run set (its error, failed tasks, unflushed print, span) is
    back to its default when the same Flow runs again."""
    runs = []

    @task(raise_on_error=False)
    def broken():
        raise ValueError("no")

    @flow(flow_config=Flow_Run__Config(raise_flow_error=False))
    def changing():
        runs.append(1)
        if len(runs) == 1:
            broken()
            raise RuntimeError("first run fails")

    run = changing().execute()
    assert (1, "failed") == (run.failed_tasks, run.flow_status)
    run.execute()
    assert (0, "completed", None, None, "") == (
        run.failed_tasks,
        run.flow_status,
        run.flow_error,
        run._span,
        run._print_buffer,
    )


def test_running_again_after_a_raised_error_succeeds():
    """After execute() raised, executing the same Flow again returns normally when the code succeeds."""
    attempts = []

    @flow
    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first time only")
        return "ok"

    run = flaky()
    with pytest.raises(RuntimeError):
        run.execute()
    assert "ok" == run.execute().flow_return_value
    assert run.flow_error is None


def test_flow_argument_binding_error_is_a_flow_error_with_paired_events(events):
    """Calling a flow with wrong arguments fails at execute() like any error; START/STOP stay paired."""

    @flow
    def needs_two(a, b):
        return a + b

    run = needs_two(1, 2, 3)
    with pytest.raises(TypeError) as raised:
        run.execute()
    assert raised.value is run.flow_error
    assert "failed" == run.flow_status
    assert [T.FLOW_START, T.FLOW_STOP] == [
        t for t in types_of(events, run.flow_id) if t in (T.FLOW_START, T.FLOW_STOP)
    ]


def test_keyboard_interrupt_cancels_the_run_and_propagates(events):
    """KeyboardInterrupt in a task ends the run as cancelled, events paired, and propagates."""

    @task
    def interrupted():
        raise KeyboardInterrupt

    @flow(flow_config=Flow_Run__Config(raise_flow_error=False))
    def interruptible():
        interrupted()

    run = interruptible()
    with pytest.raises(KeyboardInterrupt):
        run.execute()
    assert "cancelled" == run.flow_status
    assert isinstance(run.flow_error, KeyboardInterrupt)
    kinds = types_of(events, run.flow_id)
    assert (T.FLOW_START, T.FLOW_STOP) == (kinds[0], kinds[-1])
    assert 1 == kinds.count(T.TASK_START) == kinds.count(T.TASK_STOP)
    assert "cancelled" == events[-1].event_data.data["status"]
    assert "completed" != run.executed_tasks[0].status


def test_keyboard_interrupt_propagates_even_from_a_tolerant_task(events):
    """KeyboardInterrupt is not swallowed by raise_on_error=False; the run ends cancelled."""

    @task(raise_on_error=False)
    def interrupted():
        raise KeyboardInterrupt

    @flow
    def interruptible():
        interrupted()
        return "not reached"

    run = interruptible()
    with pytest.raises(KeyboardInterrupt):
        run.execute()
    assert ("cancelled", None) == (run.flow_status, run.flow_return_value)
    kinds = types_of(events, run.flow_id)
    assert (T.FLOW_START, T.FLOW_STOP) == (kinds[0], kinds[-1])
    assert 1 == kinds.count(T.TASK_START) == kinds.count(T.TASK_STOP)


def test_keyboard_interrupt_in_an_async_flow_run_from_sync_code(events):
    """KeyboardInterrupt in an async task run through execute() cancels the run and propagates."""

    @task
    async def interrupted():
        await asyncio.sleep(0)
        raise KeyboardInterrupt

    @flow
    async def interruptible():
        await interrupted()

    run = interruptible()
    with pytest.raises(KeyboardInterrupt):
        run.execute()
    assert "cancelled" == run.flow_status
    kinds = types_of(events, run.flow_id)
    assert (T.FLOW_START, T.FLOW_STOP) == (kinds[0], kinds[-1])
    assert 1 == kinds.count(T.TASK_START) == kinds.count(T.TASK_STOP)


def test_cancelled_error_cancels_an_async_run_and_propagates(events):
    """Cancelling the asyncio task running a flow ends it as cancelled, events paired."""
    started = asyncio.Event

    @task
    async def waits_forever(ready):
        ready.set()
        await asyncio.sleep(60)

    @flow(flow_config=Flow_Run__Config(raise_flow_error=False))
    async def cancellable(ready):
        await waits_forever(ready)

    async def caller():
        ready = started()
        run = cancellable(ready)
        pending = asyncio.create_task(run.execute_async())
        await ready.wait()
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        return run

    run = asyncio.run(caller())
    assert "cancelled" == run.flow_status
    assert isinstance(run.flow_error, asyncio.CancelledError)
    kinds = types_of(events, run.flow_id)
    assert (T.FLOW_START, T.FLOW_STOP) == (kinds[0], kinds[-1])
    assert 1 == kinds.count(T.TASK_START) == kinds.count(T.TASK_STOP)
    task_stop = of_type(events, T.TASK_STOP)[0]
    assert "completed" != task_stop.event_data.data["status"]


def test_a_flow_cannot_execute_while_it_is_running():
    """Executing a Flow from inside its own run raises instead of corrupting the run."""
    errors = []

    @flow
    def reentrant(this_flow=None):
        try:
            this_flow.execute()
        except RuntimeError as error:
            errors.append(error)
        return "outer finished"

    run = reentrant().execute()
    assert "outer finished" == run.flow_return_value
    assert 1 == len(errors)
    assert "already running" in str(errors[0])


# -- stats -----------------------------------------------------------------------------------------


def test_executed_tasks_are_in_call_order_with_their_details():
    """executed_tasks lists each call in order with name, id, status, duration, value and error."""
    error = ValueError("second fails")

    @task
    def slow(x):
        time.sleep(0.02)
        return x

    @task(raise_on_error=False)
    def failing():
        raise error

    @flow
    def stats():
        slow(1)
        failing()
        slow(2)

    run = stats().execute()
    tasks = run.executed_tasks
    assert ["slow", "failing", "slow"] == [t.task_name for t in tasks]
    assert ["completed", "failed", "completed"] == [t.status for t in tasks]
    assert [1, None, 2] == [t.task_return_value for t in tasks]
    assert [None, error, None] == [t.task_error for t in tasks]
    assert 3 == len({t.task_id for t in tasks})
    assert all(isinstance(t.task_id, str) and t.task_id for t in tasks)
    assert tasks[0].duration >= 0.02 and tasks[2].duration >= 0.02
    assert 0 <= tasks[1].duration < 0.02


def test_durations_reports_the_flow_and_per_task_seconds():
    """durations() gives flow name, duration, status and summed seconds per task name."""

    @task
    def nap(seconds):
        time.sleep(seconds)

    @task
    def quick():
        pass

    @flow
    def timed():
        nap(0.02)
        nap(0.02)
        quick()

    run = timed().execute()
    durations = run.durations()
    assert ["flow_duration", "flow_name", "flow_status", "flow_tasks"] == sorted(durations)
    assert ("timed", "completed") == (durations["flow_name"], durations["flow_status"])
    assert ["nap", "quick"] == sorted(durations["flow_tasks"])
    assert durations["flow_tasks"]["nap"] >= 0.04
    assert durations["flow_duration"] >= durations["flow_tasks"]["nap"]
    assert durations["flow_tasks"]["nap"] == pytest.approx(
        sum(t.duration for t in run.executed_tasks if t.task_name == "nap")
    )


def test_durations_of_a_failed_flow_report_failed():
    """durations() of a failed run says 'failed'."""

    @flow(flow_config=Flow_Run__Config(raise_flow_error=False))
    def broken():
        raise OSError("disk")

    assert "failed" == broken().execute().durations()["flow_status"]


# -- a flow built but never run warns ------------------------------------------------------


@flow()
def nightly(source):
    return source


def never_run_warnings(build):
    """The 'never run' RuntimeWarnings raised while ``build()`` runs and its result is dropped."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build()
        gc.collect()
    return [str(w.message) for w in caught if "never run" in str(w.message)]


def test_a_flow_called_but_never_executed_warns_once_naming_it_and_the_fix():
    """Dropping a Flow built by a decorated call without executing it raises one RuntimeWarning."""
    assert [
        "flow 'nightly' was never run: calling nightly(...) only builds the run; call "
        ".execute() on it (run = nightly(...).execute()), or "
        "'await nightly(...).execute_async()' in async code"
    ] == never_run_warnings(lambda: nightly("s3://bucket/day"))


def test_flows_that_ran_or_were_built_by_hand_do_not_warn():
    """Executed flows (sync or async), flows used with `with`, and Flow().setup() stay silent."""

    @flow()
    async def async_nightly():
        return 1

    def used_as_context():
        with nightly("x"):
            pass

    for build in (
        lambda: nightly("x").execute(),
        lambda: async_nightly().execute(),
        lambda: asyncio.run(async_nightly().execute_async()),
        used_as_context,
        lambda: Flow().setup(lambda: 1),
    ):
        assert [] == never_run_warnings(build)


def test_a_never_run_flow_warns_in_a_plain_script():
    """In a fresh interpreter with default warning filters, the warning reaches stderr."""
    script = (
        "from flowtel import flow\n"
        "@flow()\n"
        "def nightly(source):\n"
        "    return source\n"
        "x = nightly('s3://bucket/day')\n"
        "x = None\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert 1 == done.stderr.count("RuntimeWarning: flow 'nightly' was never run"), done.stderr


def test_detach_returns_the_same_flow_for_chaining():
    """run.detach() returns the Flow itself, so `background_tasks.add_task(f(x).detach().execute)` works."""

    @flow()
    def detachable() -> int:
        return 1

    run = detachable()
    assert (run, 1) == (run.detach(), run.detach().execute().flow_return_value)


def test_a_released_run_is_freed_without_the_cycle_collector():
    """A finished run and its executed tasks, messages and results form no reference cycle:
    released, they are freed at once (nothing is left for gc.collect())."""

    @task
    def step(x, this_task=None):
        this_task.log_info(f"step {x}")
        return {"value": x}

    @flow
    def stepping(this_flow=None):
        for x in range(5):
            step(x)
        this_flow.add_flow_artifact(key="report", data={"rows": 5})
        this_flow.add_flow_result(key="total", description="5")

    gc.collect()
    gc.disable()  # nothing may be left for the cycle collector to free
    try:
        run = stepping().execute()
        refs = [weakref.ref(run), *(weakref.ref(t) for t in run.executed_tasks)]
        assert 6 == len(refs)
        del run
        assert [None] * 6 == [ref() for ref in refs]
    finally:
        gc.enable()


def test_a_traced_run_keeps_fewer_than_thirty_attributes_of_its_own(flowtel_telemetry):
    """A run with telemetry on sets fewer than 30 instance attributes: CPython then keeps them
    in its compact layout, not a dict per run (about 1.3 KB more for every run kept)."""

    @task
    def step():
        return 1

    @flow
    def traced():
        step()
        return 2

    run = traced().execute()
    assert True is (len(vars(run)) < 30), sorted(vars(run))
