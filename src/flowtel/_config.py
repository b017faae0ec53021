"""Flow_Run__Config: the per-flow switches documented in the seed."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class Flow_Run__Config:
    """Switches for one flow's logging, output and error handling.

    Every field is a bool; assigning anything else raises TypeError naming the field,
    both in the constructor and on later assignment (so subclasses that set fields in
    ``__init__`` are checked too). Runs never mutate a config.
    """

    add_task_to_self: bool = True
    log_to_console: bool = False
    log_to_memory: bool = True
    logging_enabled: bool = True
    print_logs: bool = False
    print_none_return_value: bool = False
    print_finished_message: bool = False
    raise_flow_error: bool = True
    echo_prints: bool = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FIELD_NAMES and type(value) is not bool:
            raise TypeError(
                f"Flow_Run__Config.{name} must be a bool (True or False), "
                f"got {type(value).__name__} {value!r}"
            )
        object.__setattr__(self, name, value)


_FIELD_NAMES = frozenset(f.name for f in fields(Flow_Run__Config))

DEFAULT_CONFIG = Flow_Run__Config()
