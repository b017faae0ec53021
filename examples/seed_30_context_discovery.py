"""Seed block "Context Discovery" (flow-system.md).

The seed shows how OSBot-Utils finds the parent Flow by stack inspection. flowtel does not do
that (it uses contextvars); this example keeps the seed's function as written and runs it from
inside a task, to show it finds the same Flow that flowtel injects as `this_flow`.
"""

import inspect

from flowtel import Flow, flow, get_current_flow, task


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
def find_flow(self):
    # Examine the call stack
    stack = inspect.stack()
    for frame_info in stack:
        frame = frame_info.frame
        # Look for Flow instances
        for var_name, var_value in frame.f_locals.items():  # noqa: B007 (seed code)
            if type(var_value) is Flow:
                return var_value
    return None
# fmt: on


@task()
def discover(this_task=None, this_flow=None):
    return {
        "stack_inspection": find_flow(this_task),
        "contextvars": get_current_flow(),
        "injected": this_flow,
    }


@flow()
def discovery_flow():
    return discover()


def main() -> dict:
    """Compare the seed's stack-inspection discovery with flowtel's contextvars discovery."""
    outside_a_flow = find_flow(None)  # before any Flow is a local of this frame
    run = discovery_flow().execute()
    found = run.flow_return_value
    return {
        "run": run,
        "found": found,
        "all_same": found["stack_inspection"] is found["contextvars"] is found["injected"] is run,
        "outside_a_flow": outside_a_flow,
    }


if __name__ == "__main__":
    outcome = main()
    print(f"stack inspection, contextvars and injection agree: {outcome['all_same']}")
