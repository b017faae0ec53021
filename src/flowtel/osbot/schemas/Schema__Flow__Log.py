"""Schema__Flow__Log: one message of a flow run, in its Flow__Data record."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._osbot_types import Timestamp_Now
from .._schema import Schema

__all__ = ["Schema__Flow__Log"]


@dataclass
class Schema__Flow__Log(Schema):
    timestamp: Timestamp_Now = field(default_factory=Timestamp_Now)
    level: int = 0
    message: str = ""
    task_id: str | None = None
