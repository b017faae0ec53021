"""Schema__Flow: the root record of a flow run, as ``Flow.json()`` returns it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._schema import Schema
from ..models.Flow_Run__Event import Flow_Run__Event
from .Schema__Flow__Data import Schema__Flow__Data

__all__ = ["Schema__Flow"]


@dataclass
class Schema__Flow(Schema):
    flow_data: Schema__Flow__Data = field(default_factory=Schema__Flow__Data)
    flow_events: list[Flow_Run__Event] = field(default_factory=list)
