"""Seed example "Performance Optimization: 2. Efficient Task Design" (flow-system.md).

The seed leaves `required_keys` and `process_subset` undefined: small stand-ins below, and a
flow that fills flow_data and calls the task.
"""

from flowtel import flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------

required_keys = ("price", "quantity")


def process_subset(subset):
    return {"total": subset["price"] * subset["quantity"]}


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
@task()
def optimized_task(flow_data: dict):
    # Process only required data
    subset = {k: flow_data[k] for k in required_keys}
    result = process_subset(subset)
    # Store only necessary results
    flow_data.update(result)
# fmt: on


@flow()
def order_flow(flow_data):
    flow_data.update({"price": 3, "quantity": 4, "comment": "not needed"})
    optimized_task()
    return flow_data["total"]


def main() -> dict:
    """Run the flow and report the shared data the task updated."""
    run = order_flow().execute()
    return {"return_value": run.flow_return_value, "flow_data": dict(run.data)}


if __name__ == "__main__":
    outcome = main()
    print(f"total: {outcome['return_value']}")
