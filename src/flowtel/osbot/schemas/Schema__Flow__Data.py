"""Schema__Flow__Data: everything a flow run recorded (OSBot's ``flow.flow_data`` record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._osbot_types import Timestamp_Now
from .._schema import Schema
from ..models.Flow_Run__Event import Flow_Run__Event
from ..models.Schema__Flow__Artifact import Schema__Flow__Artifact
from ..models.Schema__Flow__Result import Schema__Flow__Result
from .Schema__Flow__Log import Schema__Flow__Log
from .Schema__Flow__Task__Data import Schema__Flow__Task__Data

__all__ = ["Schema__Flow__Data"]


@dataclass
class Schema__Flow__Data(Schema):
    flow_id: str = ""
    flow_name: str = ""
    start_time: Timestamp_Now = field(default_factory=Timestamp_Now)
    end_time: Timestamp_Now | None = None
    status: str = ""
    error: str | None = None
    tasks: dict[str, Schema__Flow__Task__Data] = field(default_factory=dict)
    events: list[Flow_Run__Event] = field(default_factory=list)
    results: list[Schema__Flow__Result] = field(default_factory=list)
    artifacts: list[Schema__Flow__Artifact] = field(default_factory=list)
    logs: list[Schema__Flow__Log] = field(default_factory=list)
    return_value: Any = None
