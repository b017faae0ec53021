"""Seed example "Async Support": WebAutomationFlow (flow-system.md).

`Type_Safe` becomes a plain class; the seed leaves `Browser`, `browser_instance` and
`target_url` undefined: a fake async browser and a URL are assigned to the instance.
"""

import asyncio

from flowtel import Flow, flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Browser:
    """Only used as a return annotation by the seed."""


class Fake_Browser:
    def __init__(self):
        self.calls = []

    async def launch(self):
        await asyncio.sleep(0)
        self.calls.append("launch")

    async def goto(self, url):
        await asyncio.sleep(0)
        self.calls.append(f"goto {url}")


# --- the seed's code (Type_Safe -> plain class) -------------------------------------------
# fmt: off
class WebAutomationFlow:
    @task()
    async def launch_browser(self) -> Browser:
        await self.browser_instance.launch()
        print('launched browser')

    @task()
    async def navigate(self) -> None:
        print(f"opening url: {self.target_url}")
        await self.browser_instance.goto(self.target_url)
        await asyncio.sleep(1)  # Ensure page load

    @flow()
    async def execute_automation(self) -> Flow:
        await self.launch_browser()
        await self.navigate()
        return 'completed'
# fmt: on


def main() -> dict:
    """Run the automation with a fake browser and report calls and captured prints."""
    automation = WebAutomationFlow()
    automation.browser_instance = Fake_Browser()
    automation.target_url = "https://example.com/login"
    run = automation.execute_automation().execute()
    return {
        "return_value": run.flow_return_value,
        "browser_calls": automation.browser_instance.calls,
        "log_messages": run.log_messages(),
        "log_entries": [(e.task_name, e.text) for e in run.log_entries()],
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"browser calls: {outcome['browser_calls']}")
