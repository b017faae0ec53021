"""Seed example "Event Listening" (flow-system.md).

The seed registers a listener that prints; a small flow (one task that logs) is run while it
is registered, and the listener is removed afterwards.
"""

from flowtel import Flow_Run__Event, Flow_Run__Event_Type, flow, flow_events, task


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
def event_listener(event: Flow_Run__Event):
    # Handle different event types
    if event.event_type == Flow_Run__Event_Type.TASK_START:
        print(f"Task started: {event.event_data.task_name}")
    elif event.event_type == Flow_Run__Event_Type.FLOW_MESSAGE:
        print(f"Log message: {event.event_data.data['message_data']['message']}")

# Register the listener
flow_events.event_listeners.append(event_listener)
# fmt: on


@task()
def say_hello(this_task=None):
    this_task.log_info("hello from the task")
    return "hello"


@flow()
def listened_flow():
    return say_hello()


def main() -> dict:
    """Run a flow with the seed's listener registered, then remove it."""
    if event_listener not in flow_events.event_listeners:
        flow_events.event_listeners.append(event_listener)
    try:
        run = listened_flow().execute()
    finally:
        flow_events.event_listeners.remove(event_listener)
    return {"return_value": run.flow_return_value, "log_messages": run.log_messages()}


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
