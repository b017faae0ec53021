"""Seed block "Flow Configuration (Flow_Run__Config)" (flow-system.md).

The seed's class is kept as written (it is a specification of fields and defaults); this
example checks flowtel's Flow_Run__Config against it, field by field.
"""

import flowtel


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
class Flow_Run__Config:
    # Controls whether tasks are added to the flow instance
    # Useful for tracking task history and relationships
    add_task_to_self         : bool = True

    # Determines if logs should be written to console
    # Helpful for development and debugging
    log_to_console           : bool = False

    # Controls in-memory log retention
    # Important for post-execution analysis
    log_to_memory           : bool = True

    # Master switch for logging functionality
    # Can disable all logging for performance
    logging_enabled         : bool = True

    # Controls automatic log printing after execution
    # Useful for immediate feedback
    print_logs             : bool = False

    # Determines if None returns are printed
    # Helps track task completion
    print_none_return_value: bool = False

    # Controls end-of-execution messages
    # Provides execution boundaries
    print_finished_message : bool = False

    # Controls error propagation
    # Critical for error handling strategy
    raise_flow_error       : bool = True
# fmt: on


def main() -> dict:
    """Compare the seed's fields and defaults with flowtel's Flow_Run__Config()."""
    seed_defaults = {
        name: getattr(Flow_Run__Config, name) for name in Flow_Run__Config.__annotations__
    }
    flowtel_config = flowtel.Flow_Run__Config()
    flowtel_defaults = {name: getattr(flowtel_config, name) for name in seed_defaults}
    return {
        "seed_defaults": seed_defaults,
        "flowtel_defaults": flowtel_defaults,
    }


if __name__ == "__main__":
    outcome = main()
    assert outcome["seed_defaults"] == outcome["flowtel_defaults"], outcome
    print(f"defaults match the seed: {outcome['flowtel_defaults']}")
