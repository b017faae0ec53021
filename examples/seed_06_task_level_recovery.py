"""Seed example "Error Recovery Strategies: 1. Task-Level Recovery" (flow-system.md).

The seed leaves `perform_operation` undefined: here it is an async call that fails, and a
small flow calls the resilient task.
"""

import asyncio

from flowtel import flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


async def perform_operation():
    await asyncio.sleep(0)
    raise ConnectionError("service unavailable")


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
@task(raise_on_error=False)
async def resilient_task(this_flow=None):
    try:
        await perform_operation()
    except Exception as error:
        this_flow.add_flow_artifact(
            key="error_details",
            data=str(error),
            artifact_type="error"
        )
        return "fallback_value"
# fmt: on


@flow()
async def recovery_flow():
    return await resilient_task()


def main() -> dict:
    """Run a flow that calls the resilient task and report the fallback and artifact."""
    run = recovery_flow().execute()
    return {
        "return_value": run.flow_return_value,
        "artifacts": run.flow_artifacts,
        "tasks": [(t.task_name, t.status) for t in run.executed_tasks],
        "flow_status": run.flow_status,
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"artifacts: {outcome['artifacts']}")
