"""Prefect docs, "State change hooks": on_completion and on_failure."""

from flowtel.prefect import flow, task

notifications = []
received = []  # stand-in: what the hooks were called with, for the test to inspect


def my_success_hook(flow, flow_run, state):
    received.append((flow, flow_run, state))
    notifications.append(("success", flow.name, state.name))


def my_failure_hook(flow, flow_run, state):
    notifications.append(("failure", flow.name, state.name, state.message))


@flow(on_completion=[my_success_hook], on_failure=[my_failure_hook])
def my_flow(fail: bool = False):
    if fail:
        raise RuntimeError("the flow broke")
    return 42


def task_failure_hook(task, task_run, state):
    notifications.append(("task failure", task.name, state.name))


@task(retries=1, on_failure=[task_failure_hook])
def failing_task():
    raise ValueError("task broke")


@flow
def flow_with_failing_task():
    failing_task()
