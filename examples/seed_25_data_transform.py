"""Seed example "Real-World Implementation Patterns: Data Transformation Pattern" (flow-system.md).

`Type_Safe` becomes a plain class; the seed leaves `source` and `transform_function`
undefined: a fake async source and a function are assigned to the instance.
"""

import asyncio

from flowtel import Flow, flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Fake_Screenshot_Source:
    async def get_data(self):
        await asyncio.sleep(0)
        return b"\x89PNG fake screenshot"


# --- the seed's code (Type_Safe -> plain class) -------------------------------------------
# fmt: off
class Flow__Data__Transform:
    @task()
    async def capture_data(self, flow_data: dict) -> None:
        raw_data = await self.source.get_data()
        flow_data['raw_data'] = raw_data

    @task()
    def transform_data(self, flow_data: dict) -> None:
        raw_data = flow_data['raw_data']
        transformed = self.transform_function(raw_data)
        flow_data['transformed'] = transformed

    @flow()
    async def execute_transformation(self) -> Flow:
        await self.capture_data()
        self.transform_data()
        return 'transformation complete'
# fmt: on


def main() -> dict:
    """Run the transformation and report the shared data."""
    transform = Flow__Data__Transform()
    transform.source = Fake_Screenshot_Source()
    transform.transform_function = lambda raw: {"size": len(raw), "kind": raw[1:4].decode()}
    run = transform.execute_transformation().execute()
    return {"return_value": run.flow_return_value, "flow_data": dict(run.data)}


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"transformed: {outcome['flow_data']['transformed']}")
