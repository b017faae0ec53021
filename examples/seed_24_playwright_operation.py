"""Seed example "Real-World Implementation Patterns: Web Automation Pattern" (flow-system.md).

`Type_Safe` becomes a dataclass; `Playwright__Serverless` and `Browser` are fake async
classes. The seed names the flow method `execute`, so a run is `obj.execute().execute()`.
"""

from dataclasses import dataclass, field

from flowtel import Flow, flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Browser:
    """Only used as a return annotation by the seed."""


@dataclass
class Playwright__Serverless:
    calls: list = field(default_factory=list)

    async def launch(self):
        self.calls.append("launch")

    async def new_page(self):
        self.calls.append("new_page")


# --- the seed's code (Type_Safe -> dataclass) ---------------------------------------------
# fmt: off
@dataclass
class Flow__Playwright__Operation:
    playwright_serverless : Playwright__Serverless
    url                   : str = 'https://example.com'

    @task()
    def check_config(self) -> Browser:
        print('checking config')

    @task()
    async def launch_browser(self) -> Browser:
        await self.playwright_serverless.launch()

    @task()
    async def new_page(self) -> Browser:
        await self.playwright_serverless.new_page()

    @task()
    async def perform_operation(self, flow_data: dict) -> None:
        # Operation-specific logic here
        pass

    @flow()
    async def execute(self) -> Flow:
        self.check_config()
        await self.launch_browser()
        await self.new_page()
        await self.perform_operation()
        return 'all done'
# fmt: on


def main() -> dict:
    """Run the operation flow against the fake browser and report what happened."""
    operation = Flow__Playwright__Operation(playwright_serverless=Playwright__Serverless())
    flow_run = operation.execute()
    status_before = flow_run.flow_status
    flow_run.execute()
    return {
        "status_before": status_before,
        "return_value": flow_run.flow_return_value,
        "browser_calls": operation.playwright_serverless.calls,
        "tasks": [(t.task_name, t.status) for t in flow_run.executed_tasks],
        "log_messages": flow_run.log_messages(),
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"tasks: {outcome['tasks']}")
