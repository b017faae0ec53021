"""Seed example "Quick Start Examples": a flow with a single task (flow-system.md)."""

from flowtel import flow, task


# fmt: off
# Simple example: A flow with a single task
@flow()
def simple_flow(data):
    result = process_data(data)
    return result

@task()
def process_data(data):
    return data.upper()

# Use it naturally like any Python function
result = simple_flow("hello world").execute()
# fmt: on


def main() -> dict:
    """Run the quick start flow again and report what it did."""
    run = simple_flow("hello world").execute()
    return {
        "module_result": result,
        "run": run,
        "return_value": run.flow_return_value,
        "tasks": [(t.task_name, t.status, t.task_return_value) for t in run.executed_tasks],
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"tasks: {outcome['tasks']}")
