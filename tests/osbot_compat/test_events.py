"""flowtel.osbot's Flow_Events: each on__* method, listener errors, the global emitter."""

from __future__ import annotations

import logging

from flowtel.osbot.actions.Flow__Events import Flow_Events, Flow_Run__Event_Type, flow_events
from flowtel.osbot.models.Flow_Run__Event import Flow_Run__Event
from flowtel.osbot.models.Flow_Run__Event_Data import Flow_Run__Event_Data

T = Flow_Run__Event_Type


def test_each_emitter_method_raises_its_event_type():
    """on__flow__start ... on__task__stop each raise one event of their type with the data."""
    emitter = Flow_Events()
    received: list[Flow_Run__Event] = []
    emitter.event_listeners.append(received.append)
    data = Flow_Run__Event_Data(flow_name="f", flow_run_id="r", task_name="t", task_run_id="tr")
    emitter.on__flow__start(data)
    emitter.on__flow__stop(data)
    emitter.on__new_artifact(data)
    emitter.on__new_result(data)
    emitter.on__task__start(data)
    emitter.on__task__stop(data)
    assert [
        T.FLOW_START,
        T.FLOW_STOP,
        T.NEW_ARTIFACT,
        T.NEW_RESULT,
        T.TASK_START,
        T.TASK_STOP,
    ] == [event.event_type for event in received]
    assert all(event.event_data is data for event in received)


def test_flow_run_message_event_carries_level_and_plain_text():
    """on__flow_run__message sends message_data with the message and its text without ANSI."""
    emitter = Flow_Events()
    received: list[Flow_Run__Event] = []
    emitter.event_listeners.append(received.append)
    emitter.on__flow_run__message(
        log_level=logging.ERROR, flow_run_id="r", task_run_id=None, message="\x1b[31mred\x1b[0m"
    )
    (event,) = received
    assert T.FLOW_MESSAGE is event.event_type
    assert ("r", None, logging.ERROR) == (
        event.event_data.flow_run_id,
        event.event_data.task_run_id,
        event.event_data.log_level,
    )
    assert {
        "log_level": logging.ERROR,
        "message": "\x1b[31mred\x1b[0m",
        "message_text": "red",
    } == event.event_data.data["message_data"]


def test_a_failing_listener_is_reported_once_and_others_still_run(caplog):
    """A listener that raises is logged once; later listeners still get every event."""
    emitter = Flow_Events()
    received: list[Flow_Run__Event] = []

    def broken(event):
        raise RuntimeError("listener bug")

    emitter.event_listeners.extend([broken, received.append])
    with caplog.at_level(logging.ERROR, logger="flowtel.osbot.events"):
        emitter.on__flow__start(Flow_Run__Event_Data())
        emitter.on__flow__stop(Flow_Run__Event_Data())
    assert 2 == len(received)
    assert 1 == len([r for r in caplog.records if "raised" in r.getMessage()])


def test_no_event_is_built_without_listeners():
    """With no listeners an on__* call raises nothing (and builds no event)."""
    emitter = Flow_Events()
    emitter.on__task__start(Flow_Run__Event_Data())
    assert [] == emitter.event_listeners


def test_global_emitter_is_one_flow_events():
    """flow_events is the process-wide Flow_Events flowtel.osbot flows raise events on."""
    assert isinstance(flow_events, Flow_Events)


def test_a_listener_running_a_flow_does_not_get_that_flows_events():
    """Events raised inside a listener skip that listener, and reach the others."""
    from flowtel.osbot.Flow import Flow

    seen_by_runner: list = []
    seen_by_other: list = []

    def runner(event):
        seen_by_runner.append(event.event_type)
        if event.event_type is T.FLOW_STOP and len(seen_by_runner) < 20:
            Flow(flow_name="inner").setup(lambda: None).execute()

    flow_events.event_listeners.extend([runner, lambda event: seen_by_other.append(event)])
    Flow(flow_name="outer").setup(lambda: None).execute()
    assert [T.FLOW_START, T.FLOW_MESSAGE, T.FLOW_MESSAGE, T.FLOW_STOP] == seen_by_runner
    assert {"outer", "inner"} == {
        e.event_data.flow_name for e in seen_by_other if e.event_type is T.FLOW_START
    }
