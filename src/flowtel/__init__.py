"""flowtel: Python flows and tasks whose every run is OpenTelemetry telemetry."""

from __future__ import annotations

__version__ = "0.1.0"

from ._config import Flow_Run__Config
from ._context import get_current_flow, get_current_task
from ._decorators import flow, task
from ._events import (
    Flow_Events,
    Flow_Run__Event,
    Flow_Run__Event_Data,
    Flow_Run__Event_Type,
    flow_events,
)
from ._execution import FlowRunTimeoutError, TaskRunTimeoutError
from ._flow import Flow
from ._futures import (
    DoneAndNotDoneFutures,
    TaskRunFuture,
    ThreadPoolTaskRunner,
    as_completed,
    unmapped,
    wait,
)
from ._run_logger import get_run_logger
from ._state import State
from ._task import Task
from .telemetry._configure import configure, force_flush, shutdown

# PEP 8 aliases for the seed's names.
FlowRunConfig = Flow_Run__Config
FlowRunEvent = Flow_Run__Event
FlowRunEventData = Flow_Run__Event_Data
FlowRunEventType = Flow_Run__Event_Type

__all__ = [
    "DoneAndNotDoneFutures",
    "Flow",
    "FlowRunConfig",
    "FlowRunEvent",
    "FlowRunEventData",
    "FlowRunEventType",
    "FlowRunTimeoutError",
    "Flow_Events",
    "Flow_Run__Config",
    "Flow_Run__Event",
    "Flow_Run__Event_Data",
    "Flow_Run__Event_Type",
    "State",
    "Task",
    "TaskRunFuture",
    "TaskRunTimeoutError",
    "ThreadPoolTaskRunner",
    "__version__",
    "as_completed",
    "configure",
    "flow",
    "flow_events",
    "force_flush",
    "get_current_flow",
    "get_current_task",
    "get_run_logger",
    "shutdown",
    "task",
    "unmapped",
    "wait",
]
