"""Seed example "Async Support" (flow-system.md)."""

import asyncio

from flowtel import flow, task


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
@flow()
async def async_flow():
    result = await async_task()
    return result

@task()
async def async_task():
    await asyncio.sleep(1)
    return "completed"
# fmt: on


def main() -> dict:
    """Run the async flow from synchronous code and report the run."""
    run = async_flow().execute()
    task_run = run.executed_tasks[0]
    return {
        "return_value": run.flow_return_value,
        "task": (task_run.task_name, task_run.status, task_run.duration),
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
