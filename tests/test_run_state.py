"""Run state survives anything user code or a listener raises; hostile calls still leave a span.

End-to-end over the engine (Flow, Task, events) and the telemetry mapping: whatever
``BaseException`` comes out of a flow, a task, a listener or an object's ``__str__``, the
caller gets that exception, the span is ended and exported, the next flow is a new root,
and ``sys.stdout`` is what it was.
"""

from __future__ import annotations

import asyncio
import sys

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import flowtel
from flowtel import (
    Flow,
    Flow_Run__Event_Type,
    Task,
    flow,
    flow_events,
    get_current_flow,
    get_current_task,
    task,
)

T = Flow_Run__Event_Type


class UnprintableError(Exception):
    """An exception whose ``__str__`` raises."""

    def __str__(self):
        raise RuntimeError("__str__ is broken")


class Unprintable:
    """A value whose ``__str__`` and ``__repr__`` raise."""

    def __str__(self):
        raise ValueError("no str")

    def __repr__(self):
        raise ValueError("no repr")


def assert_run_state_restored(stdout):
    """No current flow, task or span is left set, and stdout is the one from before."""
    assert (None, None) == (get_current_flow(), get_current_task())
    assert False is trace.get_current_span().get_span_context().is_valid
    assert stdout is sys.stdout


def assert_next_flow_is_a_root_and_prints(flowtel_telemetry, capsys):
    """A flow run after the failure is a root span, and print() outside runs reaches stdout."""
    after().execute()
    assert None is flowtel_telemetry.span("after").parent
    print("printed after the run")
    assert "printed after the run" in capsys.readouterr().out


@flow
def after():
    return 1


# -- exceptions whose __str__ raises -------------------------------------------------------------


@task
def failing_task(error):
    raise error


@task
async def failing_async_task(error):
    raise error


@flow
def flow_raising(error):
    raise error


@flow
async def async_flow_raising(error):
    raise error


@flow
def flow_with_failing_task(error):
    failing_task(error)


@flow
async def async_flow_with_failing_task(error):
    await failing_async_task(error)


@pytest.mark.parametrize(
    "make_run, failed_span",
    [
        (flow_raising, "flow_raising"),
        (async_flow_raising, "async_flow_raising"),
        (flow_with_failing_task, "failing_task"),
        (async_flow_with_failing_task, "failing_async_task"),
    ],
)
def test_an_exception_whose_str_raises_reaches_the_caller(
    flowtel_telemetry, capsys, make_run, failed_span
):
    """The caller gets the exception object itself; its span is exported as an error."""
    stdout = sys.stdout
    error = UnprintableError()
    with pytest.raises(UnprintableError) as raised:
        make_run(error).execute()
    assert error is raised.value
    span = flowtel_telemetry.span(failed_span)
    assert StatusCode.ERROR == span.status.status_code
    assert "UnprintableError: <unprintable UnprintableError" in span.status.description
    assert_run_state_restored(stdout)
    assert_next_flow_is_a_root_and_prints(flowtel_telemetry, capsys)


def test_a_task_outside_a_flow_with_an_unprintable_exception(flowtel_telemetry):
    """A task called outside any flow also re-raises it and exports its span."""
    stdout = sys.stdout
    error = UnprintableError()
    with pytest.raises(UnprintableError):
        failing_task(error)
    assert StatusCode.ERROR == flowtel_telemetry.span("failing_task").status.status_code
    assert_run_state_restored(stdout)


@task
def returns_unprintable():
    return Unprintable()


@flow(flow_config=flowtel.Flow_Run__Config(print_none_return_value=True))
def flow_returning_unprintable():
    returns_unprintable()
    return Unprintable()


def test_unprintable_return_values_complete_the_run(flowtel_telemetry, events):
    """Return values whose __str__ raises are logged as stand-ins; the run completes."""
    run = flow_returning_unprintable().execute()
    assert "completed" == run.flow_status
    texts = run.log_messages()
    assert any(t.startswith("Task return value: <unprintable Unprintable") for t in texts)
    assert any(t.startswith("Flow return value: <unprintable Unprintable") for t in texts)
    assert ["flow-return-value"] == [result["key"] for result in run.flow_results]
    assert (
        "success"
        == flowtel_telemetry.span("returns_unprintable").attributes["cicd.pipeline.task.run.result"]
    )


# -- listeners raising BaseException -----------------------------------------------------------


@task
def quiet_task():
    return 2


@task
async def quiet_async_task():
    return 2


@flow
def flow_with_task():
    print("inside the flow")
    return quiet_task()


@flow
async def async_flow_with_task():
    print("inside the flow")
    return await quiet_async_task()


def raising_on(event_type, exception_type):
    """A listener that raises ``exception_type`` on the first event of ``event_type``."""
    raised = []

    def listener(event):
        if event.event_type is event_type and not raised:
            raised.append(event)
            raise exception_type("listener stops here")

    return listener


@pytest.mark.parametrize("exception_type", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize(
    "event_type", [T.FLOW_START, T.TASK_START, T.FLOW_MESSAGE, T.TASK_STOP, T.FLOW_STOP]
)
@pytest.mark.parametrize("make_run", [flow_with_task, async_flow_with_task])
def test_a_listener_raising_base_exception_restores_the_run_state(
    flowtel_telemetry, capsys, make_run, event_type, exception_type
):
    """The listener's exception propagates; spans are ended and exported; state is restored."""
    stdout = sys.stdout
    flow_events.event_listeners.append(raising_on(event_type, exception_type))
    with pytest.raises(exception_type, match="listener stops here"):
        make_run().execute()
    flow_events.reset()
    flow_span = flowtel_telemetry.span(make_run.name)
    expected = "success" if event_type is T.FLOW_STOP else "cancellation"
    assert expected == flow_span.attributes["cicd.pipeline.result"]
    assert all(span.end_time is not None for span in flowtel_telemetry.spans)
    assert_run_state_restored(stdout)
    assert_next_flow_is_a_root_and_prints(flowtel_telemetry, capsys)


def test_a_listener_raising_in_a_task_outside_a_flow_restores_the_run_state(flowtel_telemetry):
    """A task called outside any flow: the listener's exception propagates, the span ends."""
    stdout = sys.stdout
    flow_events.event_listeners.append(raising_on(T.TASK_START, KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        quiet_task()
    assert (
        "cancellation"
        == flowtel_telemetry.span("quiet_task").attributes["cicd.pipeline.task.run.result"]
    )
    assert_run_state_restored(stdout)


def test_a_listener_interrupting_a_successful_run_marks_it_cancelled(events):
    """A KeyboardInterrupt from a listener after the flow function returned cancels the run."""
    flow_events.event_listeners.append(raising_on(T.FLOW_MESSAGE, KeyboardInterrupt))
    run = flow_with_task()
    with pytest.raises(KeyboardInterrupt):
        run.execute()
    assert "cancelled" == run.flow_status
    assert isinstance(run.flow_error, KeyboardInterrupt)


# -- listener re-entrancy ----------------------------------------------------------------------


@flow
def flow_started_by_a_listener():
    quiet_task()


def test_a_listener_that_starts_a_flow_on_every_event_terminates(events):
    """Events of a flow a listener runs are not delivered back to that listener."""
    calls = []

    def starts_a_flow(event):
        calls.append(event.event_type)
        flow_started_by_a_listener().execute()

    flow_events.event_listeners.append(starts_a_flow)
    flow_with_task().execute()
    outer = [e for e in events if e.event_data.flow_name == "flow_with_task"]
    assert len(outer) == len(calls)
    nested_starts = [
        e
        for e in events
        if e.event_data.flow_name == "flow_started_by_a_listener" and e.event_type is T.FLOW_START
    ]
    assert len(calls) == len(nested_starts)  # other listeners get the nested flows' events


def test_re_entrancy_is_per_listener(events):
    """A listener still gets events raised by another listener's work."""
    seen_by_second = []

    def first(event):
        if event.event_type is T.FLOW_START and event.event_data.flow_name == "flow_with_task":
            flow_started_by_a_listener().execute()

    flow_events.event_listeners.append(first)
    flow_events.event_listeners.append(
        lambda event: seen_by_second.append((event.event_data.flow_name, event.event_type))
    )
    flow_with_task().execute()
    assert ("flow_started_by_a_listener", T.FLOW_START) in seen_by_second
    assert ("flow_with_task", T.FLOW_STOP) in seen_by_second


# -- arguments that do not bind ----------------------------------------------------------------


@task
def takes_one(x):
    return x


@pytest.fixture
def recording_arguments():
    """record_arguments=True for one test."""
    flowtel.configure(install_providers=False, record_arguments=True)
    yield
    flowtel.configure(install_providers=False, record_arguments=False)


def test_arguments_that_do_not_bind_still_record_the_span(flowtel_telemetry, recording_arguments):
    """A call whose arguments do not fit raises TypeError; its failed span has no arguments."""
    with pytest.raises(TypeError):
        takes_one(1, 2, unknown=3)
    span = flowtel_telemetry.span("takes_one")
    assert StatusCode.ERROR == span.status.status_code
    assert "flowtel.arguments" not in span.attributes
    takes_one(5)
    assert (
        '{"x": 5}' == flowtel_telemetry.spans_named("takes_one")[1].attributes["flowtel.arguments"]
    )


# -- generator functions -----------------------------------------------------------------------


def numbers():
    yield 1


async def async_numbers():
    yield 1


@pytest.mark.parametrize(
    "decorator", [task, task(), flow, flow()], ids=["task", "task()", "flow", "flow()"]
)
@pytest.mark.parametrize("target", [numbers, async_numbers])
def test_generator_functions_are_rejected_at_decoration(decorator, target):
    """A generator or async generator function cannot become a task or flow: clear TypeError."""
    kind = "async generator" if target is async_numbers else "generator"
    with pytest.raises(TypeError, match=f"cannot run '{target.__name__}': it is an? {kind}"):
        decorator(target)


@pytest.mark.parametrize(
    "setup", [lambda fn: Task().setup(fn), lambda fn: Flow().setup(fn)], ids=["Task", "Flow"]
)
def test_generator_functions_are_rejected_by_setup(setup):
    """Task.setup() and Flow.setup() reject generator functions too, naming them."""
    with pytest.raises(TypeError, match="'numbers': it is a generator function"):
        setup(numbers)


def test_async_flow_state_restored_after_cancellation(flowtel_telemetry):
    """An async flow cancelled from outside ends cancelled, with its span exported."""

    @flow
    async def sleeper():
        await asyncio.sleep(5)

    async def main():
        running = asyncio.ensure_future(sleeper().execute_async())
        await asyncio.sleep(0.05)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    stdout = sys.stdout
    asyncio.run(main())
    assert "cancellation" == flowtel_telemetry.span("sleeper").attributes["cicd.pipeline.result"]
    assert_run_state_restored(stdout)
