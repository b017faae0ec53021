"""Seed block "Event Data Structure" (flow-system.md).

The seed's class is kept as written (it is a specification); this example checks flowtel's
Flow_Run__Event_Data against it and shows a real event's data.
"""

import flowtel
from flowtel import flow, flow_events, task


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
class Flow_Run__Event_Data:
    data        : dict   # Event-specific payload
    event_source: str    # Event origin
    flow_name   : str    # Flow identifier
    flow_run_id : str    # Execution identifier
    log_level   : int    # Message severity
    task_name   : str    # Task identifier
    task_run_id : str    # Task execution identifier
# fmt: on


@task()
def warn(this_task=None):
    this_task.log_warning("disk almost full")


@flow()
def warning_flow():
    warn()


def main() -> dict:
    """Capture the warning's event and compare its data's fields with the seed's."""
    events = []
    flow_events.event_listeners.append(events.append)
    try:
        run = warning_flow().execute()
    finally:
        flow_events.event_listeners.remove(events.append)
    warning = next(
        event
        for event in events
        if event.event_type == flowtel.Flow_Run__Event_Type.FLOW_MESSAGE
        and event.event_data.data["message_data"]["message_text"] == "disk almost full"
    )
    seed_fields = Flow_Run__Event_Data.__annotations__
    event_data = warning.event_data
    return {
        "run": run,
        "event_data": event_data,
        "seed_fields": dict(seed_fields),
        "field_types_match": {
            name: isinstance(getattr(event_data, name), expected)
            for name, expected in seed_fields.items()
        },
    }


if __name__ == "__main__":
    outcome = main()
    assert all(outcome["field_types_match"].values()), outcome["field_types_match"]
    data = outcome["event_data"]
    print(f"event data: flow={data.flow_name} task={data.task_name} level={data.log_level}")
