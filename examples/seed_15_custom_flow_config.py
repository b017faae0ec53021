"""Seed example "Advanced Topics: Custom Flow Configurations" (flow-system.md)."""

from flowtel import Flow_Run__Config, flow, task


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
class CustomFlowConfig(Flow_Run__Config):
    def __init__(self):
        super().__init__()
        self.log_to_console = True
        self.print_logs = True

    def custom_setup(self):
        # Additional setup logic
        pass
# fmt: on


@task()
def greet(name, this_flow=None):
    this_flow.log_info(f"hello {name}")
    return f"hello {name}"


config = CustomFlowConfig()
config.custom_setup()


@flow(flow_config=config)
def greeting_flow(name):
    return greet(name)


def main() -> dict:
    """Run a flow with the custom config (console logging and printed logs)."""
    run = greeting_flow("flowtel").execute()
    return {
        "return_value": run.flow_return_value,
        "config": {"log_to_console": config.log_to_console, "print_logs": config.print_logs},
        "log_messages": run.log_messages(),
        "log_entries": [(entry.task_name, entry.text) for entry in run.log_entries()],
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
