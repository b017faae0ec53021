"""Schema__Flow__Artifact: one artifact recorded by a flow run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._osbot_types import Timestamp_Now
from .._schema import Schema

__all__ = ["Schema__Flow__Artifact"]


@dataclass
class Schema__Flow__Artifact(Schema):
    key: str = ""
    description: str = ""
    data: Any = None
    type: str = ""
    timestamp: Timestamp_Now = field(default_factory=Timestamp_Now)
