"""Seed example "Advanced Topics: Custom Event Handlers" (flow-system.md)."""

from flowtel import Flow_Run__Event, Flow_Run__Event_Type, flow, flow_events, task


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
class CustomEventHandler:
    def __init__(self):
        self.events = []

    def handle_event(self, event: Flow_Run__Event):
        if event.event_type == Flow_Run__Event_Type.TASK_START:
            self.handle_task_start(event)
        elif event.event_type == Flow_Run__Event_Type.TASK_STOP:
            self.handle_task_stop(event)

    def handle_task_start(self, event):
        task_name = event.event_data.task_name
        self.events.append(f"Started: {task_name}")

    def handle_task_stop(self, event):
        task_name = event.event_data.task_name
        self.events.append(f"Completed: {task_name}")
# fmt: on


@task()
def extract():
    return [1, 2, 3]


@task()
def load(rows):
    return len(rows)


@flow()
def etl_flow():
    return load(extract())


def main() -> dict:
    """Register the handler, run a flow, unregister, and report what it saw."""
    handler = CustomEventHandler()
    flow_events.event_listeners.append(handler.handle_event)
    try:
        run = etl_flow().execute()
    finally:
        flow_events.event_listeners.remove(handler.handle_event)
    return {"handler_events": handler.events, "return_value": run.flow_return_value}


if __name__ == "__main__":
    outcome = main()
    print(f"handler events: {outcome['handler_events']}")
