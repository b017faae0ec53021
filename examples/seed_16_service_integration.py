"""Seed example "Integration Patterns: 1. External Service Integration" (flow-system.md).

`Type_Safe` becomes a plain class; the seed leaves `service` and `process` undefined (a fake
async service and a function are assigned to the instance), and defines no flow, so a small
flow calls the two tasks.
"""

import asyncio

from flowtel import flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Fake_Weather_Service:
    async def call(self):
        await asyncio.sleep(0)
        return {"city": "Lisbon", "celsius": 21}


# --- the seed's code (Type_Safe -> plain class) -------------------------------------------
# fmt: off
class ServiceIntegrationFlow:
    @task()
    async def call_service(self, flow_data: dict):
        response = await self.service.call()
        flow_data['service_response'] = response

    @task()
    def process_response(self, flow_data: dict):
        response = flow_data['service_response']
        result = self.process(response)
        return result
# fmt: on


@flow()
async def service_flow(integration):
    await integration.call_service()
    return integration.process_response()


def main() -> dict:
    """Run the service integration flow and report the processed response."""
    integration = ServiceIntegrationFlow()
    integration.service = Fake_Weather_Service()
    integration.process = lambda response: f"{response['city']}: {response['celsius']}C"
    run = service_flow(integration).execute()
    return {
        "return_value": run.flow_return_value,
        "service_response": run.data["service_response"],
        "tasks": [(t.task_name, t.task_return_value) for t in run.executed_tasks],
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
