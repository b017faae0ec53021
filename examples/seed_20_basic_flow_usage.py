"""Seed example "Usage Patterns: Basic Flow Usage" (flow-system.md).

The seed leaves `data` and `processed_data` undefined: module-level stand-ins below.
"""

from flowtel import flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------

data = {"orders": [3, 4, 5]}
processed_data = {"orders": 3, "status": "processed"}


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
# Define a flow that processes input data
@flow()
def my_flow(input_data):
    # The flow coordinates the overall process
    result = process_data(input_data)
    return result

# Define a task that performs specific work
@task()
def process_data(data):
    # Tasks handle individual units of work
    # This could be data transformation, API calls, etc.
    return processed_data

# Execute the flow and get results
flow_instance = my_flow(data).execute()
# fmt: on


def main() -> dict:
    """Report the run the seed's code made at import time."""
    return {
        "flow_instance": flow_instance,
        "return_value": flow_instance.flow_return_value,
        "flow_name": flow_instance.flow_name,
        "tasks": [(t.task_name, t.status) for t in flow_instance.executed_tasks],
        "results": flow_instance.flow_results,
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
