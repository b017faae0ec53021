"""State: the final state of a flow or task run, shaped like Prefect's."""

from __future__ import annotations

import enum
from typing import Any

from ._run import STATUS_COMPLETED, STATUS_FAILED, STATUS_PENDING, STATUS_RUNNING, error_text


class StateType(str, enum.Enum):
    """The kind of a run state; a ``str`` so ``state.type == "COMPLETED"`` holds too."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    def __str__(self) -> str:
        return self.value


PENDING = StateType.PENDING
RUNNING = StateType.RUNNING
COMPLETED = StateType.COMPLETED
FAILED = StateType.FAILED
CANCELLED = StateType.CANCELLED
_FINAL = (COMPLETED, FAILED, CANCELLED)


class State:
    """How a run ended: ``type`` (COMPLETED, FAILED, CANCELLED), ``name``, ``message``.

    ``result()`` returns the run's value, or raises its error (``raise_on_failure=False``
    returns the error instead). A run still going has a PENDING or RUNNING state.
    """

    __slots__ = ("error", "message", "name", "run", "type", "value")

    def __class_getitem__(cls, item: Any) -> type[State]:
        # ``State[int]`` in annotations, as with Prefect's generic State.
        return cls

    def __init__(self, run: Any, value: Any, error: BaseException | None, status: str) -> None:
        self.run = run
        self.value = value
        self.error = error
        if status == STATUS_COMPLETED:
            self.type, self.name = COMPLETED, "Completed"
        elif status == STATUS_FAILED:
            self.type = FAILED
            self.name = "TimedOut" if getattr(run, "_timed_out", False) else "Failed"
        elif status == STATUS_RUNNING:
            self.type, self.name = RUNNING, "Running"
        elif status == STATUS_PENDING:
            self.type, self.name = PENDING, "Pending"
        else:
            self.type, self.name = CANCELLED, "Cancelled"
        self.message = error_text(error) if error is not None else ""

    @classmethod
    def of(cls, run: Any) -> State:
        """The state of a finished Flow or Task run."""
        from ._flow import Flow

        if isinstance(run, Flow):
            return cls(run, run.flow_return_value, run.flow_error, run.flow_status)
        return cls(run, run.task_return_value, run.task_error, run.status)

    @classmethod
    def build(
        cls,
        state_type: StateType,
        value: Any = None,
        error: BaseException | None = None,
        message: str = "",
        name: str | None = None,
        run: Any = None,
    ) -> State:
        """A state made by hand (Prefect's ``Completed(...)``, ``Failed(...)``, ...)."""
        state = cls.__new__(cls)
        state.run = run
        state.value = value
        state.error = error
        state.type = StateType(state_type)
        state.name = name or state.type.value.capitalize()
        state.message = message
        return state

    def is_completed(self) -> bool:
        return self.type == COMPLETED

    def is_failed(self) -> bool:
        return self.type == FAILED

    def is_cancelled(self) -> bool:
        return self.type == CANCELLED

    def is_pending(self) -> bool:
        return self.type == PENDING

    def is_running(self) -> bool:
        return self.type == RUNNING

    def is_final(self) -> bool:
        return self.type in _FINAL

    def result(self, raise_on_failure: bool = True) -> Any:
        if self.error is not None:
            if raise_on_failure:
                raise self.error
            return self.error
        return self.value

    def __eq__(self, other: object) -> bool:
        # Two states of one outcome are equal (Prefect's states compare by value too).
        if not isinstance(other, State):
            return NotImplemented
        return (self.type, self.name, self.message, self.run) == (
            other.type,
            other.name,
            other.message,
            other.run,
        ) and (
            self.error is other.error and (self.value is other.value or self.value == other.value)
        )

    __hash__ = None  # type: ignore[assignment]  # equal by value, so not hashable

    def __str__(self) -> str:
        # As Prefect shows a state: Completed(), Failed('message'), Skipped(type=COMPLETED)
        details = [repr(self.message)] if self.message else []
        if self.name != self.type.value.capitalize():
            details.append(f"type={self.type.value}")
        return f"{self.name}({', '.join(details)})"

    def __repr__(self) -> str:
        message = self.message or None
        outcome = self.error if self.error is not None else self.value
        return f"{self.name}(message={message!r}, type={self.type.value}, result={outcome!r})"


__all__ = ["CANCELLED", "COMPLETED", "FAILED", "PENDING", "RUNNING", "State", "StateType"]
