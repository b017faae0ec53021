"""Schema__Flow__Task__Data: one task call, in its flow run's Flow__Data record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._osbot_types import Timestamp_Now
from .._schema import Schema

__all__ = ["Schema__Flow__Task__Data"]


@dataclass
class Schema__Flow__Task__Data(Schema):
    task_id: str = ""
    task_name: str = ""
    start_time: Timestamp_Now = field(default_factory=Timestamp_Now)
    end_time: Timestamp_Now | None = None
    status: str = ""
    error_message: str | None = None
    return_value: Any = None
    execution_order: int = 0
    input_args: tuple = ()
    input_kwargs: dict = field(default_factory=dict)
