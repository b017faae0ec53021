"""Public events: types, fields, payloads, ordering, listeners, and no per-flow listener."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
import weakref

import pytest
from helpers import message, message_text, messages, of_type, task_logging_flow

from flowtel import (
    Flow,
    Flow_Run__Config,
    Flow_Run__Event,
    Flow_Run__Event_Data,
    Flow_Run__Event_Type,
    flow,
    flow_events,
    task,
)

T = Flow_Run__Event_Type


# -- types and fields ---------------------------------------------------------------------------


def test_event_types_are_exactly_the_seven_with_lowercase_values():
    """Flow_Run__Event_Type has exactly the seven seed members, valued by their lowercase names."""
    assert {
        "FLOW_START": "flow_start",
        "FLOW_STOP": "flow_stop",
        "TASK_START": "task_start",
        "TASK_STOP": "task_stop",
        "FLOW_MESSAGE": "flow_message",
        "NEW_ARTIFACT": "new_artifact",
        "NEW_RESULT": "new_result",
    } == {member.name: member.value for member in Flow_Run__Event_Type}


def test_event_types_compare_equal_to_their_string_values():
    """Each event type equals its string value and looks up from it."""
    for member in Flow_Run__Event_Type:
        assert member.value == member
        assert member is Flow_Run__Event_Type(member.value)


def test_event_data_has_the_seed_fields():
    """Flow_Run__Event_Data has data (a dict) and the six seed fields."""
    data = Flow_Run__Event_Data()
    assert [
        "data",
        "event_source",
        "flow_name",
        "flow_run_id",
        "log_level",
        "task_name",
        "task_run_id",
    ] == sorted(vars(data))
    assert {} == data.data
    assert Flow_Run__Event_Data().data is not data.data


def test_events_have_unique_ids_types_data_and_epoch_ms_timestamps(events):
    """Each event has a unique event_id, its type, its data, and a timestamp in epoch milliseconds."""

    @task
    def step():
        return 1

    @flow
    def small():
        step()
        step()

    before = int(time.time() * 1000)
    small().execute()
    after = int(time.time() * 1000)
    assert len(events) >= 6
    assert len(events) == len({e.event_id for e in events})
    for event in events:
        assert isinstance(event, Flow_Run__Event)
        assert isinstance(event.event_type, Flow_Run__Event_Type)
        assert isinstance(event.event_data, Flow_Run__Event_Data)
        assert before - 1 <= event.timestamp <= after + 1
    assert sorted(e.timestamp for e in events) == [e.timestamp for e in events]


# -- attribution ------------------------------------------------------------------------------------


def test_every_event_of_a_run_names_the_flow_and_run(events):
    """flow_name and flow_run_id are set on every event of a run."""

    @task
    def step(this_flow=None):
        this_flow.add_flow_artifact(key="a", data=1)

    @flow(flow_name="named-flow")
    def named(this_flow=None):
        step()
        this_flow.add_flow_result(key="r", description="d")
        return "value"

    run = named().execute()
    assert {T.FLOW_START, T.FLOW_STOP, T.TASK_START, T.TASK_STOP, T.FLOW_MESSAGE} <= {
        e.event_type for e in events
    }
    assert {("named-flow", run.flow_id)} == {
        (e.event_data.flow_name, e.event_data.flow_run_id) for e in events
    }


def test_every_event_raised_inside_a_task_names_the_task(events):
    """Messages (task and flow log verbs, print), artifacts and results raised in a task carry its name and id."""

    @task
    def busy(this_task=None, this_flow=None):
        this_task.log_info("via task")
        this_flow.log_info("via flow inside task")
        print("printed inside task")
        this_flow.add_flow_artifact(key="art", data="x")
        this_flow.add_flow_result(key="res", description="y")

    @flow
    def owner():
        busy()

    run = owner().execute()
    [call] = run.executed_tasks
    start = events.index(of_type(events, T.TASK_START)[0])
    stop = events.index(of_type(events, T.TASK_STOP)[0])
    inside = events[start : stop + 1]
    assert {T.TASK_START, T.TASK_STOP, T.FLOW_MESSAGE, T.NEW_ARTIFACT, T.NEW_RESULT} == {
        e.event_type for e in inside
    }
    assert [("busy", call.task_id)] * len(inside) == [
        (e.event_data.task_name, e.event_data.task_run_id) for e in inside
    ]


def test_events_outside_tasks_have_no_task(events):
    """FLOW_START, FLOW_STOP and flow-level messages carry no task name or id."""

    @flow
    def no_tasks(this_flow=None):
        this_flow.log_info("flow level")
        print("flow level print")

    no_tasks().execute()
    assert {("", "")} == {(e.event_data.task_name, e.event_data.task_run_id) for e in events}


def test_nested_task_events_belong_to_the_innermost_task(events):
    """Events raised in a task called by a task name the inner task; the outer's resume after."""

    @task
    def inner(this_task=None):
        this_task.log_info("inner msg")

    @task
    def outer(this_task=None):
        inner()
        this_task.log_info("outer msg")

    @flow
    def owner():
        outer()

    owner().execute()
    by_text = {message_text(e): e.event_data.task_name for e in messages(events)}
    assert ("inner", "outer") == (by_text["inner msg"], by_text["outer msg"])


# -- payloads ---------------------------------------------------------------------------------------


def test_flow_message_payload_for_each_log_level(events):
    """log_debug/info/warning/error raise FLOW_MESSAGE with the logging level number and the text."""

    @flow
    def levels(this_flow=None):
        this_flow.log_debug("d-msg")
        this_flow.log_info("i-msg")
        this_flow.log_warning("w-msg")
        this_flow.log_error("e-msg")

    levels().execute()
    found = {message(e): e for e in messages(events)}
    for text, level in (
        ("d-msg", logging.DEBUG),
        ("i-msg", logging.INFO),
        ("w-msg", logging.WARNING),
        ("e-msg", logging.ERROR),
    ):
        event = found[text]
        assert {"log_level": level, "message": text, "message_text": text} == event.event_data.data[
            "message_data"
        ]
        assert level == event.event_data.log_level


def test_task_log_verbs_raise_messages_with_levels(events):
    """log_* on a Task raise FLOW_MESSAGE events of the task's flow with the right levels."""

    task_logging_flow().execute()
    levels = {message_text(e): e.event_data.log_level for e in messages(events)}
    assert (10, 20, 30, 40) == (levels["td"], levels["ti"], levels["tw"], levels["te"])


def test_message_text_is_plain_text(events):
    """message_text drops ANSI colour codes; log_messages() too."""

    @flow
    def colourful(this_flow=None):
        this_flow.log_info("\x1b[1;31mred alert\x1b[0m")

    run = colourful().execute()
    [event] = [e for e in messages(events) if "red alert" in message(e)]
    assert "red alert" == message_text(event)
    assert "red alert" in run.log_messages()


def test_artifact_and_result_payloads(events):
    """NEW_ARTIFACT carries artifact_data {key,type,description,data}; NEW_RESULT result_data {key,description}."""

    @flow
    def produces(this_flow=None):
        this_flow.add_flow_artifact(
            description="a table", key="table", data=[[1, 2]], artifact_type="table"
        )
        this_flow.add_flow_result(key="score", description="99")

    produces().execute()
    [artifact] = of_type(events, T.NEW_ARTIFACT)
    [result] = of_type(events, T.NEW_RESULT)
    assert {
        "artifact_data": {
            "key": "table",
            "type": "table",
            "description": "a table",
            "data": [[1, 2]],
        }
    } == artifact.event_data.data
    assert {"result_data": {"key": "score", "description": "99"}} == result.event_data.data


def test_stop_events_carry_status_and_error(events):
    """FLOW_STOP and TASK_STOP carry 'completed'/'failed' and the error text when there is one."""

    @task
    def good():
        return 1

    @task(raise_on_error=False)
    def bad():
        raise ValueError("bad input")

    @flow(flow_config=Flow_Run__Config(raise_flow_error=False))
    def mixed(fail):
        good()
        bad()
        if fail:
            raise RuntimeError("flow broke")

    mixed(False).execute()
    mixed(True).execute()
    task_stops = [
        (e.event_data.task_name, e.event_data.data["status"], e.event_data.data["error"])
        for e in of_type(events, T.TASK_STOP)
    ]
    assert [
        ("good", "completed", None),
        ("bad", "failed", "ValueError: bad input"),
    ] * 2 == task_stops
    flow_stops = [
        (e.event_data.data["status"], e.event_data.data["error"])
        for e in of_type(events, T.FLOW_STOP)
    ]
    assert [("completed", None), ("failed", "RuntimeError: flow broke")] == flow_stops


# -- ordering ----------------------------------------------------------------------------------------


def assert_well_ordered(run_events):
    kinds = [e.event_type for e in run_events]
    assert T.FLOW_START is kinds[0]
    assert T.FLOW_STOP is kinds[-1]
    assert 1 == kinds.count(T.FLOW_START) == kinds.count(T.FLOW_STOP)
    task_ids = {e.event_data.task_run_id for e in run_events if e.event_data.task_run_id}
    for task_id in task_ids:
        positions = [i for i, e in enumerate(run_events) if e.event_data.task_run_id == task_id]
        own = [run_events[i].event_type for i in positions]
        assert (T.TASK_START, T.TASK_STOP) == (own[0], own[-1])
        assert 1 == own.count(T.TASK_START) == own.count(T.TASK_STOP)
    return task_ids


def test_flow_start_first_flow_stop_last_and_tasks_bracketed(events):
    """FLOW_START is first, FLOW_STOP last; TASK_START/TASK_STOP bracket each call, failures included."""

    @task
    def ok(this_task=None):
        this_task.log_info("working")
        return "ok"

    @task(raise_on_error=False)
    def tolerated():
        print("about to fail")
        raise KeyError("k")

    @task
    def fatal():
        raise OSError("fatal")

    @flow(flow_config=Flow_Run__Config(print_finished_message=True))
    def ordered(this_flow=None):
        ok()
        tolerated()
        this_flow.add_flow_artifact(key="mid", data=1)
        ok()
        fatal()

    run = ordered()
    with pytest.raises(OSError):
        run.execute()
    task_ids = assert_well_ordered(events)
    assert {t.task_id for t in run.executed_tasks} == task_ids
    assert 4 == len(task_ids)


def test_async_flow_events_are_ordered(events):
    """Async flows and tasks keep the same ordering guarantees."""

    @task
    async def step(n):
        await asyncio.sleep(0)
        return n

    @task(raise_on_error=False)
    async def broken():
        await asyncio.sleep(0)
        raise ValueError("x")

    @flow
    async def async_ordered():
        await step(1)
        await broken()
        return await step(2)

    run = async_ordered().execute()
    assert 3 == len(assert_well_ordered(events))
    assert T.NEW_RESULT in [e.event_type for e in events]
    assert run.flow_id == events[-1].event_data.flow_run_id


# -- listeners --------------------------------------------------------------------------------------


def test_listeners_are_called_synchronously_in_order_on_the_running_thread():
    """Each listener gets each event while it happens, in registration order, on the run's thread."""
    calls = []
    first = lambda event: calls.append(("first", event.event_type, threading.get_ident()))  # noqa: E731
    second = lambda event: calls.append(("second", event.event_type, threading.get_ident()))  # noqa: E731
    flow_events.event_listeners.append(first)
    flow_events.event_listeners.append(second)
    seen_in_task = []

    @task
    def step():
        seen_in_task.append([c[1] for c in calls])

    @flow
    def listened():
        step()

    listened().execute()
    me = threading.get_ident()
    in_task = seen_in_task[0]
    assert [T.FLOW_START, T.FLOW_START] == in_task[:2]
    assert 2 == in_task.count(T.TASK_START)
    assert T.TASK_STOP not in in_task
    assert ["first", "second"] * (len(calls) // 2) == [c[0] for c in calls]
    assert [c[1] for c in calls[0::2]] == [c[1] for c in calls[1::2]]
    assert {me} == {c[2] for c in calls}


def test_removed_listener_gets_no_more_events():
    """event_listeners.remove(fn) stops the calls."""
    got = []
    flow_events.event_listeners.append(got.append)

    @flow
    def once():
        return 1

    once().execute()
    count = len(got)
    flow_events.event_listeners.remove(got.append)
    once().execute()
    assert count > 0
    assert count == len(got)


def test_a_raising_listener_is_reported_once_and_disturbs_nothing(caplog, capsys):
    """A listener that raises is logged once via logging; the flow and the other listeners carry on."""
    calls = []

    def broken(event):
        calls.append(event)
        raise RuntimeError("listener bug")

    good = []
    flow_events.event_listeners.append(broken)
    flow_events.event_listeners.append(good.append)

    @task
    def step():
        return "step"

    @flow
    def unaffected():
        return step()

    with caplog.at_level(logging.DEBUG):
        first = unaffected().execute()
        second = unaffected().execute()
    assert ("step", "step") == (first.flow_return_value, second.flow_return_value)
    assert ("completed", "completed") == (first.flow_status, second.flow_status)
    assert len(calls) == len(good)
    assert T.FLOW_STOP is good[-1].event_type
    reports = [
        r
        for r in caplog.records
        if "listener bug" in (r.exc_text or "")
        or (r.exc_info and "listener bug" in str(r.exc_info[1]))
    ]
    assert 1 == len(reports)
    assert reports[0].levelno >= logging.WARNING
    captured = capsys.readouterr()
    assert "listener bug" not in captured.out
    assert "listener bug" not in captured.err


def test_a_raising_listener_does_not_hide_a_flow_error(caplog):
    """With a raising listener, a failing flow still raises its own error."""
    flow_events.event_listeners.append(lambda event: 1 / 0)
    error = LookupError("flow error")

    @flow
    def failing():
        raise error

    with caplog.at_level(logging.ERROR), pytest.raises(LookupError) as raised:
        failing().execute()
    assert error is raised.value


def test_no_listener_is_added_per_flow():
    """Running flows adds nothing to flow_events.event_listeners."""
    mine = []
    flow_events.event_listeners.append(mine.append)

    @task
    def step():
        return 1

    @flow
    def plain():
        return step()

    @flow
    async def async_plain():
        return step()

    for _ in range(5):
        plain().execute()
        async_plain().execute()
    assert [mine.append] == flow_events.event_listeners


def test_finished_flows_are_garbage_collected(events):
    """A weak reference to a finished, released Flow dies (sync, async, failed and with-block runs)."""

    @task
    def step(this_flow=None, flow_data=None):
        flow_data["x"] = 1
        this_flow.add_flow_artifact(key="a", data=[1])
        print("a print")
        return "value"

    @flow
    def sync_flow():
        return step()

    @flow
    async def async_flow():
        return step()

    @flow(flow_config=Flow_Run__Config(raise_flow_error=False))
    def failed_flow():
        step()
        raise ValueError("failed")

    refs = []
    for factory in (sync_flow, async_flow, failed_flow):
        run = factory().execute()
        refs.append(weakref.ref(run))
        del run
    manual = Flow(flow_name="manual")
    with manual:
        step()
    refs.append(weakref.ref(manual))
    del manual
    gc.collect()
    assert [None, None, None, None] == [ref() for ref in refs]
    assert len(events) > 20


def test_event_objects_are_built_only_for_listeners():
    """With no listener registered a run builds no Flow_Run__Event."""
    built = []
    original_init = Flow_Run__Event.__init__

    def counting_init(self, *args, **kwargs):
        built.append(1)
        original_init(self, *args, **kwargs)

    Flow_Run__Event.__init__ = counting_init
    try:

        @flow
        def unobserved(this_flow=None):
            this_flow.log_info("msg")
            return 1

        unobserved().execute()
        assert [] == built
        flow_events.event_listeners.append(lambda event: None)
        unobserved().execute()
        assert len(built) > 0
    finally:
        Flow_Run__Event.__init__ = original_init
