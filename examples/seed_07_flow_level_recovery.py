"""Seed example "Error Recovery Strategies: 2. Flow-Level Recovery" (flow-system.md).

The seed leaves `main_task`, `cleanup_task` and `fallback_task` undefined: here they are async
tasks; main_task fails.
"""

from flowtel import flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


@task()
async def main_task():
    raise RuntimeError("main task failed")


@task()
async def cleanup_task(flow_data):
    flow_data.setdefault("steps", []).append("cleanup")


@task()
async def fallback_task(flow_data):
    flow_data.setdefault("steps", []).append("fallback")


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
@flow()
async def resilient_flow():
    try:
        await main_task()
    except Exception:
        await cleanup_task()
        await fallback_task()
# fmt: on


def main() -> dict:
    """Run the resilient flow and report which tasks ran and how they ended."""
    run = resilient_flow().execute()
    return {
        "flow_status": run.flow_status,
        "flow_error": run.flow_error,
        "steps": run.data["steps"],
        "tasks": [(t.task_name, t.status) for t in run.executed_tasks],
        "main_task_error": run.executed_tasks[0].task_error,
    }


if __name__ == "__main__":
    outcome = main()
    print(f"flow status: {outcome['flow_status']}")
    print(f"tasks: {outcome['tasks']}")
