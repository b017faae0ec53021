"""Flow: a flowtel Flow with OSBot-Utils' API (stats, flow_data record, events, logger)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._context import current_task
from .._flow import FLOW_RETURN_VALUE_KEY
from .._flow import Flow as _CoreFlow
from .._function_info import FunctionInfo
from .._options import RunOptions
from .._run import format_message, plain_text
from ._logger import Flow__Logger
from .actions.Flow__Data import Flow__Data
from .actions.Flow__Events import flow_events, message_event_data
from .actions.Flow__Stats__Collector import Flow__Stats__Collector
from .models.Flow_Run__Config import Flow_Run__Config
from .models.Flow_Run__Event import Flow_Run__Event
from .models.Flow_Run__Event_Data import Flow_Run__Event_Data
from .models.Flow_Run__Event_Type import Flow_Run__Event_Type

if TYPE_CHECKING:
    from .._config import Flow_Run__Config as _CoreConfig
    from .._task import Task

__all__ = [
    "FLOW__RANDOM_ID__PREFIX",
    "FLOW__RANDOM_NAME__PREFIX",
    "Flow",
    "Flow_Run__Config",
    "flow_events",
]

FLOW__RANDOM_ID__PREFIX = "flow_id__"
FLOW__RANDOM_NAME__PREFIX = "flow_name__"

_DEBUG = logging.DEBUG
_INFO = logging.INFO

SETUP_ERROR = (
    "Error starting Flow, setup has not been called, use .setup(target, *args, **kwargs) "
    "to configure it"
)


class Flow(_CoreFlow):
    """One flow run, run by flowtel's engine (a span per run), with OSBot-Utils' API.

    On top of flowtel's Flow: ``execute_flow(flow_run_params=None)``, ``setup()`` without a
    target (runs ``main``), ``flow_stats`` (a Flow__Stats__Collector), ``flow_data`` (a
    Flow__Data record; the dict shared by tasks stays ``data`` and the ``flow_data``
    parameter), ``captured_exec_logs`` / ``captured_logs()``, ``logger``, ``json()`` /
    ``obj()``, OSBot-shaped events on ``flowtel.osbot.actions.Flow__Events.flow_events``,
    and ``task_dependencies()`` for extra task injections.

    As in OSBot-Utils, a run keeps its ``flow_id`` when executed again, and what the flow
    function itself prints is logged when the function returns (a task's prints are logged
    as they happen, within the task).
    """

    def __init__(
        self,
        flow_config: _CoreConfig | None = None,
        flow_name: str | None = None,
        flow_id: str | None = None,
    ) -> None:
        super().__init__(
            flow_config if flow_config is not None else Flow_Run__Config(), flow_name, flow_id
        )
        self.flow_stats = Flow__Stats__Collector()
        self._flow_record = Flow__Data()
        self.captured_exec_logs: list[str] = []
        self.flow_run_params: dict[str, Any] = {}
        self.logger = Flow__Logger(self)
        self.setup_completed = False
        self._deferred_prints: list[str] = []
        self._deferred_events: list[Flow_Run__Event_Data] = []
        self._ending = False

    # -- setup and execution ---------------------------------------------------------

    def setup(self, target: Callable[..., Any] | None = None, *args: Any, **kwargs: Any) -> Flow:
        """Bind the flow function (``self.main`` when None) and its arguments."""
        super().setup(self.main if target is None else target, *args, **kwargs)
        return self

    def _bind(
        self,
        info: FunctionInfo,
        args: tuple,
        kwargs: dict,
        options: RunOptions | None = None,
        wrapper: Callable[..., Any] | None = None,
    ) -> Flow:
        super()._bind(info, args, kwargs, options, wrapper)
        self.setup_completed = True
        return self

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """The flow function of ``setup()`` without a target; subclasses override it."""
        return None

    def check_setup(self) -> None:
        """Raise ValueError (OSBot-Utils' message) unless setup() was called."""
        if not self.setup_completed:
            raise ValueError(SETUP_ERROR)

    def execute(self) -> Flow:
        """Run the flow to the end and return self (same as execute_flow())."""
        return self.execute_flow()

    def execute_flow(self, flow_run_params: dict[str, Any] | None = None) -> Flow:
        """Run the flow; ``flow_run_params`` are logged and kept as artifact ``post-data``."""
        self.check_setup()
        self.flow_run_params = flow_run_params or {}
        super().execute()
        return self

    def _begin(self) -> None:
        # As in OSBot-Utils, executing again keeps the id (also one assigned to flow_id).
        self._fixed_id = self.flow_id
        self._deferred_prints = []
        self._deferred_events = []
        self._ending = False
        record = self._flow_record = Flow__Data()
        record.set_flow_id(self.flow_id)
        record.set_flow_name(self.flow_name)
        self.flow_stats.start(flow_id=self.flow_id, flow_name=self.flow_name)
        if self._wants_events():
            self._event(Flow_Run__Event_Type.FLOW_START, self.flow_event_data())
            if self.flow_config.logging_enabled:
                text = f"Created flow run '{self.flow_id}' for flow '{self.flow_name}'"
                self._event(
                    Flow_Run__Event_Type.FLOW_MESSAGE,
                    message_event_data(_DEBUG, self.flow_id, None, text),
                )
        super()._begin()
        if self.flow_run_params:
            self.log_info(f"flow_run_params: {self.flow_run_params}")
            self.add_flow_artifact(
                description="Data received via FastAPI's request.json()",
                key="post-data",
                data=self.flow_run_params,
            )

    def _end(self, value: Any, error: BaseException | None) -> bool:
        self._ending = True
        try:
            propagate = super()._end(value, error)
        finally:
            self._ending = False
            # After flowtel's end of run, which waits for the run's submitted tasks.
            self.flow_stats.end(error)
            record = self._flow_record
            if error is None:
                record.set_return_value(value)
                record.set_completed()
            else:
                record.set_error(error)
        if self.flow_config.log_to_memory:
            self.captured_exec_logs = self.log_messages()
        # OSBot-Utils raises the return-value result after the final messages.
        for event_data in self._deferred_events:
            self._event(Flow_Run__Event_Type.NEW_RESULT, event_data)
        self._deferred_events = []
        if self._wants_events():
            self._event(Flow_Run__Event_Type.FLOW_STOP, self.flow_event_data())
        return propagate

    # -- OSBot-Utils' reading API ----------------------------------------------------------

    @property
    def flow_data(self) -> Flow__Data:  # type: ignore[override]
        """This run's Flow__Data record (tasks, logs, results, artifacts, events).

        The dict shared by tasks (flowtel's ``flow_data``) is ``data`` here, as in
        OSBot-Utils; the ``flow_data`` parameter of flow and task functions is still that dict.
        """
        return self._flow_record

    def captured_logs(self) -> list[str]:
        """The last run's messages as plain text (empty with ``log_to_memory=False``)."""
        return [plain_text(line) for line in self.captured_exec_logs]

    def log_messages_with_colors(self) -> list[str]:
        """The run's messages; flowtel's messages carry no ANSI colours."""
        return self.log_messages()

    def durations(self) -> dict[str, Any]:
        """From ``flow_stats``: flow name, duration, status, and each task's duration."""
        return self.flow_stats.durations()

    def durations__with_tasks_status(self) -> dict[str, Any]:
        return self.flow_stats.durations__with_tasks_status()

    def flow_output(self) -> dict[str, Any]:
        return {"output": self.flow_return_value, "durations": self.durations()}

    def json(self) -> dict[str, Any]:
        """The run's Flow__Data record as JSON-ready builtins."""
        return self._flow_record.json()

    def obj(self) -> Any:
        """The run's record as nested namespaces: ``flow.obj().flow_data.logs``."""
        from ._schema import to_namespace

        return to_namespace(self.json())

    def flow_event_data(self) -> Flow_Run__Event_Data:
        return Flow_Run__Event_Data(flow_name=self.flow_name, flow_run_id=self.flow_id)

    def random_flow_id(self) -> str:
        return FLOW__RANDOM_ID__PREFIX + os.urandom(4).hex()

    def random_flow_name(self) -> str:
        return FLOW__RANDOM_NAME__PREFIX + os.urandom(4).hex()

    def task_dependencies(self) -> dict[str, Any]:
        """Extra values for flowtel.osbot tasks' parameters of these names; override it."""
        return {}

    # -- messages, artifacts, results ------------------------------------------------------

    def log_debug(self, message: Any, task_run_id: str | None = None) -> None:
        self._log_for(_DEBUG, message, task_run_id)

    def log_info(self, message: Any, task_run_id: str | None = None) -> None:
        self._log_for(_INFO, message, task_run_id)

    def log_error(self, message: Any, task_run_id: str | None = None) -> None:
        self._log_for(logging.ERROR, message, task_run_id)

    def _log_for(self, level: int, message: Any, task_run_id: str | None) -> None:
        if task_run_id is None:
            self._log(level, message)
            return
        task = next((t for t in self.executed_tasks if t.task_id == task_run_id), None)
        self._message(level, message if type(message) is str else str(message), (), task)

    def _message(
        self,
        level: int,
        template: str,
        args: tuple,
        task: Task | None,
        replayed_at: float | None = None,
    ) -> None:
        super()._message(level, template, args, task, replayed_at)
        if not self.flow_config.logging_enabled:
            return
        text = format_message(template, args)
        task_id = task.task_id if task is not None else None
        self._flow_record.add_log(level, text, task_id)
        if self._wants_events():
            self._event(
                Flow_Run__Event_Type.FLOW_MESSAGE,
                message_event_data(level, self.flow_id, task_id, text),
            )

    def add_flow_artifact(
        self,
        description: str | None = None,
        key: str | None = None,
        data: Any = None,
        artifact_type: str | None = None,
    ) -> dict[str, Any]:
        """Record an artifact; as in OSBot-Utils, key and type default to ``"default"``."""
        key = key or "default"
        artifact_type = artifact_type or "default"
        description = description or ""
        artifact = super().add_flow_artifact(description, key, data, artifact_type)
        self._flow_record.add_artifact(key, description, data, artifact_type)
        if self._wants_events():
            event_data = self._run_event_data()
            event_data.data = {
                "artifact_data": {
                    "description": description,
                    "key": key,
                    "data": data,
                    "type": artifact_type,
                }
            }
            self._event(Flow_Run__Event_Type.NEW_ARTIFACT, event_data)
        return artifact

    def add_flow_result(self, key: str | None = None, description: str | None = None) -> dict:
        result = super().add_flow_result(key, description)
        self._flow_record.add_result(key or "", description or "")
        if self._wants_events():
            event_data = self._run_event_data()
            event_data.data = {"result_data": {"key": key, "description": description}}
            if self._ending and key == FLOW_RETURN_VALUE_KEY:
                self._deferred_events.append(event_data)
            else:
                self._event(Flow_Run__Event_Type.NEW_RESULT, event_data)
        return result

    def _run_event_data(self) -> Flow_Run__Event_Data:
        return Flow_Run__Event_Data(flow_run_id=self.flow_id)

    def _wants_events(self) -> bool:
        return bool(flow_events.event_listeners) or self._captures_events()

    def _captures_events(self) -> bool:
        return bool(getattr(self.flow_config, "flow_data__capture_events", False))

    def _event(self, event_type: Flow_Run__Event_Type, event_data: Flow_Run__Event_Data) -> None:
        event = Flow_Run__Event(event_type=event_type, event_data=event_data)
        if self._captures_events():
            self._flow_record.add_event(event)
        if flow_events.event_listeners:
            flow_events.raise_event(event)

    # -- prints: the flow function's own output is logged when it returns ------------------

    def _capture_print(self, text: str) -> None:
        task = current_task.get()
        if task is not None and task.task_flow is self:
            task._buffer_print(text)
        else:
            self._deferred_prints.append(text)

    def _flush_prints(self) -> None:
        pending, self._deferred_prints = "".join(self._deferred_prints), []
        for line in pending.split("\n"):
            if line:
                self._log(_INFO, line)
        super()._flush_prints()
