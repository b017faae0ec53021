"""Retries, retry delays, timeouts and hooks, sync and async, checked through telemetry.

Retry delays use a fake clock: ``flowtel._execution.sleep`` / ``async_sleep`` are replaced,
so no test waits for real seconds. Every failed attempt that is retried is one
``flowtel.attempt.failed`` event on the run's span (exception type, message, stacktrace,
attempt number); the span's status and result are those of the last attempt only.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from helpers import (
    Blocker,
    Flaky,
    assert_times_out_promptly,
    raises_timeout_promptly,
    sleep_noting_cancellation,
)
from opentelemetry.trace import StatusCode

from flowtel import flow, get_run_logger, task

ATTEMPT_EVENT = "flowtel.attempt.failed"


def events_named(span, name):
    return [event for event in span.events if event.name == name]


def attempt_events(span):
    return events_named(span, ATTEMPT_EVENT)


# -- retries: sync tasks ---------------------------------------------------------------


def test_sync_task_retry_attempts_are_span_events_and_the_last_attempt_decides(
    flowtel_telemetry, delays
):
    """Two failed attempts then success: two attempt events, result success, attempts=3."""
    flaky = Flaky(2, "loaded")

    @task(retries=3, retry_delay_seconds=[1, 2, 4])
    def load():
        return flaky.step()

    @flow()
    def etl():
        return load()

    run = etl().execute()
    assert "loaded" == run.flow_return_value
    span = flowtel_telemetry.span("load")
    events = attempt_events(span)
    assert [1, 2] == [e.attributes["flowtel.attempt"] for e in events]
    assert ["builtins.ValueError"] * 2 == [e.attributes["exception.type"] for e in events]
    assert ["failure 1", "failure 2"] == [e.attributes["exception.message"] for e in events]
    assert [1.0, 2.0] == [e.attributes["flowtel.retry.delay"] for e in events]
    for event, message in zip(events, ["failure 1", "failure 2"], strict=True):
        stacktrace = event.attributes["exception.stacktrace"]
        assert stacktrace.startswith("Traceback (most recent call last):")
        assert f"ValueError: {message}" in stacktrace
        assert "in step" in stacktrace
    assert "success" == span.attributes["cicd.pipeline.task.run.result"]
    assert 3 == span.attributes["flowtel.task.attempts"]
    assert StatusCode.UNSET == span.status.status_code
    assert [] == events_named(span, "exception")
    assert "error.type" not in span.attributes
    assert [1.0, 2.0] == delays


def test_sync_task_failing_every_attempt_reports_only_the_last_error(flowtel_telemetry, delays):
    """All attempts fail: status ERROR with the last attempt's error, one exception event."""
    flaky = Flaky(10)

    @task(retries=2)
    def load():
        return flaky.step()

    @flow()
    def etl():
        load()

    with pytest.raises(ValueError, match="failure 3"):
        etl().execute()
    span = flowtel_telemetry.span("load")
    assert [1, 2] == [e.attributes["flowtel.attempt"] for e in attempt_events(span)]
    assert (StatusCode.ERROR, "ValueError: failure 3") == (
        span.status.status_code,
        span.status.description,
    )
    exceptions = events_named(span, "exception")
    assert ["failure 3"] == [e.attributes["exception.message"] for e in exceptions]
    assert "failure" == span.attributes["cicd.pipeline.task.run.result"]
    assert 3 == span.attributes["flowtel.task.attempts"]
    assert [] == delays


def test_retry_messages_are_warnings_in_the_runs_log(delays):
    """Each retried attempt writes a WARNING message naming attempt, error and delay."""
    flaky = Flaky(2)

    @task(retries=2, retry_delay_seconds=5)
    def load():
        return flaky.step()

    @flow()
    def etl():
        load()

    run = etl().execute()
    warnings = [(e.level, e.task_name, e.text) for e in run.log_entries() if e.level >= 30]
    assert [
        (30, "load", "Task 'load' attempt 1 of 3 failed: ValueError: failure 1; retrying in 5 s"),
        (30, "load", "Task 'load' attempt 2 of 3 failed: ValueError: failure 2; retrying in 5 s"),
    ] == warnings


def test_task_attempts_metric_records_attempts_per_run(flowtel_telemetry, delays):
    """The flowtel.task.attempts histogram gets one point per run: its number of attempts."""
    first, second = Flaky(2), Flaky(0)

    @task(retries=3)
    def load(flaky):
        return flaky.step()

    @flow()
    def etl():
        load(first)
        load(second)

    etl().execute()
    points = flowtel_telemetry.metric_points("flowtel.task.attempts")
    assert [
        (
            {
                "cicd.pipeline.name": "etl",
                "cicd.pipeline.task.name": "load",
                "cicd.pipeline.task.run.result": "success",
            },
            2,
            4,
        )
    ] == [(p.attributes, p.count, p.sum) for p in points]
    spans = sorted(flowtel_telemetry.spans_named("load"), key=lambda s: s.start_time)
    assert [3, None] == [s.attributes.get("flowtel.task.attempts") for s in spans]


def test_a_single_attempt_has_no_attempt_events_or_attempts_attribute(flowtel_telemetry):
    """A run that succeeds first time has no attempt events and no flowtel.task.attempts."""

    @task(retries=3)
    def fine():
        return 1

    @flow()
    def etl():
        fine()

    etl().execute()
    span = flowtel_telemetry.span("fine")
    assert ([], None) == (attempt_events(span), span.attributes.get("flowtel.task.attempts"))


def test_retries_rerun_the_function_with_the_same_arguments(delays):
    """Every attempt gets the same arguments as the call."""
    seen = []

    @task(retries=2)
    def load(table, limit=10):
        seen.append((table, limit))
        if len(seen) < 3:
            raise ConnectionError("db away")
        return len(seen)

    @flow()
    def etl():
        return load("orders", limit=5)

    assert 3 == etl().execute().flow_return_value
    assert [("orders", 5)] * 3 == seen


# -- retries: async tasks --------------------------------------------------------------


def test_async_task_retries_use_async_sleep_and_record_attempts(flowtel_telemetry, delays):
    """An async task retries with the async sleep; attempts and events as for sync tasks."""
    flaky = Flaky(2, "fetched")

    @task(retries=2, retry_delay_seconds=[0.5, 30])
    async def fetch():
        await asyncio.sleep(0)
        return flaky.step()

    @flow()
    async def crawl():
        return await fetch()

    run = crawl().execute()
    assert "fetched" == run.flow_return_value
    assert [0.5, 30.0] == delays
    span = flowtel_telemetry.span("fetch")
    assert [1, 2] == [e.attributes["flowtel.attempt"] for e in attempt_events(span)]
    assert ("success", 3) == (
        span.attributes["cicd.pipeline.task.run.result"],
        span.attributes["flowtel.task.attempts"],
    )


@pytest.mark.asyncio
async def test_async_task_failing_every_attempt_raises_the_last_error(flowtel_telemetry, delays):
    """An async task out of retries raises the last attempt's error; span shows failure."""
    flaky = Flaky(5)

    @task(retries=1, retry_delay_seconds=2)
    async def fetch():
        return flaky.step()

    @flow()
    async def crawl():
        await fetch()

    with pytest.raises(ValueError, match="failure 2"):
        await crawl().execute_async()
    span = flowtel_telemetry.span("fetch")
    assert (1, "failure", "ValueError: failure 2") == (
        len(attempt_events(span)),
        span.attributes["cicd.pipeline.task.run.result"],
        span.status.description,
    )
    assert [2.0] == delays


# -- retries: flows --------------------------------------------------------------------


def test_sync_flow_retries_rerun_the_body_and_record_attempts(flowtel_telemetry, delays):
    """A flow with retries reruns its body; attempt events and flowtel.flow.attempts on its span."""
    flaky = Flaky(1, "flow done")

    @task()
    def step():
        return "step"

    @flow(retries=2, retry_delay_seconds=10)
    def pipeline():
        step()
        return flaky.step()

    run = pipeline().execute()
    assert ("completed", "flow done", 2) == (run.flow_status, run.flow_return_value, run.attempts)
    span = flowtel_telemetry.span("pipeline")
    events = attempt_events(span)
    assert [(1, "failure 1")] == [
        (e.attributes["flowtel.attempt"], e.attributes["exception.message"]) for e in events
    ]
    assert ("success", 2) == (
        span.attributes["cicd.pipeline.result"],
        span.attributes["flowtel.flow.attempts"],
    )
    assert StatusCode.UNSET == span.status.status_code
    assert ["step", "step"] == [s.name for s in flowtel_telemetry.children(span)]
    assert [10.0] == delays


def test_sync_flow_failing_every_attempt_is_a_failure_of_the_last_attempt(
    flowtel_telemetry, delays
):
    """A flow out of retries fails with its last attempt's error."""
    flaky = Flaky(9)

    @flow(retries=2, retry_delay_seconds=[1, 2])
    def pipeline():
        return flaky.step()

    with pytest.raises(ValueError, match="failure 3"):
        pipeline().execute()
    span = flowtel_telemetry.span("pipeline")
    assert [1, 2] == [e.attributes["flowtel.attempt"] for e in attempt_events(span)]
    assert ("failure", "ValueError: failure 3", 3) == (
        span.attributes["cicd.pipeline.result"],
        span.status.description,
        span.attributes["flowtel.flow.attempts"],
    )
    assert [1.0, 2.0] == delays


def test_async_flow_retries_use_async_sleep(flowtel_telemetry, delays):
    """An async flow retries its body with the async sleep and records the attempts."""
    flaky = Flaky(2, "async flow done")

    @flow(retries=2, retry_delay_seconds=[3, 6])
    async def pipeline():
        await asyncio.sleep(0)
        return flaky.step()

    run = pipeline().execute()
    assert ("async flow done", 3) == (run.flow_return_value, run.attempts)
    assert [3.0, 6.0] == delays
    span = flowtel_telemetry.span("pipeline")
    assert [1, 2] == [e.attributes["flowtel.attempt"] for e in attempt_events(span)]
    assert 3 == span.attributes["flowtel.flow.attempts"]


# -- delays ----------------------------------------------------------------------------


def test_no_delay_configured_means_no_sleep(delays):
    """retries without retry_delay_seconds retry at once: the sleep is never called."""
    flaky = Flaky(3)

    @task(retries=3)
    def load():
        return flaky.step()

    @flow()
    def etl():
        return load()

    assert "ok" == etl().execute().flow_return_value
    assert [] == delays


def test_delay_list_is_used_in_order_and_only_for_retries_that_happen(delays):
    """A delay list is consumed in order; a run that succeeds early uses only the first delays."""
    flaky = Flaky(2)

    @task(retries=4, retry_delay_seconds=[2, 4, 8, 16])
    def load():
        return flaky.step()

    @flow()
    def etl():
        return load()

    etl().execute()
    assert [2.0, 4.0] == delays


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_jitter_stays_within_bounds(delays, kind):
    """retry_jitter_factor=0.2 on a 100 s delay gives varied delays in (0, 120]."""
    flaky = Flaky(40)
    options = {"retries": 40, "retry_delay_seconds": 100, "retry_jitter_factor": 0.2}
    if kind == "sync":

        @task(**options)
        def load():
            return flaky.step()

        @flow()
        def etl():
            return load()
    else:

        @task(**options)
        async def load():
            return flaky.step()

        @flow()
        async def etl():
            return await load()

    etl().execute()
    assert 40 == len(delays)
    assert [] == [d for d in delays if not 0 < d <= 120.0]
    assert 1 < len(set(delays))


def test_jitter_factor_zero_keeps_exact_delays(delays):
    """retry_jitter_factor=0 leaves the configured delays exact."""
    flaky = Flaky(3)

    @task(retries=3, retry_delay_seconds=[1, 2, 3], retry_jitter_factor=0)
    def load():
        return flaky.step()

    @flow()
    def etl():
        return load()

    etl().execute()
    assert [1.0, 2.0, 3.0] == delays


# -- timeouts: async -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_task_over_its_timeout_is_cancelled(flowtel_telemetry):
    """An async task over timeout_seconds is cancelled (it sees CancelledError); caller gets TimeoutError."""
    seen = []

    @task(timeout_seconds=0.1)
    async def slow():
        await sleep_noting_cancellation(seen)

    @flow()
    async def crawl():
        await slow()

    with raises_timeout_promptly(r"task 'slow' timed out after 0.1 s"):
        await crawl().execute_async()
    assert ["cancelled"] == seen
    span = flowtel_telemetry.span("slow")
    assert ("timeout", StatusCode.ERROR, "flowtel.TaskRunTimeoutError") == (
        span.attributes["cicd.pipeline.task.run.result"],
        span.status.status_code,
        span.attributes["error.type"],
    )


def test_async_flow_over_its_timeout_is_cancelled(flowtel_telemetry):
    """An async flow over timeout_seconds is cancelled; its span's result is timeout."""
    seen = []

    @flow(timeout_seconds=0.1)
    async def crawl():
        await sleep_noting_cancellation(seen)

    run = crawl()
    with raises_timeout_promptly(r"flow 'crawl' timed out after 0.1 s"):
        run.execute()
    assert ["cancelled"] == seen
    assert ("failed", "TimedOut") == (run.flow_status, run.state.name)
    span = flowtel_telemetry.span("crawl")
    assert ("timeout", StatusCode.ERROR) == (
        span.attributes["cicd.pipeline.result"],
        span.status.status_code,
    )


def test_task_running_when_its_async_flow_times_out_is_cancelled(flowtel_telemetry):
    """The task an async flow awaits when the flow times out is cancelled with it."""

    @task()
    async def slow_step():
        await asyncio.sleep(5)

    @flow(timeout_seconds=0.1)
    async def crawl():
        await slow_step()

    with pytest.raises(TimeoutError):
        crawl().execute()
    assert (
        "cancellation"
        == flowtel_telemetry.span("slow_step").attributes["cicd.pipeline.task.run.result"]
    )
    assert "timeout" == flowtel_telemetry.span("crawl").attributes["cicd.pipeline.result"]


def test_async_flow_timeout_cancels_the_tasks_it_submitted(flowtel_telemetry):
    """An async flow over its limit is cancelled together with the async tasks it submitted."""
    seen = []

    @task()
    async def background():
        await sleep_noting_cancellation(seen, 2)

    @flow(timeout_seconds=0.1)
    async def crawl():
        background.submit()
        await asyncio.sleep(5)

    with raises_timeout_promptly():
        crawl().execute()
    assert ["cancelled"] == seen
    assert (
        "cancellation"
        == flowtel_telemetry.span("background").attributes["cicd.pipeline.task.run.result"]
    )


# -- timeouts: sync --------------------------------------------------------------------


def test_sync_task_over_its_timeout_raises_promptly_while_its_thread_runs_on(flowtel_telemetry):
    """A sync task over its limit: TimeoutError at once; its thread runs on, result dropped."""
    # Python cannot stop a thread: the function keeps running in the background until it
    # returns by itself (here: once it is released), and what it returns is dropped.
    work = Blocker()

    @task(timeout_seconds=0.2)
    def slow():
        work.wait()
        return "late value"

    @flow()
    def etl():
        return slow()

    run = etl()
    assert_times_out_promptly(run, r"task 'slow' timed out after 0.2 s", work, at_least=0.15)
    task_run = run.executed_tasks[0]
    assert ("failed", None, "TimedOut") == (
        task_run.status,
        task_run.task_return_value,
        task_run.state.name,
    )
    span = flowtel_telemetry.span("slow")
    assert ("timeout", "TaskRunTimeoutError: task 'slow' timed out after 0.2 s") == (
        span.attributes["cicd.pipeline.task.run.result"],
        span.status.description,
    )
    runs = flowtel_telemetry.metric_points("flowtel.task.runs")
    assert ["timeout"] == [p.attributes["cicd.pipeline.task.run.result"] for p in runs]


def test_sync_flow_over_its_timeout_raises_promptly(flowtel_telemetry):
    """A sync flow over its limit: the caller gets TimeoutError at once; result timeout."""
    work = Blocker()

    @flow(timeout_seconds=0.2)
    def etl():
        work.wait()

    run = etl()
    assert_times_out_promptly(run, r"flow 'etl' timed out after 0.2 s", work)
    assert ("failed", "TimedOut") == (run.flow_status, run.state.name)
    span = flowtel_telemetry.span("etl")
    assert ("timeout", StatusCode.ERROR, "flowtel.FlowRunTimeoutError") == (
        span.attributes["cicd.pipeline.result"],
        span.status.status_code,
        span.attributes["error.type"],
    )


def test_sync_flow_timeout_does_not_wait_for_the_tasks_it_submitted():
    """A sync flow over its limit raises TimeoutError promptly even with submitted tasks running."""
    release = threading.Event()

    @task()
    def background():
        release.wait(2)

    @flow(timeout_seconds=0.2)
    def etl():
        background.submit()
        release.wait(2)

    try:
        with raises_timeout_promptly():
            etl().execute()
    finally:
        release.set()


def test_tasks_and_logger_inside_a_timed_sync_task_belong_to_it(flowtel_telemetry):
    """Timed sync runs carry their context: nested tasks and run-logger records belong to them."""

    @task()
    def inner():
        return 1

    @task(timeout_seconds=5)
    def outer():
        get_run_logger().info("inside the timed task")
        return inner() + 1

    @flow(timeout_seconds=5)
    def etl():
        return outer()

    run = etl().execute()
    assert 2 == run.flow_return_value
    root = flowtel_telemetry.span("etl")
    outer_span = flowtel_telemetry.span("outer")
    assert ["outer"] == [s.name for s in flowtel_telemetry.children(root)]
    assert ["inner"] == [s.name for s in flowtel_telemetry.children(outer_span)]
    [record] = [r.log_record for r in flowtel_telemetry.logs]
    assert ("inside the timed task", outer_span.context.span_id) == (record.body, record.span_id)


def test_sync_task_within_its_timeout_returns_normally(flowtel_telemetry):
    """A sync task that finishes within timeout_seconds returns its value; result success."""

    @task(timeout_seconds=5)
    def quick(x):
        return x * 2

    @flow()
    def etl():
        return quick(4)

    assert 8 == etl().execute().flow_return_value
    assert "success" == flowtel_telemetry.span("quick").attributes["cicd.pipeline.task.run.result"]


def test_timed_out_attempt_is_retried_and_the_last_attempt_decides(flowtel_telemetry, delays):
    """A timed-out attempt is retried; a successful last attempt makes the result success."""
    attempts = []

    @task(retries=1, timeout_seconds=0.1)
    async def fetch():
        attempts.append(1)
        if len(attempts) == 1:
            await asyncio.sleep(5)
        return "second try"

    @flow()
    async def crawl():
        return await fetch()

    assert "second try" == crawl().execute().flow_return_value
    span = flowtel_telemetry.span("fetch")
    events = attempt_events(span)
    assert [("flowtel.TaskRunTimeoutError", "task 'fetch' timed out after 0.1 s")] == [
        (e.attributes["exception.type"], e.attributes["exception.message"]) for e in events
    ]
    assert ("success", StatusCode.UNSET) == (
        span.attributes["cicd.pipeline.task.run.result"],
        span.status.status_code,
    )


@pytest.mark.parametrize(
    ("last_attempt_times_out", "result"), [(True, "timeout"), (False, "failure")]
)
def test_result_is_timeout_only_when_the_last_attempt_timed_out(
    flowtel_telemetry, delays, last_attempt_times_out, result
):
    """failure then timeout gives result timeout; timeout then failure gives failure."""
    attempts = []

    @task(retries=1, timeout_seconds=0.1)
    async def fetch():
        attempts.append(1)
        if (len(attempts) == 2) == last_attempt_times_out:
            await asyncio.sleep(5)
        raise ValueError("bad page")

    @flow()
    async def crawl():
        await fetch()

    with pytest.raises((TimeoutError, ValueError)):
        crawl().execute()
    span = flowtel_telemetry.span("fetch")
    assert result == span.attributes["cicd.pipeline.task.run.result"]


# -- hooks -----------------------------------------------------------------------------


def test_task_hook_is_called_once_per_run_not_per_attempt(delays):
    """With retries, on_completion runs once, after the last attempt, with that run's state."""
    calls = []
    flaky = Flaky(2, "v")

    @task(retries=2, on_completion=lambda fn, run, state: calls.append((fn, run, state)))
    def load():
        return flaky.step()

    @flow()
    def etl():
        return load()

    run = etl().execute()
    assert [(load, run.executed_tasks[0])] == [(c[0], c[1]) for c in calls]
    assert ("Completed", "v") == (calls[0][2].name, calls[0][2].result())


def test_task_failure_hook_is_called_once_after_all_attempts(delays):
    """on_failure runs once, when the last attempt has failed; state holds the last error."""
    calls = []
    flaky = Flaky(10)

    @task(retries=2, on_failure=[lambda fn, run, state: calls.append(state)])
    def load():
        return flaky.step()

    @flow()
    def etl():
        load()

    with pytest.raises(ValueError):
        etl().execute()
    assert ["ValueError: failure 3"] == [state.message for state in calls]


def test_async_task_hooks_are_called_once():
    """An async task's on_completion and on_failure hooks are called once per run."""
    calls = []

    def record(fn, run, state):
        calls.append((fn.name, state.type))

    @task(on_completion=record, on_failure=record, raise_on_error=False)
    async def fetch(fail):
        if fail:
            raise ValueError("nope")
        return 1

    @flow()
    async def crawl():
        await fetch(False)
        await fetch(True)

    crawl().execute()
    assert [("fetch", "COMPLETED"), ("fetch", "FAILED")] == calls


def test_flow_hooks_are_called_once_per_run_with_retries(delays):
    """A retried flow calls on_failure once per run (not per attempt); each run gets its own."""
    calls = []

    @flow(retries=2, on_failure=lambda fn, run, state: calls.append((fn, run, state.name)))
    def pipeline():
        raise RuntimeError("down")

    first, second = pipeline(), pipeline()
    for run in (first, second):
        with pytest.raises(RuntimeError):
            run.execute()
    assert [(pipeline, first, "Failed"), (pipeline, second, "Failed")] == calls


def test_async_flow_completion_hook_is_called_once():
    """An async flow's on_completion hook is called once with the completed state."""
    calls = []

    @flow(on_completion=lambda fn, run, state: calls.append(state.result()))
    async def crawl():
        return "pages"

    crawl().execute()
    assert ["pages"] == calls


def test_timeout_calls_the_failure_hook_with_a_timed_out_state():
    """A timed-out run is failed: on_failure gets a state named TimedOut."""
    states = []

    @flow(timeout_seconds=0.05, on_failure=lambda fn, run, state: states.append(state))
    async def crawl():
        await asyncio.sleep(5)

    with pytest.raises(TimeoutError):
        crawl().execute()
    assert [("TimedOut", True)] == [(s.name, s.is_failed()) for s in states]


def test_a_raising_completion_hook_does_not_change_the_outcome(flowtel_telemetry):
    """A completion hook that raises is reported; the run stays completed, later hooks run."""
    calls = []

    def broken(fn, run, state):
        raise RuntimeError("hook bug")

    @task(on_completion=[broken, lambda fn, run, state: calls.append("second hook")])
    def load():
        return 5

    @flow(on_completion=[broken])
    def etl():
        return load()

    run = etl().execute()
    assert ("completed", 5) == (run.flow_status, run.flow_return_value)
    assert ["second hook"] == calls
    assert "completed" == run.executed_tasks[0].status
    hook_messages = [m for m in run.log_messages() if "raised" in m]
    assert 2 == len(hook_messages)
    assert [True, True] == ["broken" in m and "RuntimeError: hook bug" in m for m in hook_messages]
    assert "success" == flowtel_telemetry.span("etl").attributes["cicd.pipeline.result"]
    assert "success" == flowtel_telemetry.span("load").attributes["cicd.pipeline.task.run.result"]


def test_a_raising_failure_hook_does_not_replace_the_error():
    """A failure hook that raises leaves the run's own error to propagate, unchanged."""
    error = LookupError("original")

    def broken(fn, run, state):
        raise RuntimeError("hook bug")

    @flow(on_failure=broken)
    def etl():
        raise error

    run = etl()
    with pytest.raises(LookupError) as raised:
        run.execute()
    assert error is raised.value
    assert error is run.flow_error
