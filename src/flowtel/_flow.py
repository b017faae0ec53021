"""Flow: one run of a flow function, its log, data, artifacts and results."""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _capture, _execution
from ._config import Flow_Run__Config, default_config
from ._context import current_flow, current_task, print_sink
from ._events import Flow_Run__Event_Type, flow_events
from ._function_info import FLOW_INJECTABLE, FunctionInfo, check_not_generator
from ._futures import TaskRunner, ThreadPoolTaskRunner
from ._hooks import run_hooks
from ._options import RunOptions
from ._run import (
    STATUS_CANCELLED,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_RUNNING,
    LogEntry,
    RunLog,
    RunLogging,
    emit_event,
    error_text,
    format_message,
    new_run_id,
    plain_text,
    safe_str,
)
from ._state import State
from ._unrun import warn_flow_never_ran
from .telemetry import _runtime as telemetry

if TYPE_CHECKING:
    from ._task import Task

_DEBUG = logging.DEBUG
_INFO = logging.INFO
_ERROR = logging.ERROR

FLOW_RETURN_VALUE_KEY = "flow-return-value"


class Flow(RunLogging):
    """One flow run: the context its tasks find, and the record of what happened.

    Build one with a ``@flow`` function call (or ``Flow(...).setup(target, ...)``), then
    ``execute()`` it. A Flow runs one run at a time; executing it again starts a new run
    with a new ``flow_id`` (unless ``flow_id`` was fixed) and fresh run state. A Flow built
    by a decorated call and collected without ever running raises a RuntimeWarning.
    """

    # Called as ``console_writer(flow, task, level, text)`` for each message of this run, on
    # the thread that logs it; set by a calling convention (flowtel.prefect) that shows
    # messages its own way. Must not raise.
    console_writer: Callable[[Flow, Task | None, int, str], None] | None = None

    # A Flow's state starts as these class-level defaults, so a run sets only what differs.
    # CPython keeps the attributes of an instance with fewer than 30 in a compact array
    # instead of a dict of its own: about 1.3 KB less per run, and quicker to make.
    _fixed_id: str | None = None
    _info: FunctionInfo | None = None
    _options: RunOptions | None = None
    _wrapper: Callable[..., Any] | None = None
    _args: tuple = ()
    _kwargs: dict = {}
    _runs = 0
    _with_tokens: list[contextvars.Token] | None = None  # made by the first ``with flow:``
    _origin: Any = None  # span context current where this Flow was made or detached
    _detached = False
    flow_error: BaseException | None = None
    flow_return_value: Any = None
    flow_status = STATUS_PENDING
    flow_duration = 0.0
    failed_tasks = 0
    started_at: float | None = None
    attempts = 0
    flow_run_name: str | None = None
    _timed_out = False
    _runner: TaskRunner | None = None
    _span: Any = None
    _span_token: Any = None
    _run_context: Any = None
    _run_attributes: dict[str, Any] | None = None  # telemetry's, while it runs
    _telemetry_open = False
    # What a run may set, put back to the defaults above before the Flow runs again.
    _RUN_STATE = (
        "flow_error",
        "flow_return_value",
        "flow_status",
        "flow_duration",
        "failed_tasks",
        "started_at",
        "attempts",
        "flow_run_name",
        "_timed_out",
        "_runner",
        "_print_buffer",
        "_span",
        "_span_token",
        "_run_context",
        "_run_attributes",
        "_telemetry_open",
    )

    def __init__(
        self,
        flow_config: Flow_Run__Config | None = None,
        flow_name: str | None = None,
        flow_id: str | None = None,
    ) -> None:
        if flow_config is not None and not isinstance(flow_config, Flow_Run__Config):
            raise TypeError(
                f"flow_config must be a Flow_Run__Config, got {type(flow_config).__name__} "
                f"{flow_config!r}"
            )
        if flow_name is not None and not isinstance(flow_name, str):
            raise TypeError(f"flow_name must be a str, got {type(flow_name).__name__}")
        if flow_id is not None and (not isinstance(flow_id, str) or not flow_id):
            raise TypeError(f"flow_id must be a non-empty str, got {flow_id!r}")
        self.flow_config = flow_config if flow_config is not None else default_config()
        self.flow_name = flow_name or ""
        if flow_id is not None:
            self._fixed_id = flow_id
        self.flow_id = flow_id or new_run_id()
        self._lock = threading.Lock()
        self._weak_self = weakref.ref(self)  # shared by the ended calls it keeps
        self._new_run_records()

    def _new_run_records(self) -> None:
        self.data: dict[str, Any] = {}
        self.executed_tasks: list[Task] = []
        self.flow_artifacts: list[dict[str, Any]] = []
        self.flow_results: list[dict[str, Any]] = []
        self._pending_futures: list[Any] = []
        self._run_log = RunLog()

    def _reset_run_state(self) -> None:
        state = vars(self)
        for name in self._RUN_STATE:
            state.pop(name, None)
        self._new_run_records()

    # -- setup -------------------------------------------------------------------------

    def setup(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Flow:
        """Bind the flow function and its arguments; returns self, ready to execute()."""
        if not callable(target):
            raise TypeError(
                f"Flow.setup() needs a callable flow function, got {type(target).__name__} "
                f"{target!r}"
            )
        check_not_generator("Flow.setup()", target)
        return self._bind(FunctionInfo(target, FLOW_INJECTABLE), args, kwargs)

    def _bind(
        self,
        info: FunctionInfo,
        args: tuple,
        kwargs: dict,
        options: RunOptions | None = None,
        wrapper: Callable[..., Any] | None = None,
    ) -> Flow:
        self._info = info
        self._options = options
        self._wrapper = wrapper
        self._args = args
        self._kwargs = kwargs
        if not self.flow_name:
            self.flow_name = info.function_name
        origin = telemetry.current_span_context()
        if origin is not None or self._origin is not None:
            self._origin = origin
        return self

    def detach(self) -> Flow:
        """Make this run start its own trace, linked to the span current now; returns self.

        For a run that outlives the operation starting it, e.g. a flow handed to FastAPI's
        ``BackgroundTasks`` during a request: its span becomes the root of a new trace with a
        span link to the request's span, instead of a child that keeps the request's trace
        open. (A run that starts with no current span at all, say on a bare thread, is linked
        to the span current where the Flow was made, without detach().)
        """
        self._detached = True
        self._origin = telemetry.current_span_context()
        return self

    @property
    def flow_data(self) -> dict[str, Any]:
        """The dict shared by every task of this run (same object as ``data``)."""
        return self.data

    @property
    def flow_target(self) -> Callable[..., Any] | None:
        return self._info.fn if self._info is not None else None

    @property
    def is_async(self) -> bool:
        return self._info is not None and self._info.is_async

    # -- execution ---------------------------------------------------------------------

    def execute(self) -> Flow:
        """Run the flow to the end and return self.

        An async flow function runs on a new event loop, or, when this thread already runs
        a loop, on a worker thread that carries the caller's contextvars.
        """
        info = self._ready()
        if info.is_async:
            return self._execute_async_blocking()
        self._begin()
        try:
            if self._options is None:
                value = info.fn(*self._args, **self._call_kwargs(info))
            else:
                value = self._attempts_sync(info, self._options)
        except BaseException as error:
            if self._end(None, error):
                raise
            return self
        self._end(value, None)
        return self

    async def execute_async(self) -> Flow:
        """Run the flow on the current event loop and return self."""
        info = self._ready()
        self._begin()
        try:
            if self._options is None:
                value = info.fn(*self._args, **self._call_kwargs(info))
                if info.is_async:
                    value = await value
            else:
                value = await self._attempts_async(info, self._options)
        except BaseException as error:
            await self._await_pending(stop=not isinstance(error, Exception))
            if self._end(None, error):
                raise
            return self
        await self._await_pending()
        self._end(value, None)
        return self

    def _attempts_sync(self, info: FunctionInfo, options: RunOptions) -> Any:
        self._apply_options(options)
        return _execution.attempts_sync(
            self,
            "flow",
            self.flow_name,
            options,
            lambda: info.fn(*self._args, **self._call_kwargs(info)),
        )

    async def _attempts_async(self, info: FunctionInfo, options: RunOptions) -> Any:
        self._apply_options(options)
        return await _execution.attempts_async(
            self,
            "flow",
            self.flow_name,
            options,
            lambda: info.fn(*self._args, **self._call_kwargs(info)),
        )

    def _apply_options(self, options: RunOptions) -> None:
        if options.log_prints is False:
            print_sink.set(None)  # reset with the other run tokens in _end
        if options.run_name is not None:
            self.flow_run_name = options.run_name_for(
                self._info.signature if self._info else None, self._args, self._kwargs
            )
            telemetry.run_named(self, self.flow_run_name)
        runner = options.task_runner
        if runner is not None and runner.starts_with_run:
            # Started with the run, inside its error handling; _close shuts it down.
            self._task_runner().start()

    async def _await_pending(self, stop: bool = False) -> None:
        pending = [f._async_task for f in self._pending_futures if f._async_task is not None]
        if not pending:
            return
        import asyncio

        if stop or self._timed_out:
            # A run that was cancelled or timed out stops its submitted work, not waits for it.
            for async_task in pending:
                async_task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _execute_async_blocking(self) -> Flow:
        import asyncio  # imported when needed: it costs more than all of flowtel to import

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.execute_async())
        outcome: dict[str, BaseException] = {}
        context = contextvars.copy_context()

        def run_on_worker() -> None:
            try:
                context.run(asyncio.run, self.execute_async())
            except BaseException as error:
                outcome["error"] = error

        worker = threading.Thread(target=run_on_worker, name=f"flowtel:{self.flow_name}")
        worker.start()
        worker.join()
        if "error" in outcome:
            raise outcome["error"]
        return self

    def _ready(self) -> FunctionInfo:
        if self._info is None:
            raise RuntimeError(
                f"Flow {self.flow_name or '(unnamed)'!r} was never set up: call a "
                "@flow-decorated function, or Flow(...).setup(target, *args, **kwargs), "
                "before execute()"
            )
        if self.flow_status == STATUS_RUNNING:
            raise RuntimeError(
                f"Flow {self.flow_name!r} (run {self.flow_id}) is already running; call the "
                "@flow function again for a separate run"
            )
        return self._info

    def _call_kwargs(self, info: FunctionInfo) -> dict:
        if not info.injections:
            return self._kwargs
        values = {"this_flow": self, "flow_data": self.data}
        return info.inject(self._args, dict(self._kwargs), values.__getitem__)

    def _begin(self) -> None:
        if self._runs:
            self._reset_run_state()
            if self._fixed_id is None:
                self.flow_id = new_run_id()
        self._runs += 1
        # Telemetry first: if it raises (only under the test kit), no run state is set yet.
        telemetry.flow_started(self)
        self.flow_status = STATUS_RUNNING
        self.started_at = time.time()
        self._flow_token = current_flow.set(self)
        _capture.acquire()
        self._sink_token = print_sink.set(self)
        self._start = time.perf_counter()
        self._telemetry_open = True
        try:
            if flow_events.event_listeners:
                emit_event(Flow_Run__Event_Type.FLOW_START, "flow", self, None, {})
            self._message(_DEBUG, "Executing flow run '%s'", (self.flow_id,), None)
        except BaseException as error:  # a listener raised KeyboardInterrupt, SystemExit, ...
            self._end(None, error)
            raise

    def _end(self, value: Any, error: BaseException | None) -> bool:
        """Close the run; True when ``error`` must propagate to the caller.

        Whatever a listener, hook or user ``__str__`` raises meanwhile, the span is ended and
        the run state (current flow, print capture) is put back before it propagates.
        """
        try:
            return self._close(value, error)
        except BaseException as interruption:
            self._close_interrupted(interruption)
            raise
        finally:
            print_sink.reset(self._sink_token)
            _capture.release()
            current_flow.reset(self._flow_token)

    def _close_interrupted(self, interruption: BaseException) -> None:
        if self._runner is not None:
            self._runner.shutdown(wait=False)
            self._runner = None
        if not self._telemetry_open:
            return  # the span is already recorded; only what came after it was cut short
        self._telemetry_open = False
        if self.flow_error is None:
            self.flow_error = interruption
        error = self.flow_error
        self.flow_status = STATUS_FAILED if isinstance(error, Exception) else STATUS_CANCELLED
        self.flow_duration = time.perf_counter() - self._start
        telemetry.flow_stopped(self)

    def _close(self, value: Any, error: BaseException | None) -> bool:
        config = self.flow_config
        self._flush_prints()
        propagate = False
        if error is None:
            self.flow_status = STATUS_COMPLETED
            self.flow_return_value = value
            if value is not None:
                self.add_flow_result(key=FLOW_RETURN_VALUE_KEY, description=safe_str(value))
                self._message(_DEBUG, "Flow return value: %s", (value,), None)
            elif config.print_none_return_value:
                self._message(_INFO, "Flow return value: None", (), None)
        else:
            self.flow_error = error
            if isinstance(error, Exception):
                self.flow_status = STATUS_FAILED
                propagate = config.raise_flow_error
                self._message(
                    _ERROR, "Flow '%s' failed: %s", (self.flow_name, error_text(error)), None
                )
            else:
                self.flow_status = STATUS_CANCELLED
                propagate = True
                self._message(
                    _ERROR, "Flow '%s' cancelled: %s", (self.flow_name, error_text(error)), None
                )
        if config.print_finished_message:
            self._message(_INFO, "Finished flow run '%s'", (self.flow_id,), None)
        if self._runner is not None:
            # Wait for the tasks this run submitted, unless it timed out: then queued ones are
            # cancelled and running ones finish in the background.
            self._runner.shutdown(wait=not self._timed_out)
            self._runner = None
        self.flow_duration = time.perf_counter() - self._start
        options = self._options
        if options is not None and (options.on_failure or options.on_completion):
            run_hooks(self, options, self._wrapper)
        self._telemetry_open = False
        telemetry.flow_stopped(self)
        if flow_events.event_listeners:
            emit_event(
                Flow_Run__Event_Type.FLOW_STOP,
                "flow",
                self,
                None,
                {
                    "status": self.flow_status,
                    "error": error_text(error) if error is not None else None,
                    "duration": self.flow_duration,
                },
                _ERROR if error is not None else 0,
            )
        if config.print_logs:
            self.print_log_messages()
        return propagate

    @property
    def state(self) -> State:
        """The Prefect-style final state of this run."""
        return State.of(self)

    def _task_runner(self) -> TaskRunner:
        runner = self._runner
        if runner is None:
            with self._lock:
                if self._runner is None:
                    prototype = self._options.task_runner if self._options is not None else None
                    self._runner = (
                        prototype.duplicate() if prototype is not None else ThreadPoolTaskRunner()
                    )
                runner = self._runner
        return runner

    # The seam between a task's lifecycle and its flow's record: a task reports its start,
    # stop, messages, artifacts and results to its flow through these methods, wherever it
    # runs (a task on a Dask worker reports to a WorkerFlow that journals them; see _remote).

    def _task_started(self, task: Task) -> None:
        if self.flow_config.add_task_to_self:
            self.executed_tasks.append(task)

    def _task_stopped(self, task: Task, error: BaseException | None) -> None:
        if error is not None:
            with self._lock:
                self.failed_tasks += 1
        if self.flow_config.add_task_to_self:
            # executed_tasks keeps the call: it points back weakly, so that no cycle is left.
            task._hold_flow_weakly(self._weak_self)

    # -- with / async with: make this flow current for tasks called in the block --------

    def __enter__(self) -> Flow:
        tokens = self._with_tokens
        if tokens is None:
            tokens = self._with_tokens = []  # also: used as a context for tasks, not forgotten
        tokens.append(current_flow.set(self))
        return self

    def __exit__(self, *exc_info: object) -> None:
        current_flow.reset(self._with_tokens.pop())  # type: ignore[union-attr]

    async def __aenter__(self) -> Flow:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__(*exc_info)

    # -- messages, artifacts, results --------------------------------------------------

    def _log_target(self) -> tuple[Flow | None, Any]:
        # Inside one of this flow's tasks, the message belongs to that task call.
        return self, self._own_task()

    def _capture_print(self, text: str) -> None:
        task = current_task.get()
        if task is not None and task.task_flow is self:
            task._buffer_print(text)
        else:
            RunLogging._capture_print(self, text)

    def _message(
        self,
        level: int,
        template: str,
        args: tuple,
        task: Task | None,
        replayed_at: float | None = None,
    ) -> None:
        # ``replayed_at``: the time of a message replayed from a worker, where it was exported.
        config = self.flow_config
        if not config.logging_enabled:
            return
        task_name = task.task_name if task is not None else ""
        if config.log_to_memory:
            self._run_log.add(level, template, args, task_name, replayed_at or time.time())
        exported = replayed_at is None and level >= telemetry.RUNTIME.export_level
        listeners = flow_events.event_listeners
        console = self.console_writer
        if not (exported or listeners or config.log_to_console or console):
            return
        text = format_message(template, args) if args else template
        if config.log_to_console:
            _console_line(level, self.flow_name, task_name, text)
        if console is not None:
            console(self, task, level, text)
        if exported:
            # The template tells the engine's return-value lines apart (they have args).
            telemetry.message(self, task, level, text, template if args else None)
        if listeners:
            emit_event(
                Flow_Run__Event_Type.FLOW_MESSAGE,
                "task" if task is not None else "flow",
                self,
                task,
                {
                    "message_data": {
                        "log_level": level,
                        "message": text,
                        "message_text": plain_text(text),
                    }
                },
                level,
            )

    def add_flow_artifact(
        self,
        description: str | None = None,
        key: str | None = None,
        data: Any = None,
        artifact_type: str | None = None,
    ) -> dict[str, Any]:
        """Record an artifact on this run (and on its span); returns the artifact dict."""
        _check_key("add_flow_artifact", key)
        artifact = {"key": key, "type": artifact_type, "description": description, "data": data}
        self.flow_artifacts.append(artifact)
        telemetry.artifact(self, artifact)
        if flow_events.event_listeners:
            task = self._own_task()
            emit_event(
                Flow_Run__Event_Type.NEW_ARTIFACT,
                "task" if task is not None else "flow",
                self,
                task,
                {"artifact_data": artifact},
            )
        return artifact

    def add_flow_result(self, key: str | None = None, description: str | None = None) -> dict:
        """Record a result on this run (and on its span); returns the result dict."""
        _check_key("add_flow_result", key)
        result = {"key": key, "description": description}
        self.flow_results.append(result)
        telemetry.result(self, result)
        if flow_events.event_listeners:
            task = self._own_task()
            emit_event(
                Flow_Run__Event_Type.NEW_RESULT,
                "task" if task is not None else "flow",
                self,
                task,
                {"result_data": result},
            )
        return result

    def _own_task(self) -> Task | None:
        task = current_task.get()
        return task if task is not None and task.task_flow is self else None

    # -- reading a run -----------------------------------------------------------------

    def log_messages(self) -> list[str]:
        """This run's messages as plain text, oldest first."""
        return [entry.text for entry in self._run_log.entries()]

    def log_entries(self) -> list[LogEntry]:
        """This run's messages with level, task name and timestamp."""
        return self._run_log.entries()

    def print_log_messages(self) -> None:
        """Print this run's messages to the real stdout."""
        for entry in self._run_log.entries():
            _console_line(entry.level, self.flow_name, entry.task_name, entry.text)

    def durations(self) -> dict[str, Any]:
        """Durations in seconds: the flow's and, summed per task name, its tasks'."""
        tasks: dict[str, float] = {}
        for task in self.executed_tasks:
            tasks[task.task_name] = tasks.get(task.task_name, 0.0) + task.duration
        return {
            "flow_name": self.flow_name,
            "flow_duration": self.flow_duration,
            "flow_status": self.flow_status,
            "flow_tasks": tasks,
        }

    def __repr__(self) -> str:
        return f"<Flow {self.flow_name!r} id={self.flow_id} status={self.flow_status}>"

    def __del__(self) -> None:
        # Only a flow built by a decorated call is easy to forget to execute() (or to use in
        # a ``with`` block for its tasks).
        if self._wrapper is not None and not self._runs and self._with_tokens is None:
            info = self._info
            try:
                warn_flow_never_ran(self.flow_name, info.function_name if info else self.flow_name)
            except Exception:
                # Warnings turned into errors are reported by Python's unraisable hook, as
                # for a coroutine never awaited; at interpreter shutdown there is no one to tell.
                if not sys.is_finalizing():
                    raise


def _check_key(verb: str, key: Any) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"{verb}() needs key= as a non-empty str, got {key!r}")


def _console_line(level: int, flow_name: str, task_name: str, text: str) -> None:
    where = f"{flow_name}.{task_name}" if task_name else flow_name
    stream = _capture.console()
    line = f"{logging.getLevelName(level):<7} {where}: {text}\n"
    try:
        stream.write(line)
    except UnicodeEncodeError:
        # A console that cannot show some character (cp1252, ascii): escape it, do not fail.
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(line.encode(encoding, "backslashreplace").decode(encoding))
