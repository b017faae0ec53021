"""Task: one call of a task function inside (or outside) a flow run."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from . import _capture, _execution
from ._context import current_flow, current_task, print_sink
from ._events import Flow_Run__Event_Type, flow_events
from ._function_info import TASK_INJECTABLE, FunctionInfo, check_not_generator
from ._hooks import run_hooks
from ._options import RunOptions
from ._run import (
    STATUS_CANCELLED,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_RUNNING,
    RunLogging,
    emit_event,
    error_text,
    new_run_id,
)
from ._state import State
from .telemetry import _runtime as telemetry

if TYPE_CHECKING:
    from ._flow import Flow

_DEBUG = logging.DEBUG
_ERROR = logging.ERROR


class TaskDefinition:
    """A decorated task function with its options, analysed once."""

    __slots__ = ("info", "options", "raise_on_error", "start_line", "task_name", "wrapper")

    def __init__(
        self,
        info: FunctionInfo,
        task_name: str | None = None,
        raise_on_error: bool = True,
        options: RunOptions | None = None,
    ) -> None:
        if task_name is not None and (not isinstance(task_name, str) or not task_name):
            raise TypeError(f"task_name must be a non-empty str, got {task_name!r}")
        if type(raise_on_error) is not bool:
            raise TypeError(
                f"raise_on_error must be True or False, got {type(raise_on_error).__name__} "
                f"{raise_on_error!r}"
            )
        self.info = info
        self.task_name = task_name or info.function_name
        # Each call's first log line, made once: every call of the task logs the same text.
        self.start_line = f"Executing task '{self.task_name}'"
        self.raise_on_error = raise_on_error
        self.options = options
        self.wrapper: Callable[..., Any] | None = None


class Task(RunLogging):
    """One task call: its run id, status, duration, return value or error, own data.

    Decorated tasks create one per call. By hand: ``Task(task_name=...).setup(fn, *args)``
    then ``execute()`` (an async ``fn`` gives a coroutine to await).
    """

    def __init__(self, task_name: str | None = None, raise_on_error: bool = True) -> None:
        self._init_call(None, None)
        self._pending_name = task_name
        self._pending_raise = raise_on_error
        if task_name is not None:
            self.task_name = task_name
        self.raise_on_error = raise_on_error

    # Per-call state starts as these class-level defaults, so a call sets only what differs.
    status = STATUS_PENDING
    duration = 0.0
    task_return_value: Any = None
    task_error: BaseException | None = None
    attempts = 0
    task_run_name: str | None = None
    _timed_out = False
    _print_buffer = ""
    _span: Any = None
    _span_token: Any = None
    _run_context: Any = None
    _args: tuple = ()
    _kwargs: dict = {}
    _task_id: str | None = None
    _data: dict[str, Any] | None = None
    _capturing = False
    _telemetry_open = False
    _message_attributes: dict[str, Any] | None = None  # the telemetry's, per call
    _flow: Flow | None = None
    _flow_ref: Callable[[], Flow | None] | None = None

    def _init_call(self, definition: TaskDefinition | None, flow: Flow | None) -> None:
        self.definition = definition
        self.task_name = definition.task_name if definition is not None else ""
        self.raise_on_error = definition.raise_on_error if definition is not None else True
        self.task_flow = flow

    @classmethod
    def _for_call(cls, definition: TaskDefinition, flow: Flow | None) -> Task:
        task = cls.__new__(cls)
        task.definition = definition
        task.task_name = definition.task_name
        task.raise_on_error = definition.raise_on_error
        task._flow = flow
        return task

    @property
    def task_flow(self) -> Flow | None:
        """The flow this call belongs to (None outside any flow).

        Once the call has ended and its flow keeps it in ``executed_tasks``, the call holds
        the flow weakly: a run and its calls are freed as soon as the run is released, not
        later by the cycle collector. A finished call kept after its run was released has
        no flow any more.
        """
        flow = self._flow
        if flow is None and self._flow_ref is not None:
            return self._flow_ref()
        return flow

    @task_flow.setter
    def task_flow(self, flow: Flow | None) -> None:
        self._flow = flow
        self._flow_ref = None

    def _hold_flow_weakly(self, reference: Callable[[], Flow | None]) -> None:
        """Called by the flow that keeps this ended call (see ``task_flow``)."""
        self._flow = None
        self._flow_ref = reference

    @property
    def task_id(self) -> str:
        """This call's run id (made on first use: calls nobody looks at cost no id)."""
        task_id = self._task_id
        if task_id is None:
            task_id = self._task_id = new_run_id()
        return task_id

    @property
    def data(self) -> dict[str, Any]:
        """This call's own dict (``task_data``)."""
        data = self._data
        if data is None:
            data = self._data = {}
        return data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data = value

    @property
    def this_flow(self) -> Flow | None:
        return self.task_flow

    @property
    def task_data(self) -> dict[str, Any]:
        return self.data

    # -- by hand ---------------------------------------------------------------------

    def setup(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
        """Bind a task function and its arguments; returns self, ready to execute()."""
        if not callable(target):
            raise TypeError(
                f"Task.setup() needs a callable task function, got {type(target).__name__} "
                f"{target!r}"
            )
        check_not_generator("Task.setup()", target)
        definition = TaskDefinition(
            FunctionInfo(target, TASK_INJECTABLE), self._pending_name, self._pending_raise
        )
        self._init_call(definition, None)
        self._args = args
        self._kwargs = kwargs
        return self

    def execute(self) -> Any:
        """Run the task in the current flow (if any) and return its value."""
        if self.definition is None:
            raise RuntimeError(
                f"Task {self.task_name or '(unnamed)'!r} was never set up: call "
                "task.setup(target, *args, **kwargs) before execute()"
            )
        self.task_flow = current_flow.get()
        if self.definition.info.is_async:
            return run_task_async(self, self._args, dict(self._kwargs))
        return run_task(self, self._args, dict(self._kwargs))

    def find_flow(self) -> Flow | None:
        """The flow this task belongs to: the running one, else the current flow."""
        return self.task_flow or current_flow.get()

    @property
    def state(self) -> State:
        """The Prefect-style final state of this call."""
        return State.of(self)

    # -- lifecycle -------------------------------------------------------------------

    def _begin(self, args: tuple = (), kwargs: dict | None = None) -> None:
        flow = self._flow
        # Telemetry first: if it raises (only under the test kit), no run state is set yet.
        telemetry.task_started(self, args, kwargs)
        self.status = STATUS_RUNNING
        self._task_token = current_task.set(self)
        if flow is not None:
            flow._task_started(self)
            if flow.flow_status != STATUS_RUNNING:
                # A task of a flow that is not executing (``with flow:``) captures by itself.
                self._capturing = True
                _capture.acquire()
                self._sink_token = print_sink.set(flow)
        self._start = time.perf_counter()
        self._telemetry_open = True
        try:
            if flow_events.event_listeners:
                emit_event(Flow_Run__Event_Type.TASK_START, "task", flow, self, {})
            if flow is not None:
                definition = self.definition
                line = (
                    definition.start_line
                    if definition is not None and definition.task_name is self.task_name
                    else f"Executing task '{self.task_name}'"
                )
                flow._message(_DEBUG, line, (), self)
        except BaseException as error:  # a listener raised KeyboardInterrupt, SystemExit, ...
            self._end(None, error)
            raise

    def _end(self, value: Any, error: BaseException | None) -> bool:
        """Close the call; True when ``error`` must propagate to the caller.

        Whatever a listener, hook or user ``__str__`` raises meanwhile, the span is ended and
        the run state (current task, print capture) is put back before it propagates.
        """
        try:
            return self._close(value, error)
        except BaseException as interruption:
            self._close_interrupted(interruption)
            raise
        finally:
            if self._capturing:
                self._capturing = False  # a Task run by hand may run again, elsewhere
                print_sink.reset(self._sink_token)
                _capture.release()
            current_task.reset(self._task_token)
            self._task_token = None  # type: ignore[assignment]  # a kept Token is one more GC-tracked object per task

    def _close_interrupted(self, interruption: BaseException) -> None:
        if self.task_flow is not None:
            self.task_flow._task_stopped(self, interruption)
        if not self._telemetry_open:
            return  # the span is already recorded; only what came after it was cut short
        self._telemetry_open = False
        if self.task_error is None:
            self.task_error = interruption
        error = self.task_error
        self.status = STATUS_FAILED if isinstance(error, Exception) else STATUS_CANCELLED
        self.duration = time.perf_counter() - self._start
        telemetry.task_stopped(self)

    def _close(self, value: Any, error: BaseException | None) -> bool:
        flow = self._flow
        if self._print_buffer:
            self._flush_prints()
        propagate = False
        if error is None:
            self.status = STATUS_COMPLETED
            self.task_return_value = value
            if flow is not None and (value is not None or flow.flow_config.print_none_return_value):
                flow._message(_DEBUG, "Task return value: %s", (value,), self)
        else:
            self.task_error = error
            if isinstance(error, Exception):
                self.status = STATUS_FAILED
                propagate = self.raise_on_error
            else:
                self.status = STATUS_CANCELLED
                propagate = True
            if flow is not None:
                verb = "failed" if self.status == STATUS_FAILED else "cancelled"
                flow._message(
                    _ERROR, "Task '%s' %s: %s", (self.task_name, verb, error_text(error)), self
                )
        self.duration = time.perf_counter() - self._start
        options = self.definition.options if self.definition is not None else None
        if options is not None and (options.on_failure or options.on_completion):
            run_hooks(self, options, cast(TaskDefinition, self.definition).wrapper)
        self._telemetry_open = False
        telemetry.task_stopped(self)
        if flow_events.event_listeners:
            emit_event(
                Flow_Run__Event_Type.TASK_STOP,
                "task",
                flow,
                self,
                {
                    "status": self.status,
                    "error": error_text(error) if error is not None else None,
                    "duration": self.duration,
                },
                _ERROR if error is not None else 0,
            )
        if flow is not None:
            flow._task_stopped(self, error)
        return propagate

    def _injected_value(self, name: str) -> Any:
        """The value of an injected parameter: this_task, this_flow, task_data, flow_data."""
        if name == "this_task":
            return self
        if name == "task_data":
            return self.data
        flow = self.task_flow
        if name == "this_flow":
            return flow
        return flow.data if flow is not None else None

    # -- messages --------------------------------------------------------------------

    def _log_target(self) -> tuple[Flow | None, Any]:
        flow = self._flow  # while the call runs; task_flow also finds it after the call
        return (flow if flow is not None else self.task_flow), self

    # A captured print()'s text, written in this call: buffered into whole lines.
    _buffer_print = RunLogging._capture_print

    def __repr__(self) -> str:
        return f"<Task {self.task_name!r} id={self.task_id} status={self.status}>"


def _injected(task: Task, args: tuple, kwargs: dict) -> dict:
    info = task.definition.info  # type: ignore[union-attr]
    if not info.injections:
        return kwargs
    return info.inject(args, kwargs, task._injected_value)


def run_task(task: Task, args: tuple, kwargs: dict) -> Any:
    """Run a sync task call to the end; returns its value (None for a tolerated failure)."""
    task._begin(args, kwargs)
    try:
        value = task.definition.info.fn(*args, **_injected(task, args, kwargs))  # type: ignore[union-attr]
    except BaseException as error:
        if task._end(None, error):
            raise
        return None
    task._end(value, None)
    return value


async def run_task_async(task: Task, args: tuple, kwargs: dict) -> Any:
    """Run an async task call to the end; returns its value (None for a tolerated failure)."""
    task._begin(args, kwargs)
    try:
        value = await task.definition.info.fn(*args, **_injected(task, args, kwargs))  # type: ignore[union-attr]
    except BaseException as error:
        if task._end(None, error):
            raise
        return None
    task._end(value, None)
    return value


def run_task_with_options(task: Task, args: tuple, kwargs: dict) -> Any:
    """``run_task`` with retries, timeout, run name and print settings."""
    definition = cast(TaskDefinition, task.definition)
    options = cast(RunOptions, definition.options)
    fn = definition.info.fn
    task._begin(args, kwargs)
    sink_token = _print_setting(task, options)
    try:
        _name_run(task, options, args, kwargs)
        value = _execution.attempts_sync(
            task,
            "task",
            task.task_name,
            options,
            lambda: fn(*args, **_injected(task, args, dict(kwargs))),
        )
    except BaseException as error:
        _restore_print_setting(sink_token)
        if task._end(None, error):
            raise
        return None
    _restore_print_setting(sink_token)
    task._end(value, None)
    return value


async def run_task_with_options_async(task: Task, args: tuple, kwargs: dict) -> Any:
    """``run_task_async`` with retries, timeout, run name and print settings."""
    definition = cast(TaskDefinition, task.definition)
    options = cast(RunOptions, definition.options)
    fn = definition.info.fn
    task._begin(args, kwargs)
    sink_token = _print_setting(task, options)
    try:
        _name_run(task, options, args, kwargs)
        value = await _execution.attempts_async(
            task,
            "task",
            task.task_name,
            options,
            lambda: fn(*args, **_injected(task, args, dict(kwargs))),
        )
    except BaseException as error:
        _restore_print_setting(sink_token)
        if task._end(None, error):
            raise
        return None
    _restore_print_setting(sink_token)
    task._end(value, None)
    return value


def _name_run(task: Task, options: RunOptions, args: tuple, kwargs: dict) -> None:
    if options.run_name is not None:
        task.task_run_name = options.run_name_for(task.definition.info.signature, args, kwargs)  # type: ignore[union-attr]
        telemetry.run_named(task, task.task_run_name)


def _print_setting(task: Task, options: RunOptions) -> Any:
    if options.log_prints is None:
        return None
    flow = task.task_flow
    return print_sink.set(flow if options.log_prints and flow is not None else None)


def _restore_print_setting(token: Any) -> None:
    if token is not None:
        print_sink.reset(token)
