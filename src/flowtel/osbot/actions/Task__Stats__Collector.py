"""Task__Stats__Collector: times one task call and records its outcome."""

from __future__ import annotations

from typing import Any

from ..._run import safe_str
from .._duration import duration_record
from .._locals import Locals
from .._osbot_types import new_duration
from ..schemas.Schema__Flow__Status import Schema__Flow__Status
from ..schemas.Schema__Task__Stats import Schema__Task__Stats

__all__ = ["Task__Stats__Collector"]


def status_of(error: BaseException | None) -> Schema__Flow__Status:
    """COMPLETED without an error, FAILED for an Exception, STOPPED for a cancellation."""
    if error is None:
        return Schema__Flow__Status.COMPLETED
    return (
        Schema__Flow__Status.FAILED
        if isinstance(error, Exception)
        else Schema__Flow__Status.STOPPED
    )


class Task__Stats__Collector(Locals):
    """``start()`` when the call begins, ``end(task_error)`` when it ends; ``stats`` holds both.

    ``duration`` is OSBot-Utils' own ``Duration`` when osbot-utils is installed (see
    ``_osbot_types``). Not thread-safe: one collector belongs to one task call.
    """

    def __init__(self) -> None:
        self.duration = new_duration()
        self.stats = Schema__Task__Stats()

    def __enter__(self) -> Task__Stats__Collector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def start(
        self, flow_id: str, task_id: str, task_name: str, execution_order: int
    ) -> Task__Stats__Collector:
        self.duration.print_result = False
        self.duration.start()
        stats = self.stats
        stats.parent_flow_id = flow_id
        stats.execution_order = execution_order
        stats.status = Schema__Flow__Status.RUNNING
        stats.task_id = task_id
        stats.task_name = task_name
        return self

    def end(self, task_error: BaseException | None) -> Task__Stats__Collector:
        self.duration.end()
        stats = self.stats
        stats.duration = duration_record(self.duration)
        stats.status = status_of(task_error)
        stats.error_message = safe_str(task_error) if task_error is not None else None
        return self

    def json(self) -> dict[str, Any]:
        return self.stats.json()
