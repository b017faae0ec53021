"""Prefect 3 behaviour through flowtel.prefect's Prefect paths: states, futures, tags, runtime,
hooks, classmethods, parameter validation, with_options and timeout errors."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time

import pytest

from flowtel.prefect import flow, runtime, tags, task
from flowtel.prefect.exceptions import FailedRun, ParameterTypeError, UpstreamTaskError
from flowtel.prefect.flow_engine import FlowRunTimeoutError
from flowtel.prefect.futures import PrefectFuture, allow_failure, wait
from flowtel.prefect.states import Cancelled, Completed, Failed, StateType
from flowtel.prefect.task_engine import TaskRunTimeoutError
from flowtel.prefect.task_runners import ThreadPoolTaskRunner


@task
def double(x):
    return 2 * x


@task
def fails():
    raise ValueError("broken")


@task
def total(values):
    return sum(values)


# -- states ---------------------------------------------------------------------------


def test_returning_completed_sets_the_result_and_failed_raises(flowtel_telemetry):
    """A flow returning Completed(data) returns data; one returning Failed raises FailedRun."""

    @flow
    def decides(ok: bool):
        return Completed(data="fine", message="all good") if ok else Failed(message="nope")

    assert "fine" == decides(True)
    with pytest.raises(FailedRun, match="nope"):
        decides(False)
    state = decides(False, return_state=True)
    assert (StateType.FAILED, "Failed('nope')") == (state.type, str(state))
    results = [s.attributes["cicd.pipeline.result"] for s in flowtel_telemetry.spans]
    assert ["success", "failure", "failure"] == results


def test_task_returning_a_state_ends_in_it_and_the_call_returns_it(flowtel_telemetry):
    """As in Prefect, a task that returns Failed/Completed ends in that state and its call returns it."""

    @task
    def toggle(fail: bool):
        if fail:
            return Failed(message="told to fail")
        return Completed(message="told to succeed")

    @task
    def gives_up():
        return Cancelled(message="stopped early")

    @flow
    def runs_them():
        return toggle(True), toggle(False), gives_up(return_state=True)

    failed, completed, cancelled = runs_them(return_state=True).result()
    assert [
        (StateType.FAILED, "told to fail"),
        (StateType.COMPLETED, "told to succeed"),
        (StateType.CANCELLED, "stopped early"),
    ] == [(s.type, s.message) for s in (failed, completed, cancelled)]
    assert ["failure", "success", "failure"] == [
        s.attributes["cicd.pipeline.task.run.result"] for s in flowtel_telemetry.spans[:3]
    ]


def test_state_type_compares_with_prefect_names():
    """StateType members equal their Prefect names and states answer is_* like Prefect's."""
    state = Completed(data=3)
    assert (True, True, True, 3) == (
        state.type == StateType.COMPLETED,
        state.type == "COMPLETED",
        state.is_final(),
        state.result(),
    )


# -- futures ----------------------------------------------------------------------------


def test_future_state_and_result_without_raising():
    """future.state is Completed/Failed; result(raise_on_failure=False) returns the error."""

    @flow
    def inspects():
        good, bad = double.submit(4), fails.submit()
        wait([good, bad])
        error = bad.result(raise_on_failure=False)
        return good.state.type, bad.state.type, type(error), good.result()

    assert (StateType.COMPLETED, StateType.FAILED, ValueError, 8) == inspects()


def test_submit_returns_a_prefect_future_with_a_task_run_id():
    """submit() returns a PrefectFuture whose task_run_id names the run."""

    @flow
    def submits():
        future = double.submit(1)
        future.wait()
        return isinstance(future, PrefectFuture), len(future.task_run_id)

    assert (True, 16) == submits()


def test_returned_futures_and_states_decide_the_flow_state():
    """A returned future gives its result; returned states that failed fail the flow, as in Prefect."""

    @flow
    def returns_future():
        return double.submit(1)

    @flow
    def returns_states():
        return [double.submit(1), fails.submit()]

    assert 2 == returns_future()
    states = returns_states()
    assert [StateType.COMPLETED, StateType.FAILED] == [state.type for state in states]
    state = returns_states(return_state=True)
    assert ("Failed('1/2 states failed.')", 2) == (str(state), len(state.result()))


def test_an_async_flow_returning_async_task_futures_gives_their_results_and_states():
    """An async flow may return its async tasks' futures (alone, in a list or a dict), as in Prefect."""

    @task
    async def slow_double(x):
        await asyncio.sleep(0.01)
        return 2 * x

    @task
    async def breaks():
        await asyncio.sleep(0.01)
        raise ValueError("broken")

    @flow
    async def returns_future():
        return slow_double.submit(1)

    @flow
    async def returns_states():
        return [slow_double.submit(1), breaks.submit()]

    @flow
    async def returns_dict():
        return {"a": slow_double.submit(2)}

    assert 2 == asyncio.run(returns_future())
    state = asyncio.run(returns_states(return_state=True))
    assert ("Failed('1/2 states failed.')", [StateType.COMPLETED, StateType.FAILED]) == (
        str(state),
        [item.type for item in state.result(raise_on_failure=False)],
    )
    assert {"a": (StateType.COMPLETED, 4)} == {
        key: (item.type, item.result()) for key, item in asyncio.run(returns_dict()).items()
    }


def test_wait_for_orders_tasks_and_is_not_passed_to_the_function():
    """wait_for=[future] runs the task after the future's task; the function never sees it."""
    order = []

    @task
    def first():
        time.sleep(0.05)
        order.append("first")

    @task
    def second():
        order.append("second")

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    def ordered():
        upstream = first.submit()
        second.submit(wait_for=[upstream]).wait()
        second(wait_for=[upstream])

    ordered()
    assert ["first", "second", "second"] == order


def test_wait_for_a_failed_upstream_does_not_run_the_task_unless_allowed():
    """A failed wait_for upstream raises UpstreamTaskError; allow_failure lets the task run."""

    @flow
    def guarded():
        broken = fails.submit()
        blocked = double.submit(1, wait_for=[broken])
        allowed = double.submit(2, wait_for=[allow_failure(broken)])
        not_ready = double(3, wait_for=[broken], return_state=True)
        return (
            type(blocked.result(raise_on_failure=False)),
            allowed.result(),
            (blocked.state.name, blocked.state.type),
            (not_ready.name, not_ready.type),
        )

    assert (
        UpstreamTaskError,
        4,
        ("NotReady", StateType.PENDING),
        ("NotReady", StateType.PENDING),
    ) == guarded()


@dataclasses.dataclass
class Batch:
    size: int
    items: list


def test_futures_nested_in_arguments_are_resolved_also_for_plain_calls():
    """Futures inside lists, tuples, dicts, sets and dataclasses reach the task as results."""
    seen = {}

    @task
    def inspect_arguments(batch, pairs, mapping, unique):
        seen.update(batch=batch, pairs=pairs, mapping=mapping, unique=unique)
        return batch.size + sum(batch.items)

    @flow
    def nested():
        one, two = double.submit(1), double.submit(2)
        value = inspect_arguments(Batch(size=one, items=[two, 3]), (one, [two]), {"k": two}, {one})
        submitted = total.submit([one, two, double.submit(3)])
        return value, submitted.result()

    assert (2 + 4 + 3, 2 + 4 + 6) == nested()
    assert {
        "batch": Batch(size=2, items=[4, 3]),
        "pairs": (2, [4]),
        "mapping": {"k": 4},
        "unique": {2},
    } == seen


def test_async_tasks_resolve_nested_futures():
    """An async task's nested futures (of async tasks) are awaited before it runs."""

    @task
    async def async_double(x):
        return 2 * x

    @task
    async def async_total(values):
        return sum(values)

    @flow
    async def async_nested():
        futures = [async_double.submit(n) for n in (1, 2)]
        return await async_total([*futures, 10], wait_for=futures)

    assert 16 == asyncio.run(async_nested())


# -- tags and runtime -----------------------------------------------------------------


def test_tags_context_is_recorded_on_the_runs_spans(flowtel_telemetry):
    """Runs started inside `with tags(...)` carry those tags next to their decorator's."""

    @task(tags=["db"])
    def load():
        return runtime.task_run.tags

    @flow
    def tagged():
        return load()

    with tags("nightly"), tags("eu"):
        assert ["db", "nightly", "eu"] == tagged()
    assert ("nightly", "eu") == tuple(flowtel_telemetry.span("tagged").attributes["flowtel.tags"])
    assert ("db", "nightly", "eu") == tuple(
        flowtel_telemetry.span("load").attributes["flowtel.tags"]
    )


def test_runtime_reads_the_current_flow_and_task_run():
    """runtime.flow_run / task_run give the current runs' id, name and parameters."""

    @task(task_run_name="load-{day}")
    def load(day):
        return runtime.task_run.name, runtime.task_run.parameters, runtime.flow_run.parameters

    @flow(flow_run_name="daily-{day}")
    def daily(day: str, limit: int = 5):
        return runtime.flow_run.name, runtime.flow_run.flow_name, load(day)

    assert (
        "daily-mon",
        "daily",
        ("load-mon", {"day": "mon"}, {"day": "mon", "limit": 5}),
    ) == daily("mon")
    assert (None, None, {}) == (
        runtime.flow_run.id,
        runtime.task_run.name,
        runtime.flow_run.parameters,
    )


def test_runtime_tags_run_count_and_server_fields_of_flow_and_task_runs(delays):
    """tags (decorator's, then context's), run_count (attempts) and api_url/ui_url (None)."""
    attempts = []

    @task(tags=["io"], retries=1)
    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("once")
        run = runtime.task_run
        return run.tags, run.run_count, run.api_url, run.ui_url

    @flow(tags=["nightly"])
    def tagged():
        run = runtime.flow_run
        return run.tags, run.run_count, run.api_url, run.ui_url, run.job_variables, flaky()

    with tags("team-a"):
        assert (
            ["nightly", "team-a"],
            1,
            None,
            None,
            {},
            (["io", "team-a"], 2, None, None),
        ) == tagged()
    assert ([], 0, [], 0) == (
        runtime.flow_run.tags,
        runtime.flow_run.run_count,
        runtime.task_run.tags,
        runtime.task_run.run_count,
    )


def test_runtime_start_time_and_deployment_of_a_flow_run():
    """scheduled_start_time is the run's start (UTC); runtime.deployment is all None, as without one."""
    import datetime

    import flowtel
    import flowtel.prefect

    @flow
    def timed():
        deployment = runtime.deployment
        return (
            runtime.flow_run.scheduled_start_time,
            (deployment.id, deployment.name, deployment.version, deployment.flow_run_id),
            deployment.parameters,
        )

    before = datetime.datetime.now(datetime.timezone.utc)
    started, deployment_fields, deployment_parameters = timed()
    after = datetime.datetime.now(datetime.timezone.utc)
    assert (True, datetime.timezone.utc) == (before <= started <= after, started.tzinfo)
    assert ((None, None, None, None), {}) == (deployment_fields, deployment_parameters)
    assert None is runtime.flow_run.scheduled_start_time
    assert flowtel.__version__ == flowtel.prefect.__version__
    with pytest.raises(AttributeError, match="deployment has no attribute 'owner'"):
        runtime.deployment.owner  # noqa: B018


# -- hooks ------------------------------------------------------------------------------


def test_hooks_get_a_flow_run_with_name_id_and_parameters():
    """on_failure/on_completion hooks get (flow, flow_run, state) with Prefect's run fields."""
    calls = []

    def notify(flow_object, flow_run, state):
        calls.append((flow_object.name, flow_run.name, flow_run.parameters, str(state)))

    @flow(flow_run_name="nightly-{n}", on_completion=[notify], on_failure=[notify])
    def reported(n: int):
        if n < 0:
            raise ValueError("negative")
        return n

    reported(1)
    with pytest.raises(ValueError):
        reported(-1)
    assert [
        ("reported", "nightly-1", {"n": 1}, "Completed()"),
        (
            "reported",
            "nightly--1",
            {"n": -1},
            "Failed('Flow run encountered an exception: ValueError: negative')",
        ),
    ] == calls


def test_task_hook_gets_a_task_run():
    """A task's on_failure hook gets (task, task_run, state) with task_run.name."""
    calls = []

    @task(on_failure=[lambda t, run, state: calls.append((t.name, run.task_name, state.name))])
    def breaks():
        raise RuntimeError("no")

    @flow
    def host():
        return [breaks(return_state=True)]

    host()
    assert [("breaks", "breaks", "Failed")] == calls


def test_hooks_added_later_by_decorator_run_also_on_tasks_without_options_and_copies():
    """@t.on_completion on a plain task (no keyword: the core's fast path) runs, sync and async;
    with_options copies of tasks and flows keep the hooks added by decorators."""
    calls = []

    def record(owner, run, state):
        calls.append((owner.name, run.name, state.name))

    @task
    def plain(x):
        return x

    @task
    async def plain_async(x):
        return x

    assert (None, None) == (
        plain.task_definition.options,
        plain_async.task_definition.options,
    )  # no hook yet: no per-call hook dispatch
    assert 0 == plain(0)
    plain.on_completion(record)
    plain_async.on_completion(record)
    copy = plain.with_options(name="copy", task_run_name="copy-run")

    @flow(flow_run_name="flow-run")
    async def calls_them():
        return plain(1), await plain_async(2), copy(3)

    calls_them.on_completion(record)
    assert (1, 2, 3) == asyncio.run(calls_them.with_options(name="flow-copy")())
    assert [
        ("plain", "plain", "Completed"),
        ("plain_async", "plain_async", "Completed"),
        ("copy", "copy-run", "Completed"),
        ("flow-copy", "flow-run", "Completed"),
    ] == [
        (owner, name.split("-")[0] if name.startswith("plain") else name, state)
        for owner, name, state in calls
    ]


def test_a_hook_that_is_not_callable_is_refused_naming_it():
    """on_failure='x' (keyword or @task.on_failure) raises TypeError naming the value."""
    with pytest.raises(
        TypeError, match=r"@task\(on_failure=\.\.\.\) must be a callable .* str 'x'"
    ):
        task(on_failure="x")(lambda: None)
    with pytest.raises(TypeError, match=r"@flow\(on_running=\.\.\.\) .* got int 3"):
        flow(on_running=[print, 3])(lambda: None)
    with pytest.raises(TypeError, match=r"@hook\(on_completion=\.\.\.\) .* got NoneType"):
        double.on_completion([None])


def test_a_task_run_kept_after_its_flow_is_released_keeps_its_name_and_flow_run_id():
    """A finished task run outliving its flow keeps its 'name-abc' run name and its flow_run_id.

    The core lets a finished call hold its flow weakly; the run's Prefect name and the hook's
    task_run.flow_run_id must not turn into those of a task called outside any flow.
    """
    kept = {}

    def remember(_task, task_run, _state):
        kept["view"] = task_run

    @task(on_failure=[remember])
    def breaks():
        raise RuntimeError("no")

    @flow
    def host():
        kept["flow_run_id"] = runtime.flow_run.id
        kept["future"] = breaks.submit()
        kept["future"].wait()
        kept["name"] = kept["view"].name

    host()
    gc.collect()
    future, view = kept["future"], kept["view"]
    assert None is view.run.task_flow  # the flow is released: only the weak reference is left
    assert (kept["name"], kept["flow_run_id"]) == (view.name, view.flow_run_id)
    assert kept["name"].startswith("breaks-")
    state = double(1, wait_for=[future], return_state=True)
    assert f"Upstream task run {kept['name']!r} did not reach a 'COMPLETED' state." == state.message


# -- decorators -------------------------------------------------------------------------


def test_flow_over_classmethod():
    """@flow over @classmethod runs with the class bound, as in Prefect."""

    class Pipeline:
        factor = 3

        @flow
        @classmethod
        def run(cls, x):
            return cls.factor * x

    assert 6 == Pipeline.run(2)


def test_parameters_are_validated_and_coerced():
    """'41' becomes 41 for n: int; a value that does not fit raises ParameterTypeError."""

    @flow
    def increment(n: int, label: str = "x"):
        return n + 1, label

    assert (42, "x") == increment("41")
    with pytest.raises(ParameterTypeError, match="n: Input should be a valid integer"):
        increment("forty-one")

    @flow(validate_parameters=False)
    def passes_through(n: int):
        return n

    assert "41" == passes_through("41")


def test_with_options_copies_a_task_and_a_flow_with_other_settings(flowtel_telemetry):
    """with_options(name=..., tags=...) gives a renamed copy; the original is unchanged."""
    renamed = double.with_options(name="double-it", tags=["math"])

    @flow
    def uses_both():
        return double(1) + renamed(2)

    assert 6 == uses_both.with_options(name="copy")()
    assert ["double", "double-it", "copy"] == [s.name for s in flowtel_telemetry.spans]
    assert ("math",) == tuple(flowtel_telemetry.span("double-it").attributes["flowtel.tags"])
    with pytest.raises(TypeError, match="'cache_policy'"):
        double.with_options(cache_policy="inputs")


def test_timeouts_raise_prefect_named_errors():
    """Flow and task timeouts raise FlowRunTimeoutError / TaskRunTimeoutError (TimeoutErrors)."""

    @task(timeout_seconds=0.05)
    async def slow_task():
        await asyncio.sleep(2)

    @flow(timeout_seconds=0.05)
    async def slow_flow():
        await asyncio.sleep(2)

    @flow
    async def runs_slow_task():
        await slow_task()

    with pytest.raises(FlowRunTimeoutError):
        asyncio.run(slow_flow())
    with pytest.raises(TaskRunTimeoutError):
        asyncio.run(runs_slow_task())
    assert issubclass(FlowRunTimeoutError, TimeoutError)


def test_runtime_parent_and_root_flow_run_ids():
    """A subflow's runtime.flow_run knows its parent and root flow runs."""

    @flow
    def child():
        return runtime.flow_run.parent_flow_run_id, runtime.flow_run.root_flow_run_id

    @flow(version="2.1")
    def parent():
        return runtime.flow_run.id, runtime.flow_run.flow_version, child()

    own_id, version, (parent_id, root_id) = parent()
    assert (own_id, own_id, "2.1") == (parent_id, root_id, version)


def test_unprovided_flow_methods_raise_naming_the_feature():
    """flow.serve() / deploy() / visualize() raise NotImplementedError naming the feature."""

    @flow
    def served():
        return None

    with pytest.raises(NotImplementedError, match=r"flow.serve\(\) \(serving flows"):
        served.serve(name="x")
    with pytest.raises(NotImplementedError, match="flow visualisation"):
        served.visualize()


def test_map_waits_for_its_wait_for_futures():
    """map(..., wait_for=[f]) starts no mapped call before f is done and maps only the iterables."""
    order = []

    @task
    def first():
        time.sleep(0.05)
        order.append("first")

    @task
    def each(x):
        order.append(x)
        return x

    @flow
    def mapped():
        upstream = first.submit()
        return each.map([1, 2], wait_for=[upstream]).result()

    assert [1, 2] == mapped()
    assert ("first", {1, 2}) == (order[0], set(order[1:]))


def test_an_async_task_stopped_while_it_waits_for_an_allowed_upstream_never_runs():
    """A flow over its timeout stops an async task waiting on wait_for=[allow_failure(f)]: it never runs."""
    ran = []

    @task
    async def hangs():
        await asyncio.Event().wait()

    @task
    async def after():
        ran.append("after")

    @flow(timeout_seconds=0.1)
    async def times_out():
        upstream = hangs.submit()
        after.submit(wait_for=[allow_failure(upstream)])
        await asyncio.sleep(5)

    with pytest.raises(FlowRunTimeoutError):
        asyncio.run(times_out())
    assert [] == ran


def test_an_async_task_waits_for_every_call_of_a_map_given_in_wait_for():
    """wait_for=[mapped] makes an async task start after every mapped call has ended."""
    order = []

    @task
    async def step(delay):
        await asyncio.sleep(delay)
        order.append(delay)

    @task
    async def last():
        order.append("last")

    @flow
    async def ordered():
        mapped = step.map([0.05, 0.01])
        await last.submit(wait_for=[mapped])

    asyncio.run(ordered())
    assert [0.01, 0.05, "last"] == order


def test_quote_and_opaque_pass_values_without_looking_inside():
    """quote(x) reaches the task as x untouched; opaque(future) as the future's result, not walked."""
    from flowtel.prefect.utilities.annotations import opaque, quote

    seen = []

    @task
    def receive(value):
        seen.append(value)

    @flow
    def passes():
        future = double.submit(5)
        receive(quote([future]))
        receive(opaque(future))

    passes()
    assert (PrefectFuture, 10) == (type(seen[0][0]), seen[1])


def test_prefect_flows_run_every_submitted_task_at_once_by_default():
    """As in Prefect, the default ThreadPoolTaskRunner has no worker limit: 12 tasks overlap."""
    import threading

    barrier = threading.Barrier(12, timeout=5)

    @task
    def meet(_index):
        barrier.wait()  # fails unless all 12 run at the same time
        return 1

    @flow
    def gathering():
        return sum(meet.map(range(12)).result())

    assert 12 == gathering()
    assert "ThreadPoolTaskRunner(max_workers=None)" == repr(ThreadPoolTaskRunner())
