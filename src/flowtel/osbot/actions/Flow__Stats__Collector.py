"""Flow__Stats__Collector: times a flow run and gathers its tasks' stats."""

from __future__ import annotations

import threading
from typing import Any

from ..._run import safe_str
from .._duration import duration_record
from .._locals import Locals
from .._osbot_types import new_duration
from ..schemas.Schema__Flow__Stats import Schema__Flow__Stats
from ..schemas.Schema__Flow__Status import Schema__Flow__Status
from ..schemas.Schema__Task__Stats import Schema__Task__Stats
from .Task__Stats__Collector import status_of

__all__ = ["FLOW__ERROR_MESSAGE__TASK_FAILED", "Flow__Stats__Collector"]

FLOW__ERROR_MESSAGE__TASK_FAILED = "At least one task failed"

# One lock for all collectors, not one per collector: the instance keeps exactly OSBot-Utils'
# attributes (``__locals__()``), and the sections it guards are a few bytecodes long.
_tasks_lock = threading.Lock()


class Flow__Stats__Collector(Locals):
    """``start()`` when the run begins, ``end(flow_error)`` when it ends.

    A run whose tasks failed (even tolerated failures) ends FAILED with
    ``FLOW__ERROR_MESSAGE__TASK_FAILED``, as in OSBot-Utils; flowtel's own ``flow_status``
    stays ``completed`` for tolerated task failures. ``get_next_execution_order()`` and
    ``add_task_stats()`` may be called from a flow's worker threads. ``duration`` is
    OSBot-Utils' own ``Duration`` when osbot-utils is installed (see ``_osbot_types``).
    """

    def __init__(self) -> None:
        self.duration = new_duration()
        self.stats = Schema__Flow__Stats()
        self.task_execution_counter = 0

    def __enter__(self) -> Flow__Stats__Collector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def start(self, flow_id: str, flow_name: str) -> Flow__Stats__Collector:
        self.duration.print_result = False
        self.duration.start()
        self.task_execution_counter = 0
        stats = self.stats
        stats.flow_id = flow_id
        stats.flow_name = flow_name
        stats.status = Schema__Flow__Status.RUNNING
        return self

    def end(self, flow_error: BaseException | None) -> Flow__Stats__Collector:
        self.duration.end()
        stats = self.stats
        stats.duration = duration_record(self.duration)
        with _tasks_lock:
            tasks = list(stats.tasks_stats.values())
        stats.total_tasks = len(tasks)
        stats.failed_tasks = sum(1 for t in tasks if t.status == Schema__Flow__Status.FAILED)
        if flow_error is not None:
            stats.status = status_of(flow_error)
            stats.error_message = safe_str(flow_error)
        elif stats.failed_tasks:
            stats.status = Schema__Flow__Status.FAILED
            stats.error_message = FLOW__ERROR_MESSAGE__TASK_FAILED
        else:
            stats.status = Schema__Flow__Status.COMPLETED
        return self

    def get_next_execution_order(self) -> int:
        """1 for the run's first task call, then 2, 3, ..."""
        with _tasks_lock:
            self.task_execution_counter += 1
            return self.task_execution_counter

    def add_task_stats(self, task_stats: Schema__Task__Stats) -> Flow__Stats__Collector:
        with _tasks_lock:
            self.stats.tasks_stats[task_stats.task_id] = task_stats
        return self

    def json(self) -> dict[str, Any]:
        return self.stats.json()

    def durations(self) -> dict[str, Any]:
        """Flow name, duration (s) and status, and each task name's duration (last call wins)."""
        stats = self.stats
        if stats.status is None:
            return {}
        return {
            **self._flow_summary(),
            "flow_tasks": {t.task_name: _seconds(t) for t in stats.tasks_stats.values()},
        }

    def durations__with_tasks_status(self) -> dict[str, Any]:
        """As durations(), with tasks keyed by execution order and carrying their status."""
        return {
            **self._flow_summary(),
            "flow_tasks": {
                t.execution_order: {
                    "task_name": t.task_name,
                    "task_duration": _seconds(t),
                    "task_status": t.status.value if t.status is not None else None,
                }
                for t in self.stats.tasks_stats.values()
            },
        }

    def _flow_summary(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "flow_name": stats.flow_name,
            "flow_duration": _seconds(stats),
            "flow_status": stats.status.value if stats.status is not None else None,
        }


def _seconds(stats: Any) -> float:
    return stats.duration.duration_seconds if stats.duration is not None else 0.0
