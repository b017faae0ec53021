"""The run state that follows the code: current flow, current task, print sink.

These are contextvars, so asyncio tasks, ``asyncio.gather`` and ``create_task`` inherit
them, and a worker thread gets them through ``contextvars.copy_context()``.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._flow import Flow
    from ._task import Task

current_flow: ContextVar[Flow | None] = ContextVar("flowtel.current_flow", default=None)
current_task: ContextVar[Task | None] = ContextVar("flowtel.current_task", default=None)
# The run that captures print() output; None means print goes to the real stdout.
print_sink: ContextVar[Any] = ContextVar("flowtel.print_sink", default=None)


def get_current_flow() -> Flow | None:
    """The flow that tasks called here belong to, or None."""
    return current_flow.get()


def get_current_task() -> Task | None:
    """The task call running here, or None."""
    return current_task.get()
