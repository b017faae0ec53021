"""get_run_logger(): a stdlib logger whose records become the current run's messages."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from ._context import current_flow, current_task

RUN_LOGGER_NAME = "flowtel.run"


class _RunMessageHandler(logging.Handler):
    """Turns records of run loggers into flow messages of the run they are bound to."""

    def emit(self, record: logging.LogRecord) -> None:
        run = getattr(record, "flowtel_run", None)
        if run is None:
            return
        try:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            run._log(record.levelno, text)
        except Exception:
            self.handleError(record)


_run_logger = logging.getLogger(RUN_LOGGER_NAME)
_run_logger.setLevel(logging.DEBUG)
_run_logger.propagate = False
_run_logger.addHandler(_RunMessageHandler())


class RunLogger(logging.LoggerAdapter):
    """A ``logging`` logger bound to one flow or task run (``.run``)."""

    def __init__(self, run: Any) -> None:
        super().__init__(_run_logger, {"flowtel_run": run})
        self.run = run

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = kwargs.get("extra")
        # The caller's own extra keys are kept; without any, the adapter's dict serves as is.
        kwargs["extra"] = {**extra, "flowtel_run": self.run} if extra else self.extra
        return msg, kwargs


def get_run_logger() -> logging.Logger | logging.LoggerAdapter:
    """A logger bound to the current task run (or flow run); outside runs, a plain logger.

    Its records become that run's flow messages: kept in the run's log, raised as
    FLOW_MESSAGE events and exported as span events and OTel log records (at or above the
    export level), just like ``log_info`` and friends.
    """
    task = current_task.get()
    if task is not None and task.task_flow is not None:
        return RunLogger(task)
    flow = current_flow.get()
    if flow is not None:
        return RunLogger(flow)
    return logging.getLogger("flowtel")
