"""Seed example "Task Dependencies and Data Sharing" (flow-system.md)."""

from flowtel import flow, task


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
@task()
def task_with_deps(this_task=None, this_flow=None, task_data=None, flow_data=None):
    # this_task: Access to task instance for internal operations
    # this_flow: Access to parent flow for flow-level operations
    # task_data: Task-specific storage that doesn't persist
    # flow_data: Flow-wide storage shared between tasks

    # Task-specific data example
    task_data['local'] = 'only visible to this task'

    # Flow-wide data example
    flow_data['shared'] = 'visible to all tasks'
# fmt: on


@task()
def reader_task(task_data=None, flow_data=None):
    return {"task_data": dict(task_data), "flow_data": dict(flow_data)}


@flow()
def sharing_flow():
    task_with_deps()
    return reader_task()


def main() -> dict:
    """Run the injection task then a reader task, and report what each saw."""
    run = sharing_flow().execute()
    first = run.executed_tasks[0]
    return {
        "reader_saw": run.flow_return_value,
        "first_task_data": first.data,
        "flow_data": dict(run.data),
        "tasks": [t.task_name for t in run.executed_tasks],
    }


if __name__ == "__main__":
    outcome = main()
    print(f"reader saw: {outcome['reader_saw']}")
