"""Seed example "Web Automation Example" (flow-system.md, Common Patterns and Examples).

`Type_Safe` becomes a dataclass. `Playwright__Serverless` and `Browser` are fake async
classes; the seed calls `self.analyze_content`, which it leaves undefined, so a subclass adds it.
"""

import asyncio
from dataclasses import dataclass, field

from flowtel import Flow, flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Browser:
    """Only used as a return annotation by the seed."""


class Fake_Page:
    def __init__(self, calls):
        self.calls = calls

    async def click(self, selector):
        await asyncio.sleep(0)
        self.calls.append(f"click {selector}")

    async def content(self):
        await asyncio.sleep(0)
        return "<html><button id='main-button'>Go</button><p>clicked</p></html>"


@dataclass
class Playwright__Serverless:
    calls: list = field(default_factory=list)
    page: Fake_Page = None

    async def launch(self):
        self.calls.append("launch")

    async def new_page(self):
        self.calls.append("new_page")
        self.page = Fake_Page(self.calls)

    async def goto(self, url):
        self.calls.append(f"goto {url}")


# --- the seed's code (Type_Safe -> dataclass) ---------------------------------------------
# fmt: off
@dataclass
class Flow__Web__Automation:
    playwright_serverless : Playwright__Serverless
    url                   : str = 'https://example.com'

    @task()
    async def setup_browser(self) -> Browser:
        await self.playwright_serverless.launch()
        await self.playwright_serverless.new_page()
        print('Browser setup complete')

    @task()
    async def navigate_and_wait(self) -> None:
        await self.playwright_serverless.goto(self.url)
        await asyncio.sleep(1)  # Allow page to stabilize

    @task()
    async def perform_interactions(self, flow_data: dict) -> None:
        page = self.playwright_serverless.page
        await page.click('#main-button')
        content = await page.content()
        flow_data['page_content'] = content

    @task()
    def process_results(self, flow_data: dict) -> None:
        content = flow_data['page_content']
        results = self.analyze_content(content)
        flow_data['analysis_results'] = results

    @flow()
    async def execute_automation(self) -> Flow:
        await self.setup_browser()
        await self.navigate_and_wait()
        await self.perform_interactions()
        self.process_results()
        return 'automation complete'
# fmt: on


class Flow__Web__Automation__With_Analysis(Flow__Web__Automation):
    def analyze_content(self, content):
        return {"length": len(content), "has_button": "main-button" in content}


def main() -> dict:
    """Run the automation against the fake browser and report what it did."""
    automation = Flow__Web__Automation__With_Analysis(
        playwright_serverless=Playwright__Serverless()
    )
    run = automation.execute_automation().execute()
    return {
        "return_value": run.flow_return_value,
        "browser_calls": automation.playwright_serverless.calls,
        "analysis": run.data["analysis_results"],
        "tasks": [(t.task_name, t.status) for t in run.executed_tasks],
        "log_messages": run.log_messages(),
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"browser calls: {outcome['browser_calls']}")
    print(f"analysis: {outcome['analysis']}")
