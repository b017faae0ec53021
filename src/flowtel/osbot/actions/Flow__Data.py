"""Flow__Data: the record of one flow run (``flow.flow_data`` on a flowtel.osbot Flow)."""

from __future__ import annotations

import threading
from typing import Any

from ..._run import safe_str
from .._osbot_types import Timestamp_Now
from ..models.Flow_Run__Event import Flow_Run__Event
from ..models.Schema__Flow__Artifact import Schema__Flow__Artifact
from ..models.Schema__Flow__Result import Schema__Flow__Result
from ..schemas.Schema__Flow import Schema__Flow
from ..schemas.Schema__Flow__Data import Schema__Flow__Data
from ..schemas.Schema__Flow__Log import Schema__Flow__Log
from ..schemas.Schema__Flow__Task__Data import Schema__Flow__Task__Data

__all__ = ["Flow__Data"]


class Flow__Data:
    """Tasks, logs, results, artifacts (and optionally events) of a run, in ``flow_data``.

    The methods may be called from a flow's worker threads.
    """

    def __init__(self) -> None:
        self.flow_data = Schema__Flow__Data()
        self._lock = threading.Lock()

    def set_completed(self) -> None:
        self.flow_data.end_time = Timestamp_Now()
        self.flow_data.status = "completed"

    def set_error(self, error: BaseException) -> None:
        self.flow_data.end_time = Timestamp_Now()
        self.flow_data.status = "failed"
        self.flow_data.error = safe_str(error)

    def set_flow_id(self, flow_id: str) -> None:
        self.flow_data.flow_id = flow_id

    def set_flow_name(self, flow_name: str) -> None:
        self.flow_data.flow_name = flow_name

    def set_return_value(self, value: Any) -> None:
        self.flow_data.return_value = value

    def add_task(self, task_id: str, task_name: str, execution_order: int) -> None:
        record = Schema__Flow__Task__Data(
            task_id=task_id, task_name=task_name, execution_order=execution_order
        )
        with self._lock:
            self.flow_data.tasks[task_id] = record

    def update_task(
        self,
        task_id: str,
        status: str,
        error: BaseException | None = None,
        return_value: Any = None,
    ) -> None:
        record = self.flow_data.tasks.get(task_id)
        if record is not None:
            record.end_time = Timestamp_Now()
            record.status = status
            record.error_message = safe_str(error) if error is not None else None
            record.return_value = return_value

    def add_event(self, event: Flow_Run__Event) -> None:
        with self._lock:
            self.flow_data.events.append(event)

    def add_log(self, level: int, message: str, task_id: str | None = None) -> None:
        entry = Schema__Flow__Log(level=level, message=message, task_id=task_id)
        with self._lock:
            self.flow_data.logs.append(entry)

    def add_result(self, key: str, description: str) -> None:
        with self._lock:
            self.flow_data.results.append(Schema__Flow__Result(key=key, description=description))

    def add_artifact(self, key: str, description: str, data: Any, artifact_type: str) -> None:
        artifact = Schema__Flow__Artifact(
            key=key, description=description, data=data, type=artifact_type
        )
        with self._lock:
            self.flow_data.artifacts.append(artifact)

    def json(self) -> dict[str, Any]:
        """The run's record as JSON-ready builtins (``Schema__Flow`` shape)."""
        return Schema__Flow(flow_data=self.flow_data).json()
