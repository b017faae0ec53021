"""Flow_Run__Event_Type: what an OSBot-style event reports (a plain Enum, as in OSBot-Utils)."""

from __future__ import annotations

from enum import Enum

__all__ = ["Flow_Run__Event_Type"]


class Flow_Run__Event_Type(Enum):
    """Event kinds; members compare equal only to themselves, not to their str values."""

    FLOW_MESSAGE = "flow_message"
    FLOW_START = "flow_start"
    FLOW_STOP = "flow_stop"
    NEW_ARTIFACT = "new_artifact"
    NEW_RESULT = "new_result"
    TASK_START = "task_start"
    TASK_STOP = "task_stop"
