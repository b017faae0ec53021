"""Flow__Logger: ``flow.logger`` of a flowtel.osbot Flow, with OSBot's memory logger."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .Flow import Flow

__all__ = ["Flow__Logger"]


class Flow__Logger:
    """Logs into its flow's run (``debug``/``info``/``warning``/``error``/``critical``).

    The memory logger is a window on the run's own log: ``add_memory_logger()`` marks where
    it starts, ``memory_handler_messages()`` returns the messages since then (plain text:
    flowtel's messages carry no ANSI colours), ``remove_memory_logger()`` closes it.

    It holds its flow weakly, so that ``flow.logger`` makes no reference cycle: a released
    run is freed at once, as flowtel's own runs are. A logger kept after its flow was
    released raises RuntimeError.
    """

    def __init__(self, flow: Flow) -> None:
        self._flow_ref = weakref.ref(flow)
        self._memory_start: int | None = None

    @property
    def _flow(self) -> Flow:
        flow = self._flow_ref()
        if flow is None:
            raise RuntimeError(
                "this Flow__Logger's flow was released: keep the Flow, and use flow.logger"
            )
        return flow

    def debug(self, message: Any) -> None:
        self._flow.log_debug(message)

    def info(self, message: Any) -> None:
        self._flow.log_info(message)

    def warning(self, message: Any) -> None:
        self._flow.log_warning(message)

    def error(self, message: Any) -> None:
        self._flow.log_error(message)

    def critical(self, message: Any) -> None:
        self._flow.log_critical(message)

    def add_memory_logger(self) -> Flow__Logger:
        self._memory_start = len(self._flow.log_messages())
        return self

    def remove_memory_logger(self) -> Flow__Logger:
        self._memory_start = None
        return self

    def memory_handler_messages(self) -> list[str]:
        """The run's messages since add_memory_logger(); [] when there is no memory logger."""
        if self._memory_start is None:
            return []
        return self._flow.log_messages()[self._memory_start :]
