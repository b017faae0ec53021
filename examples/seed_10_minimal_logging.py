"""Seed example "Performance Optimization: 1. Minimal Logging" (flow-system.md)."""

from flowtel import Flow_Run__Config, flow, flow_events, task

# fmt: off
flow_config = Flow_Run__Config(
    log_to_memory=False,
    log_to_console=False
)
# fmt: on


@task()
def busy_task(this_flow=None):
    this_flow.log_info("this message is not kept in memory")
    print("neither is this print")
    return 42


@flow(flow_config=flow_config)
def quiet_flow():
    return busy_task()


def main() -> dict:
    """Run a flow with the minimal-logging config; messages still reach listeners."""
    messages = []

    def listener(event):
        if event.event_type.value == "flow_message":
            messages.append(event.event_data.data["message_data"]["message_text"])

    flow_events.event_listeners.append(listener)
    try:
        run = quiet_flow().execute()
    finally:
        flow_events.event_listeners.remove(listener)
    return {
        "return_value": run.flow_return_value,
        "log_messages": run.log_messages(),
        "event_messages": messages,
        "config": flow_config,
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"kept log messages: {outcome['log_messages']}")
