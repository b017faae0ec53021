"""flowtel.osbot's Flow: setup/execute_flow, logs, events in OSBot-Utils' order, records."""

from __future__ import annotations

import gc
import weakref

import pytest

import flowtel
from flowtel.osbot.actions.Flow__Data import Flow__Data
from flowtel.osbot.decorators.task import task
from flowtel.osbot.Flow import Flow
from flowtel.osbot.models.Flow_Run__Config import Flow_Run__Config
from flowtel.osbot.models.Flow_Run__Event_Type import Flow_Run__Event_Type
from flowtel.osbot.schemas.Schema__Flow__Status import Schema__Flow__Status

T = Flow_Run__Event_Type


def messages(events):
    return [
        e.event_data.data["message_data"]["message"]
        for e in events
        if e.event_type is T.FLOW_MESSAGE
    ]


def test_execute_without_setup_raises_osbots_error():
    """execute() before setup() raises OSBot-Utils' ValueError and runs nothing."""
    with pytest.raises(ValueError) as raised:
        Flow().execute()
    assert (
        "Error starting Flow, setup has not been called, use .setup(target, *args, **kwargs) "
        "to configure it"
    ) == str(raised.value)


def test_setup_without_target_runs_main():
    """setup() with no target runs the subclass's main(); it is a flowtel Flow run."""

    class Nightly(Flow):
        def main(self, day):
            return f"ran {day}"

    run = Nightly(flow_name="nightly").setup(None, "monday").execute()
    assert isinstance(run, flowtel.Flow)
    assert ("ran monday", "completed") == (run.flow_return_value, run.flow_status)


def test_lifecycle_events_follow_osbots_order(osbot_events):
    """A flow returning a value raises START, 3 messages, the result, STOP, in that order."""
    run = Flow().setup(lambda: 42).execute()
    assert [
        T.FLOW_START,
        T.FLOW_MESSAGE,
        T.FLOW_MESSAGE,
        T.FLOW_MESSAGE,
        T.NEW_RESULT,
        T.FLOW_STOP,
    ] == [e.event_type for e in osbot_events]
    assert [
        f"Created flow run '{run.flow_id}' for flow '<lambda>'",
        f"Executing flow run '{run.flow_id}'",
        "Flow return value: 42",
    ] == messages(osbot_events)
    assert {run.flow_id} == {e.event_data.flow_run_id for e in osbot_events}


def test_flow_prints_are_logged_when_the_flow_function_returns():
    """The flow function's prints come after its tasks' messages, as in OSBot-Utils."""

    @task()
    def step():
        print("in step")
        return None

    def body():
        print("in flow")
        step()

    config = Flow_Run__Config(print_finished_message=True, print_none_return_value=True)
    run = Flow(flow_config=config, flow_id="RUN-1").setup(body).execute_flow()
    assert [
        "Executing flow run 'RUN-1'",
        "Executing task 'step'",
        "in step",
        "Task return value: None",
        "Finished task 'step'",
        "in flow",
        "Flow return value: None",
        "Finished flow run 'RUN-1'",
    ] == run.captured_logs()
    assert run.captured_logs() == run.captured_exec_logs


def test_captured_logs_empty_without_memory_logging():
    """With log_to_memory=False nothing is captured."""
    run = Flow(flow_config=Flow_Run__Config(log_to_memory=False)).setup(lambda: 1).execute()
    assert [] == run.captured_logs()


def test_execute_flow_with_params_logs_them_and_keeps_an_artifact(osbot_events):
    """execute_flow(flow_run_params) logs the params and records artifact 'post-data'."""
    run = Flow().setup(lambda: None).execute_flow({"day": "monday"})
    assert "flow_run_params: {'day': 'monday'}" in run.log_messages()
    assert [{"day": "monday"}] == [a["data"] for a in run.flow_artifacts if a["key"] == "post-data"]
    (artifact_event,) = [e for e in osbot_events if e.event_type is T.NEW_ARTIFACT]
    assert "post-data" == artifact_event.event_data.data["artifact_data"]["key"]


def test_executing_again_keeps_an_assigned_flow_id():
    """flow_id assigned before execute() is kept, also when the flow runs again."""
    flow = Flow().setup(lambda: "x")
    flow.flow_id = "MY-ID"
    assert ["MY-ID", "MY-ID"] == [flow.execute().flow_id, flow.execute().flow_id]


def test_failing_flow_raises_or_returns_with_error():
    """raise_flow_error decides whether execute() raises; flow_stats record the failure."""

    def broken():
        raise ValueError("Test error")

    with pytest.raises(ValueError, match="Test error"):
        Flow().setup(broken).execute()
    run = Flow(flow_config=Flow_Run__Config(raise_flow_error=False)).setup(broken).execute()
    assert ("Test error", Schema__Flow__Status.FAILED) == (
        str(run.flow_error),
        run.flow_stats.stats.status,
    )
    assert ("failed", "Test error") == (
        run.flow_data.flow_data.status,
        run.flow_data.flow_data.error,
    )


def test_logger_memory_logger_sees_messages_after_it_is_added():
    """flow.logger logs into the run; its memory logger returns messages since it was added."""
    flow = Flow()
    flow.log_info("before")
    assert [] == flow.logger.memory_handler_messages()
    flow.logger.add_memory_logger()
    flow.logger.info("one")
    flow.logger.error("two")
    assert ["one", "two"] == flow.logger.memory_handler_messages()
    flow.logger.remove_memory_logger()
    assert [] == flow.logger.memory_handler_messages()
    assert ["before", "one", "two"] == flow.log_messages()


def test_a_released_osbot_run_is_freed_without_the_cycle_collector():
    """A finished flowtel.osbot run, its tasks and flow.logger make no cycle: freed at once."""
    from flowtel.osbot.decorators.flow import flow
    from flowtel.osbot.Task import Task

    @task()
    def double(x):
        return x * 2

    @flow()
    def stepping(this_flow=None):
        this_flow.logger.info("logged")
        with Task(task_target=lambda: 1) as by_hand:
            by_hand.execute__sync()
        return double(3)

    gc.collect()
    gc.disable()  # nothing may be left for the cycle collector to free
    try:
        run = stepping().execute_flow()
        logger = run.logger
        refs = [weakref.ref(run), *(weakref.ref(t) for t in run.executed_tasks)]
        assert 3 == len(refs)
        del run
        assert [None] * 3 == [ref() for ref in refs]
    finally:
        gc.enable()
    with pytest.raises(RuntimeError, match="flow was released"):
        logger.info("too late")


def test_flow_data_record_json_and_obj():
    """flow.flow_data is a Flow__Data record; json() and obj() expose tasks, logs, results."""

    @task()
    def double(x):
        return x * 2

    run = Flow(flow_name="rec").setup(lambda: double(21)).execute()
    assert isinstance(run.flow_data, Flow__Data)
    record = run.json()["flow_data"]
    (task_record,) = record["tasks"].values()
    assert ("rec", "completed", 42) == (
        record["flow_name"],
        record["status"],
        record["return_value"],
    )
    assert ("double", "completed", 42, 1) == (
        task_record["task_name"],
        task_record["status"],
        task_record["return_value"],
        task_record["execution_order"],
    )
    assert ["flow-return-value"] == [r["key"] for r in record["results"]]
    assert [log.message for log in run.obj().flow_data.logs] == run.log_messages()


def test_capture_events_keeps_the_runs_events_in_flow_data():
    """flow_data__capture_events=True records the run's own events without any listener."""
    config = Flow_Run__Config(flow_data__capture_events=True)
    run = Flow(flow_config=config).setup(lambda: 1).execute()
    kept = run.flow_data.flow_data.events
    assert (T.FLOW_START, T.FLOW_STOP) == (kept[0].event_type, kept[-1].event_type)
    assert [] == Flow().setup(lambda: 1).execute().flow_data.flow_data.events


def test_task_dependencies_are_injected_into_tasks_that_ask_for_them():
    """A Flow subclass's task_dependencies() fill task parameters of those names."""

    @task()
    def uses_db(db=None, other="kept"):
        return db, other

    class With_Db(Flow):
        def task_dependencies(self):
            return {"db": "the-db", "other": "injected"}

    run = With_Db().setup(lambda: uses_db(other="given")).execute()
    assert ("the-db", "given") == run.flow_return_value


def test_log_with_task_run_id_is_attributed_to_that_task(osbot_events):
    """log_info(message, task_run_id) attributes the message to that executed task."""

    @task()
    def step(this_task=None):
        return this_task.task_id

    def body(this_flow=None):
        task_id = step()
        this_flow.log_info("about the step", task_run_id=task_id)
        return task_id

    run = Flow().setup(body).execute()
    (event,) = [
        e
        for e in osbot_events
        if e.event_type is T.FLOW_MESSAGE
        and e.event_data.data["message_data"]["message"] == "about the step"
    ]
    assert run.flow_return_value == event.event_data.task_run_id
    assert ["step"] == [e.task_name for e in run.log_entries() if e.text == "about the step"]


def test_add_flow_artifact_defaults_key_and_type():
    """add_flow_artifact() without key or type records them as 'default', as in OSBot-Utils."""
    run = Flow().setup(lambda this_flow=None: this_flow.add_flow_artifact(data=[1])).execute()
    assert [("default", "default", [1])] == [
        (a["key"], a["type"], a["data"]) for a in run.flow_artifacts
    ]
