"""Seed example "Resource Management: 2. Async Resource Management" (flow-system.md).

`Type_Safe` becomes a plain class. The seed leaves `setup_resources` and `cleanup_resources`
undefined; a subclass provides them, and a flow runs inside the `async with` block.
"""

import asyncio

from flowtel import flow, task


# --- the seed's code (Type_Safe -> plain class) -------------------------------------------
# fmt: off
class AsyncResourceFlow:
    async def __aenter__(self):
        await self.setup_resources()
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        await self.cleanup_resources()
# fmt: on


# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Connection_Pool_Flow(AsyncResourceFlow):
    def __init__(self):
        self.timeline = []

    async def setup_resources(self):
        await asyncio.sleep(0)
        self.timeline.append("setup")

    async def cleanup_resources(self):
        await asyncio.sleep(0)
        self.timeline.append("cleanup")


@task()
async def query(pool):
    await asyncio.sleep(0)
    pool.timeline.append("query")
    return "rows"


@flow()
async def pool_flow(pool):
    return await query(pool)


async def run_with_resources():
    async with Connection_Pool_Flow() as pool:
        run = await pool_flow(pool).execute_async()
    return pool, run


def main() -> dict:
    """Run a flow inside the async resource block and report the order of events."""
    pool, run = asyncio.run(run_with_resources())
    return {"timeline": pool.timeline, "return_value": run.flow_return_value}


if __name__ == "__main__":
    outcome = main()
    print(f"timeline: {outcome['timeline']}")
