"""Schema__Task__Stats: timing and outcome of one task call."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._duration import Schema__Duration
from .._schema import Schema
from .Schema__Flow__Status import Schema__Flow__Status

__all__ = ["Schema__Task__Stats"]


@dataclass
class Schema__Task__Stats(Schema):
    task_id: str = ""
    task_name: str = ""
    execution_order: int = 0
    duration: Schema__Duration | None = field(default_factory=Schema__Duration)
    status: Schema__Flow__Status | None = None
    parent_flow_id: str = ""
    error_message: str | None = None
