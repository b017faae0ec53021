"""Seed example "Flow Composition and Inheritance" (flow-system.md).

`Type_Safe` becomes a plain class.
"""

from flowtel import Flow, flow, task


# --- the seed's code (Type_Safe -> plain class) -------------------------------------------
# fmt: off
class BaseWebFlow:
    @task()
    async def common_setup(self):
        # Shared setup logic
        pass

class SpecificWebFlow(BaseWebFlow):
    @task()
    async def specific_operation(self):
        # Specific operation logic
        pass

    @flow()
    async def execute(self) -> Flow:
        await self.common_setup()
        await self.specific_operation()
        return 'operation complete'
# fmt: on


def main() -> dict:
    """Run the specific flow and report which tasks (inherited and own) ran."""
    run = SpecificWebFlow().execute().execute()
    return {
        "return_value": run.flow_return_value,
        "flow_name": run.flow_name,
        "tasks": [(t.task_name, t.status) for t in run.executed_tasks],
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"tasks: {outcome['tasks']}")
