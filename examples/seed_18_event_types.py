"""Seed block "Event System" listing `Flow_Run__Event_Type` (flow-system.md).

The seed's block is a listing, not Python: it is kept verbatim as text, and this example
checks that flowtel's Flow_Run__Event_Type has exactly the listed members, then shows each one
being raised by a run.
"""

from flowtel import Flow_Run__Event_Type, flow, flow_events, task

SEED_LISTING = """
Flow_Run__Event_Type:
- FLOW_START   : Marks the beginning of flow execution
   Used to initialize resources and prepare for execution

- FLOW_STOP    : Marks the completion of flow execution
   Used for cleanup and final status reporting

- TASK_START   : Indicates a task is beginning
   Useful for tracking task progress and timing

- TASK_STOP    : Indicates a task has completed
   Captures task results and execution metrics

- FLOW_MESSAGE : Carries log messages
   Provides detailed execution information

- NEW_ARTIFACT : Indicates new artifact creation
   Tracks data products and intermediary results

- NEW_RESULT   : Indicates result generation
   Captures final or important intermediate results
"""

LISTED = [
    line.split(":")[0].strip("- ").strip()
    for line in SEED_LISTING.splitlines()
    if line.startswith("- ")
]


@task()
def make_artifact(this_flow=None):
    this_flow.add_flow_artifact(key="report", data={"ok": True}, artifact_type="json")
    this_flow.add_flow_result(key="score", description="10")


@flow()
def every_event_flow():
    make_artifact()
    return "done"


def main() -> dict:
    """Compare the listing with the enum and record the event types one run raises."""
    seen = []
    flow_events.event_listeners.append(seen.append)
    try:
        every_event_flow().execute()
    finally:
        flow_events.event_listeners.remove(seen.append)
    return {
        "listed": LISTED,
        "members": [member.name for member in Flow_Run__Event_Type],
        "seen_types": sorted({event.event_type.name for event in seen}),
    }


if __name__ == "__main__":
    outcome = main()
    assert outcome["listed"] == outcome["members"], outcome
    print(f"event types: {outcome['members']}")
    print(f"raised by one run: {outcome['seen_types']}")
