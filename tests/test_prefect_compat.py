"""Prefect-style flows (tests/prefect_style/) run on flowtel.prefect with only the import changed."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time

import pytest
from helpers import parent_id
from opentelemetry.trace import StatusCode
from prefect_style import (
    async_flows,
    concurrency,
    hooks,
    naming,
    quickstart,
    retries,
    run_logging,
    states,
    subflows,
    timeouts,
)

import flowtel._execution
import flowtel.prefect
from flowtel import State


@pytest.fixture
def brittle(delays):
    """The stand-in brittle service, reset; its failures are set per test."""
    retries.brittle_service.failures_left = 0
    retries.brittle_service.calls = 0
    return retries.brittle_service


# -- quickstart ------------------------------------------------------------------------


def test_quickstart_flow_runs_and_logs_task_prints(flowtel_telemetry, capsys):
    """The quickstart runs; a log_prints task's prints become OTel log records and show too."""
    repos = ["PrefectHQ/prefect", "pydantic/pydantic"]
    assert None is quickstart.github_stars(repos)
    assert (
        "PrefectHQ/prefect has 17000 stars!\npydantic/pydantic has 21000 stars!\n"
        == capsys.readouterr().out
    )
    root = flowtel_telemetry.span("GitHub Stars")
    assert ["get_stars", "get_stars"] == [s.name for s in flowtel_telemetry.children(root)]
    assert [
        "PrefectHQ/prefect has 17000 stars!",
        "pydantic/pydantic has 21000 stars!",
    ] == flowtel_telemetry.log_bodies()


def test_calling_a_flow_returns_its_result_and_return_state_a_state():
    """Calling a flow returns its value; return_state=True returns a completed State."""
    state = quickstart.github_stars(["PrefectHQ/prefect"], return_state=True)
    assert State is type(state)
    assert (True, False, None) == (state.is_completed(), state.is_failed(), state.result())


# -- retries ---------------------------------------------------------------------------


def test_task_retries_with_a_fixed_delay(flowtel_telemetry, brittle, delays):
    """retries=2, retry_delay_seconds=5: two failures are retried after 5 s each (fake clock)."""
    brittle.failures_left = 2
    assert None is retries.get_data_flow()
    assert (3, [5.0, 5.0]) == (brittle.calls, delays)
    span = flowtel_telemetry.span("get_data_task")
    events = [e for e in span.events if e.name == "flowtel.attempt.failed"]
    assert [("builtins.ConnectionError", "503 Service Unavailable")] * 2 == [
        (e.attributes["exception.type"], e.attributes["exception.message"]) for e in events
    ]
    assert ("success", 3) == (
        span.attributes["cicd.pipeline.task.run.result"],
        span.attributes["flowtel.task.attempts"],
    )


def test_task_out_of_retries_fails_the_flow(flowtel_telemetry, brittle, delays):
    """A task failing more often than its retries fails the flow; the state says so."""
    brittle.failures_left = 5
    state = retries.get_data_flow(return_state=True)
    assert (False, True) == (state.is_completed(), state.is_failed())
    with pytest.raises(ConnectionError, match="503 Service Unavailable"):
        state.result()
    assert (3, [5.0, 5.0]) == (brittle.calls, delays)
    assert "failure" == flowtel_telemetry.span("get_data_flow").attributes["cicd.pipeline.result"]


def test_retry_delay_list(brittle, delays):
    """retry_delay_seconds=[1, 10, 100] waits 1, 10, then 100 seconds (fake clock)."""
    brittle.failures_left = 3
    assert {"data": [1, 2, 3]} == retries.retry_delays_flow()
    assert [1.0, 10.0, 100.0] == delays


def test_retry_jitter_factor(brittle, delays):
    """retry_jitter_factor=1 on a 10 s delay keeps each delay within Prefect's bound of 20 s."""
    brittle.failures_left = 3
    assert {"data": [1, 2, 3]} == retries.retry_delays_flow(jitter=True)
    assert 3 == len(delays)
    assert [] == [d for d in delays if not 0 < d <= 20.0]


def test_flow_retries(flowtel_telemetry, brittle, delays):
    """A flow with retries=3 reruns its body; the flow span records the attempts."""
    brittle.failures_left = 2
    assert {"data": [1, 2, 3]} == retries.flaky_flow()
    assert [2.0, 2.0] == delays
    span = flowtel_telemetry.span("flaky_flow")
    assert (3, "success") == (
        span.attributes["flowtel.flow.attempts"],
        span.attributes["cicd.pipeline.result"],
    )


# -- concurrency -----------------------------------------------------------------------


def test_elevator_submits_on_a_three_worker_pool_and_waits(flowtel_telemetry):
    """The docs' elevator: 10 submitted tasks, at most 3 at once, all children of the flow."""
    concurrency.active.update(now=0, peak=0)
    assert list(range(10, 0, -1)) == concurrency.elevator()
    assert 3 == concurrency.active["peak"]
    root = flowtel_telemetry.span("elevator")
    children = flowtel_telemetry.children(root)
    assert ["stop_at_floor"] * 10 == [s.name for s in children]


def test_map_with_a_static_value_and_futures_result(flowtel_telemetry):
    """The docs' sum_it: map() over numbers with a static value, then futures.result()."""
    assert [6, 7, 8] == concurrency.sum_it([1, 2, 3], 5)
    assert 3 == len(flowtel_telemetry.spans_named("add_together"))


def test_map_with_unmapped():
    """The docs' unmapped example: the static iterable is passed whole to each call."""
    assert [10, 11, 12] == concurrency.sum_it_unmapped([4, 5, 6], [1, 2, 3])


def test_as_completed():
    """as_completed() yields every mapped future once."""
    assert [1, 4, 9, 16] == concurrency.first_come_first_served([4, 3, 2, 1])


def test_submit_and_result():
    """task.submit(...).result() returns the task's value."""
    assert "Hello, Marvin!" == concurrency.hello_submit()


# -- logging ---------------------------------------------------------------------------


def test_get_run_logger_in_flow_and_task(flowtel_telemetry):
    """get_run_logger() records become OTel log records on the flow's and the task's spans."""
    run_logging.log_flow("Marvin")
    flow_span = flowtel_telemetry.span("log_flow")
    task_span = flowtel_telemetry.span("log_task")
    records = [r.log_record for r in flowtel_telemetry.logs]
    assert [
        ("Hello from the flow, Marvin!", "INFO", flow_span.context.span_id),
        ("Hello Marvin!", "INFO", task_span.context.span_id),
        ("This is a warning from Marvin", "WARN", task_span.context.span_id),
    ] == [(r.body, r.severity_text, r.span_id) for r in records]


def test_log_prints_on_the_flow_captures_flow_and_task_prints(flowtel_telemetry, capsys):
    """@flow(log_prints=True): prints in the flow and in its tasks are logged, as in Prefect."""
    run_logging.my_flow()
    assert (
        "we're logging print statements from a flow\nwe're logging print statements from a task\n"
        == capsys.readouterr().out
    )
    assert [
        "we're logging print statements from a flow",
        "we're logging print statements from a task",
    ] == flowtel_telemetry.log_bodies()


def test_prints_are_not_captured_by_default(flowtel_telemetry, capsys):
    """Without log_prints, prints go to stdout (Prefect's default)."""
    run_logging.silent_flow()
    assert "not captured: log_prints is off by default\n" == capsys.readouterr().out
    assert [] == flowtel_telemetry.log_bodies()


# -- nested flows ----------------------------------------------------------------------


def test_subflow_is_a_child_span_of_the_calling_flow(flowtel_telemetry, capsys):
    """Calling a flow in a flow runs it as a subflow: its span is a child of the parent's."""
    assert len("Hello Marvin!") == subflows.hello_world("Marvin")
    root = flowtel_telemetry.span("Hello Flow")
    sub = flowtel_telemetry.span("Subflow")
    assert ["Print Hello", "Subflow"] == [s.name for s in flowtel_telemetry.children(root)]
    assert root.context.span_id == parent_id(sub)
    assert {root.context.trace_id} == {s.context.trace_id for s in flowtel_telemetry.spans}
    assert "Hello Marvin!\nSubflow says: Hello Marvin!\n" == capsys.readouterr().out


def test_subflow_return_state():
    """A subflow called with return_state=True returns its State."""
    state = subflows.my_subflow("hi", return_state=True)
    assert (True, 2) == (state.is_completed(), state.result())


# -- states ----------------------------------------------------------------------------


def test_task_return_state_lets_the_flow_carry_on(flowtel_telemetry, capsys):
    """A failed task called with return_state=True gives a failed State; the flow completes."""
    state = states.always_succeeds_flow(return_state=True)
    assert (True, "success") == (state.is_completed(), state.result())
    assert (
        "failure"
        == flowtel_telemetry.span("always_fails_task").attributes["cicd.pipeline.task.run.result"]
    )
    flow_span = flowtel_telemetry.span("always_succeeds_flow")
    assert ("success", 1) == (
        flow_span.attributes["cicd.pipeline.result"],
        flow_span.attributes["flowtel.flow.failed_tasks"],
    )
    assert "I'm fail safe!" in capsys.readouterr().out


def test_failed_flow_raises_or_returns_a_failed_state():
    """A failing flow raises its error; with return_state=True its State is failed."""
    with pytest.raises(ValueError, match="I fail successfully"):
        states.always_fails_flow()
    state = states.always_fails_flow(return_state=True)
    assert (False, True, "Failed") == (state.is_completed(), state.is_failed(), state.name)
    assert "ValueError: I fail successfully" == state.message
    with pytest.raises(ValueError, match="I fail successfully"):
        state.result()
    error = state.result(raise_on_failure=False)
    assert ValueError is type(error)


def test_state_result_without_raising():
    """state.result(raise_on_failure=False) returns the error for the flow to inspect."""
    assert "recovered from: I fail successfully" == states.state_inspection_flow()


# -- async -----------------------------------------------------------------------------


def test_async_flow_with_gathered_tasks(flowtel_telemetry, capsys):
    """asyncio.run(async_flow()) runs the async flow; gathered async tasks are its children."""
    assert [[1, 2], ["a", "b", "c", "d"], ["6", "7", "8", "9"]] == asyncio.run(
        async_flows.async_flow()
    )
    root = flowtel_telemetry.span("async_flow")
    assert ["print_values"] * 3 == [s.name for s in flowtel_telemetry.children(root)]
    assert sorted("1 2 a b c d 6 7 8 9".split()) == sorted(capsys.readouterr().out.split())


@pytest.mark.asyncio
async def test_async_subflows_and_return_state(flowtel_telemetry):
    """Async subflows gathered in an async flow; return_state works for async flows."""
    state = await async_flows.async_parent_flow(return_state=True)
    assert (True, 6) == (state.is_completed(), state.result())
    root = flowtel_telemetry.span("async_parent_flow")
    assert ["async_subflow", "async_subflow"] == [s.name for s in flowtel_telemetry.children(root)]


# -- names -----------------------------------------------------------------------------


def test_names_descriptions_tags_version_and_run_names(flowtel_telemetry):
    """Flow/task names, description, tags, version and run-name templates reach the spans."""
    thursday = datetime.datetime(2024, 1, 4, tzinfo=datetime.timezone.utc)
    assert "marvin on 2024-01-04" == naming.my_flow("marvin", thursday)
    flow_span = flowtel_telemetry.span("My Example Flow")
    task_span = flowtel_telemetry.span("My Example Task")
    assert {
        "flowtel.flow.run_name": "marvin-on-Thursday",
        "flowtel.flow.version": "1.0.3",
        "flowtel.description": "An example flow for a tutorial.",
        "flowtel.tags": ("tutorial", "examples"),
    } == {
        key: (tuple(value) if key == "flowtel.tags" else value)
        for key, value in flow_span.attributes.items()
        if key
        in (
            "flowtel.flow.run_name",
            "flowtel.flow.version",
            "flowtel.description",
            "flowtel.tags",
        )
    }
    assert ("hello-marvin-on-Thursday", "An example task for a tutorial.") == (
        task_span.attributes["flowtel.task.run_name"],
        task_span.attributes["flowtel.description"],
    )
    assert "My Example Flow" == naming.my_flow.name


def test_run_name_from_a_function(flowtel_telemetry):
    """task_run_name=<function> names the run with the function's return value."""
    assert 1 == naming.function_named_flow()
    span = flowtel_telemetry.span("named_by_function")
    assert "Friday-is-a-nice-day" == span.attributes["flowtel.task.run_name"]


# -- hooks -----------------------------------------------------------------------------


@pytest.fixture
def notifications():
    hooks.notifications.clear()
    hooks.received.clear()
    return hooks.notifications


def test_completion_and_failure_hooks(notifications):
    """on_completion runs after success, on_failure after failure, each once."""
    assert 42 == hooks.my_flow()
    with pytest.raises(RuntimeError, match="the flow broke"):
        hooks.my_flow(fail=True)
    assert [("success", "my_flow", "Completed"), "failure"] == [
        notifications[0],
        notifications[1][0],
    ]
    assert 2 == len(notifications)
    assert ("my_flow", "Failed") == notifications[1][1:3]
    assert "the flow broke" in notifications[1][3]


def test_hook_receives_the_decorated_flow(notifications):
    """A hook's first argument is the flow object the decorator returned (as in Prefect)."""
    hooks.my_flow()
    [(flow_object, _flow_run, state)] = hooks.received
    assert hooks.my_flow is flow_object
    assert True is state.is_completed()


def test_task_failure_hook_is_called_once_after_retries(notifications, delays):
    """A task's on_failure hook runs once, after its last retry."""
    with pytest.raises(ValueError, match="task broke"):
        hooks.flow_with_failing_task()
    assert [("task failure", "failing_task", "Failed")] == notifications
    assert [] == delays


# -- timeouts --------------------------------------------------------------------------


def test_sync_flow_timeout(flowtel_telemetry):
    """A sync flow over timeout_seconds ends promptly as TimedOut; its thread finishes later."""
    started = time.perf_counter()
    state = timeouts.show_timeouts(return_state=True)
    assert time.perf_counter() - started < 0.9
    assert (True, "TimedOut") == (state.is_failed(), state.name)
    with pytest.raises(TimeoutError):
        state.result()
    span = flowtel_telemetry.span("show_timeouts")
    assert ("timeout", StatusCode.ERROR) == (
        span.attributes["cicd.pipeline.result"],
        span.status.status_code,
    )
    assert [
        "I will execute",
        "Flow 'show_timeouts' failed: TimeoutError: flow 'show_timeouts' timed out after 0.2 s",
    ] == flowtel_telemetry.log_bodies()
    # the body keeps running on its daemon thread until time.sleep returns
    for thread in threading.enumerate():
        if thread.name == "flowtel-timeout:show_timeouts":
            thread.join(5)
            assert False is thread.is_alive()


def test_async_task_timeout_gives_a_timed_out_state(flowtel_telemetry):
    """An async task over its timeout is cancelled; return_state shows TimedOut."""
    assert ("TimedOut", True) == asyncio.run(timeouts.async_timeout_flow())
    span = flowtel_telemetry.span("slow_async_task")
    assert "timeout" == span.attributes["cicd.pipeline.task.run.result"]


# -- what is outside the common subset -------------------------------------------------


@pytest.mark.parametrize(
    ("decorator", "keyword", "value"),
    [
        (flowtel.prefect.task, "cache_key_fn", lambda *a: "key"),
        (flowtel.prefect.task, "persist_result", True),
        (flowtel.prefect.task, "retry_condition_fn", lambda *a: True),
        (flowtel.prefect.flow, "on_cancellation", [print]),
        (flowtel.prefect.flow, "validate_parameters", False),
    ],
)
def test_prefect_keywords_without_a_flowtel_equivalent_are_refused(decorator, keyword, value):
    """A Prefect keyword flowtel does not support raises TypeError naming it."""
    with pytest.raises(TypeError, match=f"does not support '{keyword}'"):

        @decorator(**{keyword: value})
        def fn():
            return None


def test_prefect_module_exports_the_documented_names():
    """flowtel.prefect offers flow, task, get_run_logger, ThreadPoolTaskRunner, wait, unmapped."""
    expected = {
        "flow",
        "task",
        "get_run_logger",
        "ThreadPoolTaskRunner",
        "wait",
        "unmapped",
        "as_completed",
    }
    assert set() == expected - set(flowtel.prefect.__all__)


def test_tasks_run_outside_a_flow(capsys):
    """As in Prefect 3, a task can be called outside any flow; return_state works there too."""
    assert "success" == states.always_succeeds_task()
    state = states.always_fails_task(return_state=True)
    assert (True, "Failed") == (state.is_failed(), state.name)
    assert "I'm fail safe!\n" == capsys.readouterr().out
