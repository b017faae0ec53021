"""Tasks that run in another process: the engine seam between where a task runs and its flow.

A task's lifecycle (``Task._begin`` / ``Task._end`` in _task.py) is the same wherever it
runs: it starts and ends the task's span through the telemetry runtime, and reports to its
flow: ``Flow._task_started`` / ``_task_stopped``, ``_message``, ``add_flow_artifact``,
``add_flow_result``. In another process (a Dask worker) the flow is a ``WorkerFlow``: a
stand-in built from a snapshot taken at submit time that exports the task's telemetry
there (its span, span events and log records, under the span current at ``submit``) and
keeps a journal of everything the task reported to its flow, in order. The journal comes
back with the task's result in a ``TaskOutcome``, and ``replay`` applies it to the real
Flow in the flow process: the run log, ``executed_tasks``, the failed-task count,
artifacts and results (on the flow's span), and the TASK_START, FLOW_MESSAGE,
NEW_ARTIFACT, NEW_RESULT and TASK_STOP events, in the order they happened on the worker.

Nothing here imports a distributed engine: ``flowtel.dask`` ships ``run_submitted`` to
workers and calls ``replay`` when a result arrives.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import time
import traceback
from typing import Any

from . import _capture
from ._config import DEFAULT_CONFIG
from ._context import current_flow, current_task, print_sink
from ._events import Flow_Run__Event_Type, flow_events
from ._flow import Flow, _check_key
from ._run import STATUS_FAILED, STATUS_RUNNING, emit_event, error_text, format_message
from ._task import Task
from .telemetry import _runtime as telemetry

_ERROR = logging.ERROR

__all__ = [
    "RemoteTaskError",
    "SealedOutcome",
    "TaskOutcome",
    "WorkerFlow",
    "replay",
    "run_sealed",
    "run_submitted",
    "snapshot",
]


class RemoteTaskError(Exception):
    """A task's error that could not be sent back from the worker as itself (not picklable).

    ``error_type`` is the original's qualified type name; ``worker_traceback`` its traceback.
    """

    def __init__(self, message: str, error_type: str = "", worker_traceback: str = "") -> None:
        super().__init__(message)
        self.error_type = error_type
        self.worker_traceback = worker_traceback

    def __reduce__(self) -> Any:
        return (type(self), (str(self), self.error_type, self.worker_traceback))


@dataclasses.dataclass
class TaskRecord:
    """What the flow process keeps of one task call that ran on a worker."""

    task_id: str
    task_name: str
    task_run_name: str | None
    status: str
    duration: float
    attempts: int
    timed_out: bool
    error: BaseException | None
    worker_traceback: str

    def __reduce__(self) -> Any:  # positional: smaller than a dataclass's field dict
        return (
            TaskRecord,
            (
                self.task_id,
                self.task_name,
                self.task_run_name,
                self.status,
                self.duration,
                self.attempts,
                self.timed_out,
                self.error,
                self.worker_traceback,
            ),
        )


@dataclasses.dataclass
class TaskOutcome:
    """A submitted call's result as it travels back: value or error, plus the journal.

    ``journal`` entries: ``("start", task_id)``, ``("message", level, text, task_id,
    timestamp)``, ``("artifact", artifact, task_id)``, ``("result", result, task_id)``,
    ``("stop", task_id)``; ``tasks`` maps task ids to their records.
    """

    value: Any
    error: BaseException | None
    journal: list[tuple]
    tasks: dict[str, TaskRecord]

    def __reduce__(self) -> Any:
        return (TaskOutcome, (self.value, self.error, self.journal, self.tasks))


class SealedOutcome:
    """A ``TaskOutcome`` pickled on the worker, opened in the flow process.

    Dask unpickles a result as it arrives; one that cannot be unpickled there (a type the
    flow process cannot import) would never be delivered, and the run would wait for it
    for ever. Sealed, it arrives as bytes, and ``open()`` failing is the call's error.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self) -> Any:
        return (SealedOutcome, (self.data,))

    def open(self) -> TaskOutcome:
        outcome = pickle.loads(self.data)
        if not isinstance(outcome, TaskOutcome):
            raise TypeError(f"a sealed outcome holds a {type(outcome).__name__}")
        return outcome


def snapshot(flow: Flow | None) -> tuple | None:
    """What a worker needs of the submitting flow: name, run id, config, a copy of its data."""
    if flow is None:
        return None
    config = flow.flow_config
    # The default config travels as None: this goes with every submitted call.
    return (
        flow.flow_name,
        flow.flow_id,
        None if config == DEFAULT_CONFIG else config,
        dict(flow.data),
    )


class WorkerFlow(Flow):
    """The flow as seen by tasks on a worker: a snapshot that journals what tasks report.

    ``flow_data`` is the copy taken at submit time; writes to it stay on the worker. Tasks
    submitted from a task on the worker run on this stand-in's thread pool, on the same
    worker, and their journals join this one.
    """

    def __init__(self, flow_snapshot: tuple) -> None:
        name, flow_id, config, data = flow_snapshot
        super().__init__(config, name, flow_id)
        self.data = data
        self.flow_status = STATUS_RUNNING
        self.journal: list[tuple] = []
        self.tasks: dict[str, Task] = {}

    def _task_started(self, task: Task) -> None:
        self.tasks[task.task_id] = task
        self.journal.append(("start", task.task_id))

    def _task_stopped(self, task: Task, error: BaseException | None) -> None:
        self.journal.append(("stop", task.task_id))

    def _message(
        self,
        level: int,
        template: str,
        args: tuple,
        task: Task | None,
        replayed_at: float | None = None,
    ) -> None:
        if not self.flow_config.logging_enabled:
            return
        text = format_message(template, args)
        if replayed_at is None and level >= telemetry.RUNTIME.export_level:
            # The template of a formatted line too: a return-value line is exported only as
            # record_return_values says (a message of the user's own is exported as written).
            telemetry.message(self, task, level, text, template if args else None)
        self.journal.append(
            (
                "message",
                level,
                text,
                task.task_id if task is not None else None,
                replayed_at or time.time(),
            )
        )

    def add_flow_artifact(
        self,
        description: str | None = None,
        key: str | None = None,
        data: Any = None,
        artifact_type: str | None = None,
    ) -> dict[str, Any]:
        _check_key("add_flow_artifact", key)
        artifact = {"key": key, "type": artifact_type, "description": description, "data": data}
        self.journal.append(("artifact", artifact, _task_id_of(self._own_task())))
        return artifact

    def add_flow_result(self, key: str | None = None, description: str | None = None) -> dict:
        _check_key("add_flow_result", key)
        result = {"key": key, "description": description}
        self.journal.append(("result", result, _task_id_of(self._own_task())))
        return result

    def outcome(self, value: Any, error: BaseException | None, task_name: str) -> TaskOutcome:
        """The outcome to send back; a value or error that cannot be pickled is replaced."""
        if error is None:
            problem = _pickle_problem(value)
            if problem is not None:
                error = TypeError(
                    f"task {task_name!r} returned a {type(value).__name__} that cannot be "
                    f"pickled to send back from the worker ({problem}); return plain data "
                    "(or save the object somewhere and return where)"
                )
                value = None
                first = next(iter(self.tasks.values()), None)
                if first is not None:
                    first.status, first.task_error = STATUS_FAILED, error
        records = {task_id: _record(task) for task_id, task in self.tasks.items()}
        journal = [_picklable_entry(entry) for entry in self.journal]
        return TaskOutcome(value, _sendable_error(error), journal, records)


def _task_id_of(task: Task | None) -> str | None:
    return task.task_id if task is not None else None


def _pickle_problem(value: Any) -> str | None:
    if value is None or type(value) in (int, float, str, bytes, bool):
        return None
    try:
        pickle.dumps(value)
        return None
    except Exception:
        pass
    try:
        import cloudpickle  # a dependency of dask: workers always have it

        cloudpickle.dumps(value)
        return None
    except Exception as error:
        return f"{type(error).__name__}: {error}"


def _sendable_error(error: BaseException | None) -> BaseException | None:
    if error is None or _pickle_problem(error) is None:
        return error
    kind = type(error)
    return RemoteTaskError(
        f"{kind.__name__}: {error}",
        f"{kind.__module__}.{kind.__qualname__}",
        "".join(traceback.format_exception(kind, error, error.__traceback__)),
    )


def _picklable_entry(entry: tuple) -> tuple:
    if entry[0] == "artifact" and _pickle_problem(entry[1]["data"]) is not None:
        artifact = dict(entry[1])
        artifact["data"] = repr(artifact["data"])
        return ("artifact", artifact, entry[2])
    return entry


def _record(task: Task) -> TaskRecord:
    error = task.task_error
    return TaskRecord(
        task_id=task.task_id,
        task_name=task.task_name,
        task_run_name=task.task_run_name,
        status=task.status,
        duration=task.duration,
        attempts=task.attempts,
        timed_out=task._timed_out,
        error=_sendable_error(error),
        worker_traceback=""
        if error is None
        else "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    )


# -- shipping task functions -----------------------------------------------------------


_FLOWTEL_CONTEXT_VARS: dict[str, Any] = {
    var.name: var for var in (current_flow, current_task, print_sink)
}


def _flowtel_context_var(name: str) -> Any:
    var = _FLOWTEL_CONTEXT_VARS.get(name)
    if var is None:
        raise RuntimeError(f"unknown flowtel context variable {name!r}")
    return var


def _reduce_context_var(var: Any) -> Any:
    name = var.name
    if _FLOWTEL_CONTEXT_VARS.get(name) is var:
        return (_flowtel_context_var, (name,))
    raise TypeError(f"cannot pickle 'ContextVar' object {name!r}")


def allow_pickling_task_functions_by_value() -> None:
    """Let task functions defined in a script (``__main__``) travel by value.

    A worker cannot import a script's functions, so cloudpickle sends them with the globals
    they use; a ``@task`` wrapper uses flowtel's context variables, which pickle as a
    reference to the same variable in the receiving process. Other ContextVars still refuse.
    """
    import contextvars
    import copyreg

    copyreg.pickle(contextvars.ContextVar, _reduce_context_var)


# -- worker side -----------------------------------------------------------------------


def run_submitted(args: tuple, kwargs: dict, shared: tuple) -> TaskOutcome:
    """Run one submitted task call on a worker and return its outcome with the journal.

    ``shared`` is what the calls of one submission share: the task function, the trace
    context carrier, the flow snapshot, whether the task is async, and its name.
    ``carrier`` holds the W3C trace context of the span current at submit: the task's span
    is its child. Upstream outcomes among the arguments are replaced by their values (an
    upstream error is this call's error, and the task does not run, as in the flow
    process). The span and log providers are flushed before the outcome is returned, so a
    task's telemetry is on its way when its result is reported.
    """
    from opentelemetry import context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    call, carrier, flow_snapshot, is_async, task_name = shared
    flow = WorkerFlow(flow_snapshot) if flow_snapshot is not None else None
    context_token = context.attach(TraceContextTextMapPropagator().extract(carrier))
    flow_token = current_flow.set(flow)
    if flow is not None:
        _capture.acquire()
        sink_token = print_sink.set(flow)
    value: Any = None
    error: BaseException | None = None
    try:
        args, kwargs = _upstream_values(args, kwargs)
        if is_async:
            import asyncio

            value = asyncio.run(call(*args, **kwargs))
        else:
            value = call(*args, **kwargs)
    except BaseException as raised:
        error = raised
    finally:
        if flow is not None:
            if flow._runner is not None:
                flow._runner.shutdown(wait=True)
            print_sink.reset(sink_token)
            _capture.release()
        current_flow.reset(flow_token)
        context.detach(context_token)
    flush_spans_and_logs()
    if flow is None:
        flow = WorkerFlow(("", "", None, {}))
    return flow.outcome(value, error, task_name)


# The longest a worker's task call waits for its telemetry to be handed over before its
# result goes back; what is not sent by then stays queued and is retried.
FLUSH_TIMEOUT_S = 2.0


def run_sealed(args: tuple, kwargs: dict, shared: tuple) -> SealedOutcome:
    """``run_submitted``, its outcome sealed for the trip back."""
    outcome = run_submitted(args, kwargs, shared)
    try:
        return SealedOutcome(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        import cloudpickle  # what plain pickle refuses (a lambda, a script's class)

        return SealedOutcome(cloudpickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))


def flush_spans_and_logs() -> None:
    """Export the spans and log records this process has buffered (metrics stay periodic).

    Waits at most ``FLUSH_TIMEOUT_S`` in all, and not at all while flowtel's exports are
    failing: a stalled or unreachable collector must not hold up every task's result.
    """
    from opentelemetry import _logs, trace

    from .telemetry._configure import endpoint_unreachable

    providers = telemetry.RUNTIME._providers
    if providers is not None:
        candidates = (providers[0], providers[1])
    else:
        candidates = (trace.get_tracer_provider(), _logs.get_logger_provider())
    deadline = time.monotonic() + (0.0 if endpoint_unreachable() else FLUSH_TIMEOUT_S)
    for provider in candidates:
        flush = getattr(provider, "force_flush", None)
        if flush is not None:
            try:
                flush(max(int((deadline - time.monotonic()) * 1000), 0))
            except Exception:
                telemetry.RUNTIME.internal_error("worker flush")


def _upstream_values(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    if not any(isinstance(v, (TaskOutcome, SealedOutcome)) for v in (*args, *kwargs.values())):
        return args, kwargs
    return (
        tuple(_value_of(v) for v in args),
        {k: _value_of(v) for k, v in kwargs.items()},
    )


def _value_of(value: Any) -> Any:
    if isinstance(value, SealedOutcome):
        value = value.open()
    if not isinstance(value, TaskOutcome):
        return value
    if value.error is not None:
        raise value.error
    return value.value


# -- flow side -------------------------------------------------------------------------


def replay(flow: Flow | None, outcome: TaskOutcome) -> None:
    """Apply a worker task's journal to its flow in this process, in the worker's order."""
    if flow is None:
        return
    tasks: dict[str, Task] = {}
    for entry in outcome.journal:
        kind = entry[0]
        if kind == "message":
            _, level, text, task_id, timestamp = entry
            flow._message(level, text, (), tasks.get(task_id), timestamp)
        elif kind == "start":
            task = tasks[entry[1]] = _replayed_task(flow, outcome.tasks[entry[1]])
            flow._task_started(task)
            if flow_events.event_listeners:
                emit_event(Flow_Run__Event_Type.TASK_START, "task", flow, task, {})
        elif kind == "stop":
            task = tasks[entry[1]]
            _finish(task, outcome.tasks[entry[1]])
            error = task.task_error
            if flow_events.event_listeners:
                emit_event(
                    Flow_Run__Event_Type.TASK_STOP,
                    "task",
                    flow,
                    task,
                    {
                        "status": task.status,
                        "error": error_text(error) if error is not None else None,
                        "duration": task.duration,
                    },
                    _ERROR if error is not None else 0,
                )
            flow._task_stopped(task, error)
        else:
            token = current_task.set(tasks.get(entry[2]))
            try:
                if kind == "artifact":
                    artifact = entry[1]
                    flow.add_flow_artifact(
                        description=artifact["description"],
                        key=artifact["key"],
                        data=artifact["data"],
                        artifact_type=artifact["type"],
                    )
                else:
                    flow.add_flow_result(key=entry[1]["key"], description=entry[1]["description"])
            finally:
                current_task.reset(token)
    if tasks and outcome.error is None:
        # The submitted call is the first task that started on the worker.
        next(iter(tasks.values())).task_return_value = outcome.value


def _replayed_task(flow: Flow, record: TaskRecord) -> Task:
    task = Task.__new__(Task)
    task.definition = None
    task.task_name = record.task_name
    task.raise_on_error = True
    task.task_flow = flow
    task._task_id = record.task_id
    task.task_run_name = record.task_run_name
    task.status = STATUS_RUNNING
    return task


def _finish(task: Task, record: TaskRecord) -> None:
    task.status = record.status
    task.duration = record.duration
    task.attempts = record.attempts
    task._timed_out = record.timed_out
    task.task_error = record.error
    task.worker_traceback = record.worker_traceback  # type: ignore[attr-defined]
