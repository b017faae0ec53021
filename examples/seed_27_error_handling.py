"""Seed example "Error Handling" (flow-system.md)."""

from flowtel import Flow_Run__Config, flow, task


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
# Task-level error handling
@task(raise_on_error=False)
def task_continues_on_error():
    # This error won't stop the flow
    raise ValueError("Task error")

# Flow-level error handling
flow_config = Flow_Run__Config(raise_flow_error=False)
@flow(flow_config=flow_config)
def flow_continues_on_error():
    # Flow continues despite task errors
    task_continues_on_error()
    return "Flow completed despite error"
# fmt: on


def main() -> dict:
    """Run the flow and report the tolerated task failure."""
    run = flow_continues_on_error().execute()
    failed = run.executed_tasks[0]
    return {
        "return_value": run.flow_return_value,
        "flow_status": run.flow_status,
        "flow_error": run.flow_error,
        "task": (failed.task_name, failed.status, repr(failed.task_error)),
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"task: {outcome['task']}")
