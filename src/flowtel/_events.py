"""Public lifecycle events and the listener registry.

Events are built only when someone listens: with an empty ``flow_events.event_listeners``
a run pays one truthiness check per lifecycle point.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ._context import print_sink

__all__ = [
    "Flow_Events",
    "Flow_Run__Event",
    "Flow_Run__Event_Data",
    "Flow_Run__Event_Type",
    "flow_events",
]

_logger = logging.getLogger("flowtel.events")
# The listeners running in this context (thread, asyncio task, or a worker that copied it).
_delivering: ContextVar[tuple[Any, ...]] = ContextVar("flowtel.delivering", default=())


class Flow_Run__Event_Type(str, Enum):
    """What happened in a run."""

    FLOW_START = "flow_start"
    FLOW_STOP = "flow_stop"
    TASK_START = "task_start"
    TASK_STOP = "task_stop"
    FLOW_MESSAGE = "flow_message"
    NEW_ARTIFACT = "new_artifact"
    NEW_RESULT = "new_result"

    def __str__(self) -> str:
        return self.value


@dataclass
class Flow_Run__Event_Data:
    """Where an event came from and its payload."""

    data: dict = field(default_factory=dict)
    event_source: str = ""
    flow_name: str = ""
    flow_run_id: str = ""
    log_level: int = 0
    task_name: str = ""
    task_run_id: str = ""


_event_ids = itertools.count(1)


@dataclass
class Flow_Run__Event:
    """One lifecycle event. ``event_id`` is unique in the process; ``timestamp`` is epoch ms."""

    event_type: Flow_Run__Event_Type
    event_data: Flow_Run__Event_Data
    event_id: int = field(default_factory=lambda: next(_event_ids))
    timestamp: int = field(default_factory=lambda: time.time_ns() // 1_000_000)


Listener = Callable[[Flow_Run__Event], Any]


class Flow_Events:
    """The process-wide listener registry.

    ``event_listeners`` is a plain list: append or remove callables. Each listener is
    called synchronously, in list order, on the thread that raised the event; it must not
    block. A listener that raises an ``Exception`` is reported once through ``logging`` and
    is otherwise ignored: the run and the other listeners carry on (``KeyboardInterrupt``
    and ``SystemExit`` propagate, and the run ends as cancelled). Events raised while a
    listener runs (by a flow it starts, say) are not delivered to that listener again; the
    other listeners get them.
    """

    _logger = _logger  # where a failing listener is reported

    def __init__(self) -> None:
        self.event_listeners: list[Listener] = []
        self._reported: set[Any] = set()

    def raise_event(self, event: Flow_Run__Event) -> None:
        # A listener's own print() goes to the real stdout, not back into the run's log
        # (which would raise another event for it).
        token = print_sink.set(None)
        delivering = _delivering.get()
        try:
            for listener in tuple(self.event_listeners):
                # Events raised by what a listener does (a flow it runs, a message it logs)
                # are not delivered to that same listener: it would be called without end.
                if delivering and any(listener is busy for busy in delivering):
                    continue
                busy_token = _delivering.set((*delivering, listener))
                try:
                    listener(event)
                except Exception:
                    self._report(listener)
                finally:
                    _delivering.reset(busy_token)
        finally:
            print_sink.reset(token)

    def _report(self, listener: Listener) -> None:
        try:
            key: Any = listener
            hash(key)
        except TypeError:
            key = id(listener)
        if key in self._reported:
            return
        self._reported.add(key)
        self._logger.exception(
            "flowtel event listener %r raised; it stays registered and later errors "
            "from it are not reported",
            listener,
        )

    def reset(self) -> None:
        """Remove every listener and forget reported failures (for tests)."""
        self.event_listeners.clear()
        self._reported.clear()


flow_events = Flow_Events()
