"""Prefect's ``prefect.exceptions`` names that flowtel.prefect raises."""

from __future__ import annotations

from typing import Any

from .._execution import FlowRunTimeoutError, TaskRunTimeoutError

__all__ = [
    "CancelledRun",
    "FailedRun",
    "FlowRunTimeoutError",
    "MissingContextError",
    "ParameterTypeError",
    "PrefectException",
    "TaskRunTimeoutError",
    "UpstreamTaskError",
]


class PrefectException(Exception):
    """Base of the errors below."""


class FailedRun(PrefectException):
    """The result of a run that ended Failed without an exception of its own."""


class CancelledRun(PrefectException):
    """The result of a run that ended Cancelled."""


class MissingContextError(PrefectException, RuntimeError):
    """``get_run_logger()`` (or the like) called outside any flow or task run."""


class UpstreamTaskError(PrefectException):
    """A task was not run because a task it waits for did not complete."""


class ParameterTypeError(PrefectException):
    """A flow parameter does not fit its annotation (``validate_parameters=True``)."""

    @classmethod
    def from_validation_error(cls, error: Any) -> ParameterTypeError:
        problems = [
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        ]
        return cls("Flow run received invalid parameters:\n - " + "\n - ".join(problems))
