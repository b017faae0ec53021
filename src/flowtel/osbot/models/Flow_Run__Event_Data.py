"""Flow_Run__Event_Data: where an OSBot-style event comes from, and its payload."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .._schema import Schema

__all__ = ["Flow_Run__Event_Data"]


@dataclass
class Flow_Run__Event_Data(Schema):
    """Names and run ids are None when the event has no flow or task."""

    data: dict[str, Any] = field(default_factory=dict)
    event_source: str = ""
    flow_name: str | None = None
    flow_run_id: str | None = None
    log_level: int = logging.INFO
    task_name: str | None = None
    task_run_id: str | None = None
