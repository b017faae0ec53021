"""Flow_Run__Event: one OSBot-style event, with a GUID id and a millisecond timestamp."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._osbot_types import Random_Guid, Timestamp_Now
from .._schema import Schema
from .Flow_Run__Event_Data import Flow_Run__Event_Data
from .Flow_Run__Event_Type import Flow_Run__Event_Type

__all__ = ["Flow_Run__Event", "Random_Guid", "Timestamp_Now"]


@dataclass
class Flow_Run__Event(Schema):
    """Constructible without arguments; ``json()`` gives the event type by value."""

    event_id: Random_Guid = field(default_factory=Random_Guid)
    event_type: Flow_Run__Event_Type | None = None
    event_data: Flow_Run__Event_Data = field(default_factory=Flow_Run__Event_Data)
    timestamp: Timestamp_Now = field(default_factory=Timestamp_Now)
