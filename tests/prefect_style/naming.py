"""Prefect docs, "Write flows/tasks": names, descriptions, tags, version and run names."""

import datetime

from flowtel.prefect import flow, task


@task(
    name="My Example Task",
    description="An example task for a tutorial.",
    task_run_name="hello-{name}-on-{date:%A}",
)
def my_task(name, date):
    return f"{name} on {date:%Y-%m-%d}"


@flow(
    name="My Example Flow",
    description="An example flow for a tutorial.",
    version="1.0.3",
    tags=["tutorial", "examples"],
    flow_run_name="{name}-on-{date:%A}",
)
def my_flow(name: str, date: datetime.datetime):
    return my_task(name=name, date=date)


def generate_task_name():
    date = datetime.date(2024, 1, 5)
    return f"{date:%A}-is-a-nice-day"


@task(task_run_name=generate_task_name)
def named_by_function():
    return 1


@flow
def function_named_flow():
    return named_by_function()
