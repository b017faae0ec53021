"""Prefect's ``prefect.states``: State, StateType and the state constructors.

A flow or task that returns ``Completed(...)`` ends completed with that data; one that
returns ``Failed(...)`` or ``Cancelled(...)`` ends failed, and its result raises (the
``data`` exception, else FailedRun / CancelledRun with the message).
"""

from __future__ import annotations

from typing import Any

from .._futures import TaskRunFuture
from .._state import State, StateType
from .exceptions import CancelledRun, FailedRun

__all__ = ["Cancelled", "Completed", "Failed", "Pending", "Running", "State", "StateType"]


def Completed(data: Any = None, message: str | None = None, name: str | None = None) -> State:
    """A completed state whose result is ``data``."""
    return State.build(StateType.COMPLETED, value=data, message=message or "", name=name)


def Failed(data: Any = None, message: str | None = None, name: str | None = None) -> State:
    """A failed state; its result raises ``data`` (an exception) or FailedRun(message)."""
    error = data if isinstance(data, BaseException) else FailedRun(message or "Run failed")
    return State.build(StateType.FAILED, error=error, message=message or "", name=name)


def Cancelled(data: Any = None, message: str | None = None, name: str | None = None) -> State:
    """A cancelled state; its result raises ``data`` (an exception) or CancelledRun(message)."""
    error = data if isinstance(data, BaseException) else CancelledRun(message or "Run cancelled")
    return State.build(StateType.CANCELLED, error=error, message=message or "", name=name)


def Pending(message: str | None = None, name: str | None = None) -> State:
    """A run not started yet."""
    return State.build(StateType.PENDING, message=message or "", name=name)


def Running(message: str | None = None, name: str | None = None) -> State:
    """A run in progress."""
    return State.build(StateType.RUNNING, message=message or "", name=name)


def final_value(value: Any) -> Any:
    """A run's return value with a returned State or future turned into its outcome.

    Raises the error of a returned failed State or of a returned future whose task failed.
    """
    if isinstance(value, TaskRunFuture):
        return value.result()
    if isinstance(value, State):
        if value.type == StateType.COMPLETED:
            return value.value
        if value.error is not None:
            raise value.error
        raise FailedRun(value.message or f"Run ended in state {value}")
    return value


def prefect_state(run: Any) -> State:
    """A finished run's State with Prefect's message for a run that raised."""
    state = State.of(run)
    error = state.error
    if error is not None and state.type == StateType.FAILED:
        if isinstance(error, (FailedRun, CancelledRun)):
            state.message = str(error)
        else:
            # Prefect's wording (the flow's has a colon, the task's not)
            if hasattr(run, "flow_status"):
                state.message = f"Flow run encountered an exception: {state.message}"
            else:
                state.message = f"Task run encountered an exception {state.message}"
    return state
