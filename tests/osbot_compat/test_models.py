"""flowtel.osbot models and schemas: defaults, json(), obj(), from_json(), ids, timestamps."""

from __future__ import annotations

import logging
import time
import types
import uuid

import pytest

import flowtel
from flowtel.osbot import _ids
from flowtel.osbot._duration import Duration, Schema__Duration
from flowtel.osbot.models.Flow_Run__Config import Flow_Run__Config
from flowtel.osbot.models.Flow_Run__Event import Flow_Run__Event, Random_Guid, Timestamp_Now
from flowtel.osbot.models.Flow_Run__Event_Data import Flow_Run__Event_Data
from flowtel.osbot.models.Flow_Run__Event_Type import Flow_Run__Event_Type
from flowtel.osbot.models.Schema__Flow__Artifact import Schema__Flow__Artifact
from flowtel.osbot.models.Schema__Flow__Result import Schema__Flow__Result
from flowtel.osbot.schemas.Schema__Flow__Status import Schema__Flow__Status
from flowtel.osbot.schemas.Schema__Task__Stats import Schema__Task__Stats


def test_event_type_is_a_plain_enum_not_equal_to_its_value():
    """Flow_Run__Event_Type members equal only themselves, as in OSBot-Utils."""
    assert "flow_start" == Flow_Run__Event_Type.FLOW_START.value
    assert Flow_Run__Event_Type.FLOW_START != "flow_start"
    assert [
        "FLOW_MESSAGE",
        "FLOW_START",
        "FLOW_STOP",
        "NEW_ARTIFACT",
        "NEW_RESULT",
        "TASK_START",
        "TASK_STOP",
    ] == [member.name for member in Flow_Run__Event_Type]


def test_event_data_defaults_and_json():
    """Flow_Run__Event_Data() has None names and ids, INFO level, and that JSON shape."""
    assert {
        "data": {},
        "event_source": "",
        "flow_name": None,
        "flow_run_id": None,
        "log_level": logging.INFO,
        "task_name": None,
        "task_run_id": None,
    } == Flow_Run__Event_Data().json()


def test_event_data_obj_is_nested_namespaces():
    """obj() turns the data dict into a namespace too."""
    data = Flow_Run__Event_Data(flow_name="f", data={"status": "done"})
    expected = types.SimpleNamespace(
        data=types.SimpleNamespace(status="done"),
        event_source="",
        flow_name="f",
        flow_run_id=None,
        log_level=20,
        task_name=None,
        task_run_id=None,
    )
    assert expected == data.obj()


def test_event_without_arguments_has_guid_id_and_millisecond_timestamp():
    """Flow_Run__Event() has a Random_Guid event_id and a Timestamp_Now of epoch ms."""
    before = time.time_ns() // 1_000_000
    event = Flow_Run__Event()
    after = time.time_ns() // 1_000_000
    assert (Random_Guid, Timestamp_Now) == (type(event.event_id), type(event.timestamp))
    assert str(uuid.UUID(event.event_id)) == event.event_id
    assert before <= event.timestamp <= after
    assert None is event.event_type


def test_event_json_gives_the_type_value_and_plain_id_and_timestamp():
    """json() has the event type by value and the id and timestamp as plain str and int."""
    event = Flow_Run__Event(event_type=Flow_Run__Event_Type.TASK_STOP)
    as_json = event.json()
    assert "task_stop" == as_json["event_type"]
    assert (str, int) == (type(as_json["event_id"]), type(as_json["timestamp"]))
    assert Flow_Run__Event_Data().json() == as_json["event_data"]


def test_event_from_json_round_trips():
    """Flow_Run__Event.from_json(event.json()) rebuilds an equal event."""
    event = Flow_Run__Event(
        event_type=Flow_Run__Event_Type.NEW_RESULT, event_data=Flow_Run__Event_Data(flow_name="x")
    )
    rebuilt = Flow_Run__Event.from_json(event.json())
    assert event == rebuilt
    assert Flow_Run__Event_Type.NEW_RESULT is rebuilt.event_type


def test_from_json_rejects_unknown_fields_and_non_dicts():
    """from_json names unknown fields, and refuses a non-dict."""
    with pytest.raises(TypeError, match=r"unknown field\(s\) \['colour'\]"):
        Schema__Task__Stats.from_json({"colour": "red"})
    with pytest.raises(TypeError, match="needs a dict, got list"):
        Schema__Task__Stats.from_json([])


def test_random_guid_rejects_a_value_that_is_not_a_guid():
    """Random_Guid('nope') raises ValueError naming the bad value (OSBot-Utils' or the look-alike)."""
    for guid_type in (Random_Guid, _ids.Random_Guid):
        with pytest.raises(ValueError, match="nope"):
            guid_type("nope")
        guid = str(uuid.uuid4())
        assert guid == guid_type(guid)
    with pytest.raises(ValueError, match="got 'nope'"):
        _ids.Random_Guid("nope")


def test_timestamp_now_keeps_a_given_value():
    """Timestamp_Now(123) is the int 123 (OSBot-Utils' or the look-alike)."""
    assert [123, 123] == [Timestamp_Now(123), _ids.Timestamp_Now(123)]


def test_config_adds_osbot_switches_to_flowtels_config():
    """flowtel.osbot's Flow_Run__Config is a flowtel config with two more bools, type-checked."""
    config = Flow_Run__Config(print_error_stack_trace=True)
    assert isinstance(config, flowtel.Flow_Run__Config)
    assert (True, False) == (config.print_error_stack_trace, config.flow_data__capture_events)
    with pytest.raises(TypeError, match="flow_data__capture_events must be a bool"):
        Flow_Run__Config(flow_data__capture_events="yes")
    with pytest.raises(TypeError, match="raise_flow_error must be a bool"):
        config.raise_flow_error = 0


def test_artifact_and_result_records_json():
    """Schema__Flow__Artifact and Schema__Flow__Result carry their fields and a timestamp."""
    artifact = Schema__Flow__Artifact(key="k", description="d", data=[1], type="json")
    result = Schema__Flow__Result(key="r", description="ok")
    assert {"key": "k", "description": "d", "data": [1], "type": "json"} == {
        k: v for k, v in artifact.json().items() if k != "timestamp"
    }
    assert ("r", "ok", int) == (result.key, result.description, type(result.json()["timestamp"]))


def test_task_stats_record_defaults_and_round_trip():
    """Schema__Task__Stats() defaults as in OSBot-Utils; json/from_json round-trips the status."""
    assert {
        "task_id": "",
        "task_name": "",
        "execution_order": 0,
        "duration": Schema__Duration().json(),
        "status": None,
        "parent_flow_id": "",
        "error_message": None,
    } == Schema__Task__Stats().json()
    stats = Schema__Task__Stats(task_id="t", status=Schema__Flow__Status.FAILED)
    assert stats == Schema__Task__Stats.from_json(stats.json())


def test_duration_measures_and_refuses_to_report_before_end(capsys):
    """Duration.data() needs end(); end() needs start(); print_result prints the length."""
    duration = Duration()
    with pytest.raises(ValueError, match=r"end\(\) called before start\(\)"):
        duration.end()
    duration.start()
    with pytest.raises(ValueError, match="call start\\(\\) and end\\(\\)"):
        duration.data()
    duration.end()
    data = duration.data()
    assert data.timestamp_start <= data.timestamp_end
    assert data.duration_seconds >= 0.0
    assert "Duration:" in capsys.readouterr().out
