"""Seed example "Resource Management: 1. Context Manager Pattern" (flow-system.md).

`Type_Safe` becomes a plain class. The seed's class only shows the protocol; here a flow runs
inside its `with` block.
"""

from flowtel import flow, task


# --- the seed's code (Type_Safe -> plain class) -------------------------------------------
# fmt: off
class ManagedResourceFlow:
    def __enter__(self):
        # Setup resources
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        # Cleanup resources
        pass
# fmt: on


@task()
def use_resource(resource, this_flow=None):
    this_flow.log_info(f"using {type(resource).__name__}")
    return type(resource).__name__


@flow()
def resource_flow(resource):
    return use_resource(resource)


def main() -> dict:
    """Run a flow inside the managed resource block."""
    managed = ManagedResourceFlow()
    with managed as resource:
        run = resource_flow(resource).execute()
    return {
        "entered_same_object": resource is managed,
        "return_value": run.flow_return_value,
        "log_has_message": "using ManagedResourceFlow" in run.log_messages(),
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
