"""Flow_Run__Config: flowtel's config plus OSBot-Utils' two extra switches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..._config import Flow_Run__Config as _CoreConfig

__all__ = ["Flow_Run__Config"]

_EXTRA_FIELDS = frozenset({"print_error_stack_trace", "flow_data__capture_events"})


@dataclass
class Flow_Run__Config(_CoreConfig):
    """A flowtel Flow_Run__Config (so every flowtel Flow accepts it) with two more bools.

    ``print_error_stack_trace``: a failing flowtel.osbot task prints its traceback to stdout.
    ``flow_data__capture_events``: a flowtel.osbot Flow keeps the events of its runs in
    ``flow.flow_data``.
    """

    print_error_stack_trace: bool = False
    flow_data__capture_events: bool = False

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXTRA_FIELDS and type(value) is not bool:
            raise TypeError(
                f"Flow_Run__Config.{name} must be a bool (True or False), "
                f"got {type(value).__name__} {value!r}"
            )
        super().__setattr__(name, value)
