"""Schema__Flow__Stats: timing and outcome of one flow run, with its tasks' stats."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._duration import Schema__Duration
from .._schema import Schema
from .Schema__Flow__Status import Schema__Flow__Status
from .Schema__Task__Stats import Schema__Task__Stats

__all__ = ["Schema__Flow__Stats"]


@dataclass
class Schema__Flow__Stats(Schema):
    duration: Schema__Duration | None = field(default_factory=Schema__Duration)
    error_message: str | None = None
    failed_tasks: int = 0
    flow_id: str = ""
    flow_name: str = ""
    status: Schema__Flow__Status | None = None
    tasks_stats: dict[str, Schema__Task__Stats] = field(default_factory=dict)
    total_tasks: int = 0
