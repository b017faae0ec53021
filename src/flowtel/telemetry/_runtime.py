"""The built-in telemetry observer: flow and task lifecycles as spans, logs and metrics.

Every function here is called synchronously from the run lifecycle. Each must be cheap,
must not block and must not raise: an internal error is logged once (and raised when
``RUNTIME.raise_internal_errors`` is set, as the test kit does).

flowtel emits through the global OTel providers, looked up lazily through the public API
only (no private ``opentelemetry`` attribute is read). Until an SDK tracer provider is
installed (by ``flowtel.configure()``, the application, or ``opentelemetry-instrument``)
the span hooks return after one check; whether one has been installed since is looked up
again when a flow starts (and for a task outside a running flow), never per task of a
running flow, because the API's getter reads the environment on every call. The logger and
instruments come from the API's global getters once: before a provider is set those are the
API's proxies, which forward to the real ones as soon as it is. Because the global providers
can be set only once, what was resolved is cached until ``use_providers`` changes it (the
test kit does that).

Every string handed to OTel goes through ``_attributes`` (valid UTF-8, bounded, URL
passwords masked, secrets redacted).
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from typing import TYPE_CHECKING, Any

from opentelemetry import _logs, context, metrics, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.trace import SpanKind, Status, StatusCode

from .._run import STATUS_RUNNING
from ._attributes import (
    DEFAULT_MESSAGE_LIMIT,
    DEFAULT_STACKTRACE_LIMIT,
    DEFAULT_VALUE_LIMIT,
    REDACTED,
    error_description,
    exception_attributes,
    is_secret_key,
    otlp_safe,
    redact,
    safe_attributes,
    safe_name,
    safe_text,
    value_limit,
)

if TYPE_CHECKING:
    from .._flow import Flow
    from .._function_info import FunctionInfo
    from .._task import Task, TaskDefinition

_internal_logger = logging.getLogger("flowtel.telemetry")

_UNRESOLVED: Any = object()

INSTRUMENTATION_NAME = "flowtel"

# Attribute names (OTel semantic conventions where they fit, flowtel.* for the rest).
PIPELINE_NAME = "cicd.pipeline.name"
PIPELINE_RUN_ID = "cicd.pipeline.run.id"
PIPELINE_RESULT = "cicd.pipeline.result"
TASK_NAME = "cicd.pipeline.task.name"
TASK_RUN_ID = "cicd.pipeline.task.run.id"
TASK_RESULT = "cicd.pipeline.task.run.result"
CODE_FUNCTION = "code.function.name"
CODE_FILE = "code.file.path"
CODE_LINE = "code.line.number"
ERROR_TYPE = "error.type"
FAILED_TASKS = "flowtel.flow.failed_tasks"
TASK_ATTEMPTS = "flowtel.task.attempts"
FLOW_ATTEMPTS = "flowtel.flow.attempts"
FLOW_RUN_NAME = "flowtel.flow.run_name"
TASK_RUN_NAME = "flowtel.task.run_name"
TAGS = "flowtel.tags"
ATTEMPT_FAILED_EVENT = "flowtel.attempt.failed"
ARGUMENTS = "flowtel.arguments"
RETURN_VALUE = "flowtel.return_value"

RESULT_SUCCESS = "success"
RESULT_FAILURE = "failure"
RESULT_TIMEOUT = "timeout"
RESULT_CANCELLATION = "cancellation"
RESULT_ERROR = "error"

EXCEPTION_EVENT = "exception"
MESSAGE_EVENT = "flowtel.message"
# The engine's DEBUG lines that carry a return value: exported only as the redacted,
# bounded value, and only with record_return_values on.
RETURN_VALUE_TEMPLATES = {
    "Task return value: %s": "Task return value: ",
    "Flow return value: %s": "Flow return value: ",
}
NOT_RECORDED = "[not recorded: record_return_values is off]"
FLOW_RETURN_VALUE_RESULT = "flow-return-value"
ARTIFACT_EVENT = "flowtel.artifact"
RESULT_EVENT = "flowtel.result"
FLOW_STARTED = "flow started"

# OTel severity numbers; the text is logging's level name, as OTel's own LoggingHandler sends
# it (the spec's severity text is the level "as known at the source").
_SEVERITY = {
    logging.DEBUG: (SeverityNumber.DEBUG, "DEBUG"),
    logging.INFO: (SeverityNumber.INFO, "INFO"),
    logging.WARNING: (SeverityNumber.WARN, "WARNING"),
    logging.ERROR: (SeverityNumber.ERROR, "ERROR"),
    logging.CRITICAL: (SeverityNumber.FATAL, "CRITICAL"),
}


def severity(level: int) -> tuple[SeverityNumber, str]:
    """The OTel severity for a ``logging`` level number."""
    found = _SEVERITY.get(level)
    if found is not None:
        return found
    for threshold in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if level >= threshold:
            return _SEVERITY[threshold]
    return SeverityNumber.TRACE, "TRACE"


def qualified_type(error: BaseException) -> str:
    """The exception's fully qualified type, e.g. ``builtins.ValueError``."""
    kind = type(error)
    return safe_name(f"{kind.__module__}.{kind.__qualname__}")


class _Instruments:
    __slots__ = (
        "flow_active",
        "flow_duration",
        "flow_runs",
        "task_attempts",
        "task_duration",
        "task_runs",
    )

    def __init__(self, meter: metrics.Meter) -> None:
        self.flow_runs = meter.create_counter(
            "flowtel.flow.runs", unit="{run}", description="Flow runs, by flow name and result"
        )
        self.task_runs = meter.create_counter(
            "flowtel.task.runs", unit="{run}", description="Task runs, by flow, task and result"
        )
        self.flow_duration = meter.create_histogram(
            "cicd.pipeline.run.duration", unit="s", description="Duration of flow runs"
        )
        self.task_duration = meter.create_histogram(
            "flowtel.task.duration", unit="s", description="Duration of task runs"
        )
        self.flow_active = meter.create_up_down_counter(
            "cicd.pipeline.run.active", unit="{run}", description="Flow runs in progress"
        )
        self.task_attempts = meter.create_histogram(
            "flowtel.task.attempts", unit="{attempt}", description="Attempts per task run"
        )


class Runtime:
    """flowtel's telemetry settings and the resolved OTel tracer, logger and instruments.

    Settings are plain attributes written by ``configure()`` (and tests); the hooks read them
    from any thread without a lock, as a run sees either the old or the new value.
    """

    def __init__(self) -> None:
        self.export_level = logging.INFO
        self.attribute_value_limit = DEFAULT_VALUE_LIMIT
        self.message_limit = DEFAULT_MESSAGE_LIMIT
        self.stacktrace_limit = DEFAULT_STACKTRACE_LIMIT
        self.record_arguments = False
        self.record_return_values = False
        self.flow_start_records = False
        self.raise_internal_errors = os.environ.get("FLOWTEL_RAISE_INTERNAL_ERRORS") == "1"
        self._reported: set[str] = set()
        self._providers: tuple[Any, Any, Any] | None = None
        self._reset_cache()

    def _reset_cache(self) -> None:
        self._tracer: trace.Tracer | None = None
        self._tracer_checked = False
        self._logger: Any = _UNRESOLVED
        self._instruments: Any = _UNRESOLVED
        self._attr_cache: dict[tuple, dict[str, Any]] = {}
        # The SDK cuts event and log attributes to this limit without a marker, so flowtel
        # cuts (with its marker) to it first. Read here, not per message.
        self.sdk_value_limit = value_limit(0) or None

    def use_providers(
        self,
        tracer_provider: Any = None,
        logger_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        """Emit through these providers instead of the global ones (None: back to global)."""
        if tracer_provider is None and logger_provider is None and meter_provider is None:
            self._providers = None
        else:
            self._providers = (tracer_provider, logger_provider, meter_provider)
        self._reset_cache()

    def reset(self) -> None:
        """Back to defaults and the global providers (for tests)."""
        self.__init__()  # type: ignore[misc]

    def event_limit(self, limit: int) -> int:
        """``limit``, or the SDK's attribute value limit when that is smaller."""
        sdk_limit = self.sdk_value_limit
        return limit if sdk_limit is None or sdk_limit >= limit else sdk_limit

    # The API's public getters read the environment on every call while no provider is
    # set, so the tracer is looked up again only when ``recheck()`` asks for it.

    def recheck(self) -> None:
        """Look the tracer provider up again at the next ``tracer()`` if none was found."""
        if self._tracer is None:
            self._tracer_checked = False

    def tracer(self) -> trace.Tracer | None:
        tracer = self._tracer
        if tracer is not None or self._tracer_checked:
            return tracer
        if self._providers is not None:
            provider = self._providers[0]
        else:
            provider = trace.get_tracer_provider()
            if isinstance(provider, trace.ProxyTracerProvider):
                provider = None
        if provider is not None:
            tracer = self._tracer = provider.get_tracer(INSTRUMENTATION_NAME, _version())
        self._tracer_checked = True
        return tracer

    def logger(self) -> _logs.Logger | None:
        logger = self._logger
        if logger is _UNRESOLVED:
            if self._providers is not None:
                provider = self._providers[1]
            else:
                provider = _logs.get_logger_provider()
            logger = self._logger = (
                None if provider is None else provider.get_logger(INSTRUMENTATION_NAME, _version())
            )
        return logger  # type: ignore[no-any-return]

    def instruments(self) -> _Instruments | None:
        instruments = self._instruments
        if instruments is _UNRESOLVED:
            if self._providers is not None:
                provider = self._providers[2]
            else:
                provider = metrics.get_meter_provider()
            instruments = self._instruments = (
                None
                if provider is None
                else _Instruments(provider.get_meter(INSTRUMENTATION_NAME, _version()))
            )
        return instruments  # type: ignore[no-any-return]

    def attributes(self, *key: Any) -> dict[str, Any]:
        """A cached, shared metric attribute dict for (kind, names..., result)."""
        found = self._attr_cache.get(key)
        if found is None:
            if key[0] == "flow":
                found = {PIPELINE_NAME: safe_name(key[1])}
                if len(key) > 2:
                    found[PIPELINE_RESULT] = key[2]
            else:
                found = {
                    PIPELINE_NAME: safe_name(key[1]),
                    TASK_NAME: safe_name(key[2]),
                    TASK_RESULT: key[3],
                }
            self._attr_cache[key] = found
        return found

    def internal_error(self, where: str) -> None:
        """Report an internal telemetry error once per place; raise under the test kit."""
        if self.raise_internal_errors:
            raise
        if where in self._reported:
            return
        self._reported.add(where)
        _internal_logger.error(
            "flowtel telemetry error in %s (the flow goes on; later errors here are not "
            "reported):\n%s",
            where,
            traceback.format_exc(),
        )


RUNTIME = Runtime()


def _version() -> str:
    from .. import __version__

    return __version__


# -- results ---------------------------------------------------------------------------


def result_of(error: BaseException | None, timed_out: bool = False) -> str:
    """The telemetry result name for a run's final status."""
    if error is None:
        return RESULT_SUCCESS
    if timed_out:
        return RESULT_TIMEOUT
    if isinstance(error, Exception):
        return RESULT_FAILURE
    return RESULT_CANCELLATION


def _record_error(runtime: Runtime, span: Any, error: BaseException) -> None:
    # Not span.record_exception(): its texts are unbounded and may hold lone surrogates,
    # which make the OTLP encoder drop the whole batch.
    attributes = exception_attributes(
        error,
        runtime.event_limit(runtime.message_limit),
        runtime.event_limit(runtime.stacktrace_limit),
    )
    attributes["exception.escaped"] = "False"
    span.add_event(EXCEPTION_EVENT, attributes)
    span.set_attribute(ERROR_TYPE, qualified_type(error))
    span.set_status(Status(StatusCode.ERROR, error_description(error, runtime.message_limit)))


def _arguments_attribute(info: Any, args: tuple, kwargs: dict) -> str | None:
    signature = info.signature
    if signature is None:
        return None
    try:
        bound = signature.bind_partial(*args, **kwargs).arguments
    except TypeError:  # the call itself fails with this TypeError; its span is still recorded
        return None
    bound.pop("self", None)
    for name in ("this_flow", "this_task", "flow_data", "task_data"):
        bound.pop(name, None)
    return otlp_safe(redact(dict(bound)), value_limit(RUNTIME.attribute_value_limit))  # type: ignore[return-value]


def _return_value(runtime: Runtime, value: Any) -> str | bool | int | float:
    return otlp_safe(redact(value), value_limit(runtime.attribute_value_limit))


def _option_attributes(options: Any, runtime: Runtime) -> dict[str, Any]:
    return safe_attributes(options.span_attributes, value_limit(runtime.attribute_value_limit))


# -- flow hooks ------------------------------------------------------------------------


def current_span_context() -> trace.SpanContext | None:
    """The valid span context current now, kept by a new Flow to link a run started elsewhere."""
    # No tracer lookup: without a provider no span is current (and a run that starts with
    # no tracer makes no link).
    span_context = trace.get_current_span().get_span_context()
    return span_context if span_context.is_valid else None


def _parent_and_links(flow: Flow) -> tuple[context.Context | None, list[trace.Link] | None]:
    # A detached run, or one started with no current span, begins a new trace; it links to
    # the span that was current where the Flow was made (or detached), as OTel advises for
    # work that outlives the operation that started it.
    origin = flow._origin
    if flow._detached:
        return context.Context(), [trace.Link(origin)] if origin is not None else None
    if origin is not None and not trace.get_current_span().get_span_context().is_valid:
        return None, [trace.Link(origin)]
    return None, None


def flow_started(flow: Flow) -> None:
    runtime = RUNTIME
    try:
        # The run's name and id as attributes, made once for its span, its tasks' spans and
        # its messages (the engine sets neither while the run goes on).
        names = flow._run_attributes = _flow_names(flow)
        runtime.recheck()
        tracer = runtime.tracer()
        if tracer is not None:
            info: FunctionInfo = flow._info  # type: ignore[assignment]
            name = names[PIPELINE_NAME]
            attributes: dict[str, Any] = {**names, **_code_attributes(info)}
            options = flow._options
            if options is not None and options.span_attributes:
                attributes.update(_option_attributes(options, runtime))
            if runtime.record_arguments:
                captured = _arguments_attribute(info, flow._args, flow._kwargs)
                if captured is not None:
                    attributes[ARGUMENTS] = captured
            parent, links = _parent_and_links(flow)
            span = tracer.start_span(
                name,
                context=parent,
                kind=SpanKind.INTERNAL,
                attributes=attributes,
                links=links,
            )
            run_context = trace.set_span_in_context(span)
            flow._span = span
            flow._run_context = run_context
            flow._span_token = context.attach(run_context)
        instruments = runtime.instruments()
        if instruments is not None:
            instruments.flow_active.add(1, runtime.attributes("flow", flow.flow_name))
        if runtime.flow_start_records:
            logger = runtime.logger()
            if logger is not None:
                logger.emit(
                    timestamp=time.time_ns(),
                    severity_number=SeverityNumber.INFO,
                    severity_text="INFO",
                    body=FLOW_STARTED,
                    attributes=names,
                )
    except Exception:
        runtime.internal_error("flow start")


def _flow_names(flow: Flow) -> dict[str, Any]:
    return {PIPELINE_NAME: safe_name(flow.flow_name), PIPELINE_RUN_ID: safe_name(flow.flow_id)}


def _run_attributes(flow: Flow) -> dict[str, Any]:
    """The flow's name and run id as attributes (made at its start while it runs)."""
    names = flow._run_attributes
    # Made now for a flow that is not running, used as a context (``with flow:``).
    return names if names is not None else _flow_names(flow)


def _code_attributes(info: FunctionInfo) -> dict[str, Any]:
    """A flow or task function's code location as attributes, made once per function."""
    attributes = info.code_attributes
    if attributes is None:
        attributes = info.code_attributes = {
            CODE_FUNCTION: safe_name(info.qualified_name),
            CODE_FILE: safe_name(info.file_path),
            CODE_LINE: info.line_number,
        }
    return attributes


def _end_run_span(
    runtime: Runtime,
    span: Any,
    token: Any,
    result: tuple[str, str],
    return_value: Any,
    error: BaseException | None,
    outcome: dict[str, Any] | None = None,
) -> None:
    """Detach a run's span, record its result (and other outcome attributes), return value
    and error, and end it; the span is ended whatever fails on the way."""
    try:
        context.detach(token)
        # One set_attribute per value: the SDK's set_attributes costs twice as much for one.
        span.set_attribute(*result)
        if outcome:
            for key, value in outcome.items():
                span.set_attribute(key, value)
        if runtime.record_return_values and error is None and return_value is not None:
            span.set_attribute(RETURN_VALUE, _return_value(runtime, return_value))
        if error is not None:
            _record_error(runtime, span, error)
    finally:
        span.end()


def flow_stopped(flow: Flow) -> None:
    runtime = RUNTIME
    flow._run_attributes = None
    try:
        error = flow.flow_error
        result = result_of(error, flow._timed_out)
        span = flow._span
        # The context the span was started in (None without a span): the metrics' context.
        run_context = flow._run_context
        if span is not None:
            token = flow._span_token
            flow._span = flow._span_token = flow._run_context = None
            outcome: dict[str, Any] = {FAILED_TASKS: flow.failed_tasks}
            if flow.attempts > 1:
                outcome[FLOW_ATTEMPTS] = flow.attempts
            _end_run_span(
                runtime,
                span,
                token,
                (PIPELINE_RESULT, result),
                flow.flow_return_value,
                error,
                outcome,
            )
        instruments = runtime.instruments()
        if instruments is not None:
            name = flow.flow_name
            instruments.flow_active.add(-1, runtime.attributes("flow", name))
            attributes = runtime.attributes("flow", name, result)
            # The run's span as context: a sampled span makes the measurement an exemplar.
            instruments.flow_runs.add(1, attributes, context=run_context)
            instruments.flow_duration.record(flow.flow_duration, attributes, context=run_context)
    except Exception:
        runtime.internal_error("flow stop")


# -- task hooks ------------------------------------------------------------------------


def task_started(task: Task, args: tuple = (), kwargs: dict | None = None) -> None:
    runtime = RUNTIME
    try:
        flow = task.task_flow
        if flow is None or flow.flow_status != STATUS_RUNNING:
            runtime.recheck()  # a running flow has looked the provider up at its start
        tracer = runtime.tracer()
        if tracer is None:
            return
        definition: TaskDefinition = task.definition  # type: ignore[assignment]
        info = definition.info
        name = safe_name(task.task_name)
        attributes: dict[str, Any] = {
            TASK_NAME: name,
            TASK_RUN_ID: task.task_id,
            **_code_attributes(info),
        }
        if flow is not None:
            attributes.update(_run_attributes(flow))
        options = definition.options
        if options is not None and options.span_attributes:
            attributes.update(_option_attributes(options, runtime))
        if runtime.record_arguments:
            captured = _arguments_attribute(info, args, kwargs or {})
            if captured is not None:
                attributes[ARGUMENTS] = captured
        span = tracer.start_span(name, kind=SpanKind.INTERNAL, attributes=attributes)
        run_context = trace.set_span_in_context(span)
        task._span = span
        task._run_context = run_context
        task._span_token = context.attach(run_context)
    except Exception:
        runtime.internal_error("task start")


def task_stopped(task: Task) -> None:
    runtime = RUNTIME
    if task._message_attributes is not None:
        # Not kept with the finished call, nor seen by its next run (a Task run by hand again).
        task._message_attributes = None
    try:
        error = task.task_error
        result = result_of(error, task._timed_out)
        span = task._span
        # The context the span was started in (None without a span): the metrics' context.
        run_context = task._run_context
        if span is not None:
            token = task._span_token
            task._span = task._span_token = task._run_context = None
            _end_run_span(
                runtime,
                span,
                token,
                (TASK_RESULT, result),
                task.task_return_value,
                error,
                {TASK_ATTEMPTS: task.attempts} if task.attempts > 1 else None,
            )
        instruments = runtime.instruments()
        if instruments is not None:
            flow = task.task_flow
            attributes = runtime.attributes(
                "task", flow.flow_name if flow is not None else "", task.task_name, result
            )
            # The run's span as context: a sampled span makes the measurement an exemplar.
            instruments.task_runs.add(1, attributes, context=run_context)
            instruments.task_duration.record(task.duration, attributes, context=run_context)
            if task.attempts:
                instruments.task_attempts.record(task.attempts, attributes)
    except Exception:
        runtime.internal_error("task stop")


# -- messages, artifacts, results ------------------------------------------------------


def message(
    flow: Flow, task: Task | None, level: int, text: str, template: str | None = None
) -> None:
    """A flow message at or above the export level: span event + OTel log record.

    ``template`` is the engine's format string; its return-value lines are exported only
    with record_return_values on, and then with the redacted, bounded value.
    """
    runtime = RUNTIME
    try:
        logger = runtime.logger()
        if logger is None and runtime.tracer() is None:
            return  # nothing would record it
        if template is not None and template in RETURN_VALUE_TEMPLATES:
            text = RETURN_VALUE_TEMPLATES[template] + _returned_text(runtime, flow, task)
        # The current span; when it is the run's own (the common case), without a lookup.
        current = context.get_current()
        run: Flow | Task = task if task is not None and task._span is not None else flow
        span = run._span if current is run._run_context else trace.get_current_span(current)
        log_context = None
        recording = span.is_recording()
        if not recording:
            run_span = (task._span if task is not None else None) or flow._span
            if run_span is not None:
                span = run_span
                log_context = trace.set_span_in_context(run_span)
                recording = span.is_recording()
        number, name = _SEVERITY.get(level) or severity(level)
        attributes: dict[str, Any] | None
        if task is None:
            attributes = _run_attributes(flow)
        else:
            # Made at the call's first message and shared by the rest (the SDK copies them).
            attributes = task._message_attributes
            if attributes is None:
                attributes = task._message_attributes = {
                    **_run_attributes(flow),
                    TASK_NAME: safe_name(task.task_name),
                    TASK_RUN_ID: task.task_id,
                }
        body = safe_text(text, runtime.message_limit)
        if recording:
            event_limit = runtime.event_limit(runtime.message_limit)
            span.add_event(
                MESSAGE_EVENT,
                {
                    "message": body if len(body) <= event_limit else safe_text(text, event_limit),
                    "log.severity": name,
                    **attributes,
                },
            )
        if logger is not None:
            logger.emit(
                timestamp=time.time_ns(),
                context=log_context,
                severity_number=number,
                severity_text=name,
                body=body,
                attributes=attributes,
            )
    except Exception:
        runtime.internal_error("message")


def _returned_text(runtime: Runtime, flow: Flow, task: Task | None) -> str:
    if not runtime.record_return_values:
        return NOT_RECORDED
    value = task.task_return_value if task is not None else flow.flow_return_value
    return str(_return_value(runtime, value))


def _or_empty(value: Any) -> Any:
    # Not ``value or ""``: that calls a user object's __bool__ (or __len__), which may raise.
    return "" if value is None or (type(value) is str and not value) else value


def artifact(flow: Flow, artifact_data: dict[str, Any]) -> None:
    span = flow._span
    if span is None:
        return
    runtime = RUNTIME
    try:
        limit = value_limit(runtime.attribute_value_limit)
        key = artifact_data["key"]
        safe_key = safe_name(key)
        prefix = f"flowtel.artifact.{safe_key}"
        secret = is_secret_key(key)
        kind = otlp_safe(_or_empty(artifact_data["type"]), limit)
        description = (
            REDACTED if secret else otlp_safe(_or_empty(artifact_data["description"]), limit)
        )
        data = REDACTED if secret else otlp_safe(redact(artifact_data["data"]), limit)
        span.set_attribute(f"{prefix}.type", kind)
        span.set_attribute(f"{prefix}.description", description)
        span.set_attribute(f"{prefix}.data", data)
        span.add_event(
            ARTIFACT_EVENT,
            {
                "flowtel.artifact.key": safe_key,
                "flowtel.artifact.type": kind,
                "flowtel.artifact.description": description,
            },
        )
    except Exception:
        runtime.internal_error("artifact")


def result(flow: Flow, result_data: dict[str, Any]) -> None:
    span = flow._span
    if span is None:
        return
    runtime = RUNTIME
    key = result_data["key"]
    if key == FLOW_RETURN_VALUE_RESULT and not runtime.record_return_values:
        return
    try:
        if key == FLOW_RETURN_VALUE_RESULT and flow.flow_return_value is not None:
            description = _return_value(runtime, flow.flow_return_value)
        elif is_secret_key(key):
            description = REDACTED
        else:
            description = otlp_safe(
                _or_empty(result_data["description"]), value_limit(runtime.attribute_value_limit)
            )
        safe_key = safe_name(key)
        span.set_attribute(f"flowtel.result.{safe_key}", description)
        span.add_event(
            RESULT_EVENT,
            {"flowtel.result.key": safe_key, "flowtel.result.description": description},
        )
    except Exception:
        runtime.internal_error("result")


def run_named(run: Flow | Task, name: str | None) -> None:
    """Record a run name filled from a flow_run_name/task_run_name template."""
    span = run._span
    if span is None or name is None:
        return
    try:
        key = FLOW_RUN_NAME if hasattr(run, "flow_status") else TASK_RUN_NAME
        span.set_attribute(key, otlp_safe(name, value_limit(RUNTIME.attribute_value_limit)))
    except Exception:
        RUNTIME.internal_error("run name")


def run_tagged(run: Flow | Task, tags: tuple[str, ...]) -> None:
    """Record a run's tags when they are known only at run time (Prefect's ``tags()``)."""
    span = run._span
    if span is None or not tags:
        return
    try:
        limit = value_limit(RUNTIME.attribute_value_limit)
        span.set_attributes(safe_attributes({TAGS: tags}, limit))
    except Exception:
        RUNTIME.internal_error("run tags")


def attempt_failed(run: Flow | Task, error: BaseException, attempt: int, delay: float) -> None:
    """A failed attempt that will be retried: an event on the run's span."""
    span = run._span
    if span is None:
        return
    runtime = RUNTIME
    try:
        span.add_event(
            ATTEMPT_FAILED_EVENT,
            {
                "flowtel.attempt": attempt,
                "flowtel.retry.delay": delay,
                **exception_attributes(
                    error,
                    runtime.event_limit(runtime.message_limit),
                    runtime.event_limit(runtime.stacktrace_limit),
                ),
                "exception.type": qualified_type(error),
            },
        )
    except Exception:
        runtime.internal_error("attempt failed")
