"""Schema__Flow__Status: the status of a flow or task in the stats records."""

from __future__ import annotations

from enum import Enum

__all__ = ["Schema__Flow__Status"]


class Schema__Flow__Status(Enum):
    """OSBot-Utils' statuses. flowtel's ``cancelled`` runs are recorded as STOPPED."""

    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"
    RUNNING = "running"
