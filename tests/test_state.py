"""flowtel._state: a run's State says where the run is (pending, running) or how it ended."""

from __future__ import annotations

from flowtel import flow, task
from flowtel._state import StateType


@task()
def reports_states(this_task=None, this_flow=None):
    """The task's and its flow's states while both are running."""
    return this_task.state, this_flow.state


@flow()
def running_flow():
    return reports_states()


def test_a_run_not_yet_started_is_pending_and_not_final():
    """A flow run built but not executed has a Pending state, not a final one."""
    run = running_flow()
    state = run.state
    run.execute()  # a run built and never executed warns
    assert (StateType.PENDING, "Pending", False, True) == (
        state.type,
        state.name,
        state.is_final(),
        state.is_pending(),
    )


def test_running_flows_and_tasks_have_running_states():
    """Inside a task, the task's and the flow's states are Running, not final."""
    run = running_flow().execute()
    task_state, flow_state = run.flow_return_value
    for state in (task_state, flow_state):
        assert (StateType.RUNNING, "Running", False, True) == (
            state.type,
            state.name,
            state.is_final(),
            state.is_running(),
        )
    assert StateType.COMPLETED == run.state.type
