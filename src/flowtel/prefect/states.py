"""Prefect's ``prefect.states``: State, StateType and the state constructors.

A flow or task that returns ``Completed(...)`` ends completed with that data; one that
returns ``Failed(...)`` or ``Cancelled(...)`` ends failed, and its result raises (the
``data`` exception, else FailedRun / CancelledRun with the message).
"""

from __future__ import annotations

import weakref
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


class ReturnedState(FailedRun):
    """A task returned a failed State: the task run fails, and its call returns that State."""

    def __init__(self, state: State) -> None:
        super().__init__(state.message or f"Run ended in state {state}")
        self.state = state


def task_final_value(value: Any) -> Any:
    """A task's return value; a returned failed State fails the run (the call returns it)."""
    if isinstance(value, State) and value.type != StateType.COMPLETED:
        raise mark_returned(ReturnedState(value))
    return value


class StatesFailed(FailedRun):
    """A flow returned states or futures of which some failed; ``value`` is what it returned."""

    def __init__(self, message: str, value: Any) -> None:
        super().__init__(message)
        self.value = value


# Completed flow runs that returned states or futures: Prefect's message for their state.
_completed_messages: weakref.WeakKeyDictionary[Any, tuple[str, str]] = weakref.WeakKeyDictionary()


_RETURNED = "_flowtel_prefect_returned_state"


def mark_returned(error: BaseException) -> BaseException:
    """Note that a run failed by returning a state, not by raising (Prefect logs it at INFO)."""
    try:
        setattr(error, _RETURNED, True)
    except Exception:  # an exception type that refuses attributes keeps the default display
        pass
    return error


def from_returned_state(error: BaseException | None) -> bool:
    return error is not None and getattr(error, _RETURNED, False) is True


def mark_not_started(error: BaseException) -> BaseException:
    """Note that a flow failed before it began (invalid parameters): Prefect logs nothing."""
    try:
        setattr(error, _RETURNED, "not started")
    except Exception:
        pass
    return error


def not_started(error: BaseException | None) -> bool:
    return error is not None and getattr(error, _RETURNED, None) == "not started"


def _as_state(item: Any) -> Any:
    if isinstance(item, TaskRunFuture):
        item.wait()
        state = getattr(item, "state", None)
        if state is None:  # a core future: its outcome as a state
            error = item._future.exception()
            kind = StateType.FAILED if error is not None else StateType.COMPLETED
            return State.build(kind, value=None if error else item.result(), error=error)
        return state
    return item


def final_value(value: Any, run: Any = None) -> Any:
    """A run's return value with returned States or futures turned into its outcome.

    As in Prefect: a returned State ends the run in it, a returned future in its task's
    outcome; futures in a returned list, tuple, set or dict are given back as their States,
    and a list, tuple or set made only of States ends Failed if any of them failed
    (``"1/3 states failed."``).
    """
    if isinstance(value, TaskRunFuture):
        if run is not None:
            _completed_messages[run] = ("Completed", "All states completed.")
        return value.result()
    if isinstance(value, State):
        if value.type == StateType.COMPLETED:
            if run is not None and (value.message or value.name != "Completed"):
                _completed_messages[run] = (value.name, value.message)
            return value.value
        error = value.error or FailedRun(value.message or f"Run ended in state {value}")
        mark_returned(error)
        raise error
    if run is not None and isinstance(value, (list, tuple, set)):
        items = list(value)
        if any(isinstance(item, TaskRunFuture) for item in items):
            items = [_as_state(item) for item in items]
            value = items if isinstance(value, list) else type(value)(items)
        if items and all(isinstance(item, State) for item in items):
            failed = sum(
                1 for item in items if item.type in (StateType.FAILED, StateType.CANCELLED)
            )
            if failed:
                raise mark_returned(StatesFailed(f"{failed}/{len(items)} states failed.", value))
            _completed_messages[run] = ("Completed", "All states completed.")
    elif run is not None and isinstance(value, dict):
        if any(isinstance(item, TaskRunFuture) for item in value.values()):
            value = {key: _as_state(item) for key, item in value.items()}
    return value


def prefect_state(run: Any) -> State:
    """A finished run's State with Prefect's message for a run that raised."""
    state = State.of(run)
    error = state.error
    if isinstance(error, ReturnedState):
        return error.state
    if isinstance(error, StatesFailed):
        return State.build(StateType.FAILED, value=error.value, message=str(error), run=run)
    if state.type == StateType.COMPLETED:
        if isinstance(state.value, State) and not hasattr(run, "flow_status"):
            return state.value  # a task that returned a State ends in it
        state.name, state.message = _completed_messages.get(run, ("Completed", ""))
    elif error is not None and state.type == StateType.FAILED:
        if getattr(run, "_timed_out", False):
            options = run._options if hasattr(run, "flow_status") else run.definition.options
            kind = "Flow" if hasattr(run, "flow_status") else "Task"
            state.message = f"{kind} run exceeded timeout of {options.timeout_seconds} second(s)"
        elif isinstance(error, (FailedRun, CancelledRun)):
            state.message = str(error)
        else:
            # Prefect's wording (the flow's has a colon, the task's not)
            if hasattr(run, "flow_status"):
                state.message = f"Flow run encountered an exception: {state.message}"
            else:
                state.message = f"Task run encountered an exception {state.message}"
    return state
