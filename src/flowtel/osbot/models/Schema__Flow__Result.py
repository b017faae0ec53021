"""Schema__Flow__Result: one result recorded by a flow run."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._osbot_types import Timestamp_Now
from .._schema import Schema

__all__ = ["Schema__Flow__Result"]


@dataclass
class Schema__Flow__Result(Schema):
    key: str = ""
    description: str = ""
    timestamp: Timestamp_Now = field(default_factory=Timestamp_Now)
