"""Prefect's ``prefect.logging.loggers.get_run_logger`` on flowtel runs."""

from __future__ import annotations

import logging
import sys
from typing import Any

from ..._context import current_flow, current_task
from ..._run import format_message, safe_str
from ..._run_logger import get_run_logger as _core_run_logger
from .. import _console
from ..exceptions import MissingContextError

__all__ = ["get_run_logger"]


class _TaskOutsideFlowLogger(logging.LoggerAdapter):
    """The logger of a task called outside any flow: its records go to Prefect's console."""

    def __init__(self, run: Any) -> None:
        super().__init__(logging.getLogger("flowtel.prefect.task_runs"), {})
        self.run = run

    def isEnabledFor(self, level: int) -> bool:
        return level >= _console.console_level()

    def log(self, level: int, msg: Any, *args: Any, exc_info: Any = None, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = format_message(safe_str(msg), args)
            if exc_info:  # logger.exception(...) and exc_info=: the traceback, as Prefect shows
                if isinstance(exc_info, BaseException):
                    error: BaseException | None = exc_info
                elif isinstance(exc_info, tuple):
                    error = exc_info[1]
                else:
                    error = sys.exc_info()[1]
                text = _console.with_traceback(text, error)
            _console.write_line(level, _console.run_label(self.run), text)


def get_run_logger() -> logging.Logger | logging.LoggerAdapter:
    """A logger for the current task or flow run; its records become run messages.

    They are kept in the run's log, exported as span events and OTel log records, and
    shown on stderr the way Prefect's console shows them. Outside any run it raises
    MissingContextError, as Prefect does.
    """
    task = current_task.get()
    if task is not None and task.task_flow is None:
        return _TaskOutsideFlowLogger(task)
    if task is None and current_flow.get() is None:
        raise MissingContextError("There is no active flow or task run context.")
    return _core_run_logger()
