"""flowtel.configure(): the one call that sets up the OTel SDK for flowtel's telemetry."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import _logs, metrics, trace

from . import _sigterm
from ._runtime import RUNTIME

if TYPE_CHECKING:
    from ._export import Exports

# The export machinery (_export) is imported when configure(), force_flush() or shutdown()
# first runs: ``import flowtel`` does not pay for it.
DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000

__all__ = ["configure", "force_flush", "shutdown"]

_logger = logging.getLogger("flowtel.telemetry")

DEFAULT_PROTOCOL = "grpc"
_SHUTDOWN_TIMEOUT_ENV = "FLOWTEL_SHUTDOWN_TIMEOUT_MS"


class _State:
    lock = threading.Lock()
    configured = False
    settings: dict[str, Any] = {}
    tracer_provider: Any = None
    logger_provider: Any = None
    meter_provider: Any = None
    # Kept after shutdown() so callers can still ask what was delivered.
    exports: Exports | None = None
    shutdown_timeout_ms: int = DEFAULT_SHUTDOWN_TIMEOUT_MS


def configure(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: dict[str, str] | None = None,
    console: bool | None = None,
    export_level: int | str | None = None,
    record_arguments: bool | None = None,
    record_return_values: bool | None = None,
    attribute_value_limit: int | None = None,
    message_limit: int | None = None,
    stacktrace_limit: int | None = None,
    resource_attributes: dict[str, Any] | None = None,
    metric_export_interval_ms: int | None = None,
    install_providers: bool = True,
    shutdown_timeout_ms: int | None = None,
    handle_sigterm: bool | None = None,
    flow_start_records: bool | None = None,
) -> None:
    """Set up tracer, logger and meter providers for flowtel's telemetry.

    Explicit arguments win over the standard ``OTEL_*`` variables
    (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES, OTEL_METRIC_EXPORT_INTERVAL, OTEL_EXPORTER_OTLP_HEADERS, the
    per-signal OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_{ENDPOINT,PROTOCOL,HEADERS},
    OTEL_{TRACES,LOGS,METRICS}_EXPORTER (otlp, console, none) and OTEL_SDK_DISABLED). With no
    endpoint at all, finished runs are printed as trees on stdout (``console=True``); with
    one, spans, logs and metrics go there over OTLP (gRPC by default, or
    ``protocol="http/protobuf"``), each signal on its own: an endpoint that refuses one signal
    does not cost the others.

    Providers someone else installed (the application, ``opentelemetry-instrument``) are
    kept: flowtel warns and emits through them. Calling configure again only updates the
    flowtel options (export_level, record_*, the limits). Providers flowtel
    installed are flushed and shut down at exit, by ``shutdown()``, or on SIGTERM (when its
    disposition is the default: running flows end as cancelled and the exit status is 143;
    ``handle_sigterm=False`` or FLOWTEL_HANDLE_SIGTERM=0 opts out), all within
    ``shutdown_timeout_ms`` (default 5000, or FLOWTEL_SHUTDOWN_TIMEOUT_MS).

    ``flow_start_records=True`` also emits an INFO log record "flow started" (flow name, run
    id, and the trace id of its span) as each flow run starts, so a long run can be found
    before it ends; ``flowtel run`` turns it on.

    Limits, in characters (a cut value ends with ``…[cut N chars]``):
    ``attribute_value_limit`` (default 4096; OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT wins),
    ``message_limit`` for message and log bodies, exception messages and status
    descriptions (default 8192), ``stacktrace_limit`` (default 16384).
    """
    _apply_options(
        export_level,
        record_arguments,
        record_return_values,
        attribute_value_limit,
        flow_start_records,
    )
    _apply_limits(message_limit=message_limit, stacktrace_limit=stacktrace_limit)
    if not install_providers:
        return
    timeout_ms = _shutdown_timeout(shutdown_timeout_ms)
    sigterm = _sigterm.wanted(handle_sigterm)
    explicit = {
        key: value
        for key, value in (
            ("service_name", service_name),
            ("endpoint", endpoint),
            ("protocol", protocol),
            ("headers", headers),
            ("console", console),
            ("resource_attributes", resource_attributes),
        )
        if value is not None
    }
    from . import _export

    if protocol is not None and protocol not in _export.PROTOCOLS:
        raise ValueError(f"protocol={protocol!r} is not supported; use one of {_export.PROTOCOLS}")
    setups = _export.resolve_signals(endpoint, protocol, headers)
    sends_otlp = any(setup.kind == "otlp" for found in setups.values() for setup in found)
    if console is None:
        console = not sends_otlp
    settings = {
        "service_name": service_name,
        "endpoint": endpoint if endpoint is not None else _env("OTEL_EXPORTER_OTLP_ENDPOINT"),
        "protocol": protocol or _env("OTEL_EXPORTER_OTLP_PROTOCOL") or DEFAULT_PROTOCOL,
        "headers": headers,
        "console": console,
        "resource_attributes": resource_attributes,
    }
    with _State.lock:
        if _State.configured:
            if any(_State.settings.get(key) != value for key, value in explicit.items()):
                warnings.warn(
                    "flowtel.configure() was already called with other exporter settings; "
                    "they stay as first configured (OTel providers can be set once per "
                    "process)",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return
        # OTEL_SDK_DISABLED=true: no providers, no exporters; flows still run. Otherwise the
        # exports are made first: a bad queue setting raises before configure() counts as done.
        exports = None if _export.sdk_disabled() else _export.Exports(setups)
        _State.configured = True
        _State.settings = settings
        _State.shutdown_timeout_ms = timeout_ms
        if exports is None:
            return
        resource = _resource(service_name, resource_attributes)
        _State.exports = exports
        kept: list[str] = []
        _install_tracing(resource, exports, console, kept)
        if exports.has("logs"):
            _install_logs(resource, exports, kept)
        if exports.has("metrics"):
            _install_metrics(resource, exports, metric_export_interval_ms, kept)
        if kept:
            # One logged line for all of them, not a warnings.warn with its source line: under
            # opentelemetry-instrument this is expected (and the agent exports the record).
            _logger.warning(
                "flowtel.configure(): %s already installed (by the application or "
                "opentelemetry-instrument); flowtel emits through them and adds no exporters",
                ", ".join(kept),
            )
        RUNTIME.use_providers()
        atexit.register(shutdown)
        if sigterm and _providers():
            _sigterm.install_sigterm_handler()


def _shutdown_timeout(value: int | None) -> int:
    source = "shutdown_timeout_ms"
    if value is None:
        text = _env(_SHUTDOWN_TIMEOUT_ENV)
        if text is None:
            return DEFAULT_SHUTDOWN_TIMEOUT_MS
        source = _SHUTDOWN_TIMEOUT_ENV
        try:
            value = int(float(text))
        except ValueError:
            raise ValueError(
                f"{_SHUTDOWN_TIMEOUT_ENV}={text!r} is not a number of milliseconds"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{source} must be a number of milliseconds >= 0, got {value!r}")
    return value


def _apply_options(
    export_level: int | str | None,
    record_arguments: bool | None,
    record_return_values: bool | None,
    attribute_value_limit: int | None,
    flow_start_records: bool | None = None,
) -> None:
    if export_level is not None:
        RUNTIME.export_level = _level(export_level)
    for name, value in (
        ("record_arguments", record_arguments),
        ("record_return_values", record_return_values),
        ("flow_start_records", flow_start_records),
    ):
        if value is not None:
            if type(value) is not bool:
                raise TypeError(f"{name} must be True or False, got {value!r}")
            setattr(RUNTIME, name, value)
    if attribute_value_limit is not None:
        if type(attribute_value_limit) is not int or attribute_value_limit <= 0:
            raise ValueError(
                f"attribute_value_limit must be a positive int (characters), got "
                f"{attribute_value_limit!r}"
            )
        RUNTIME.attribute_value_limit = attribute_value_limit


def _apply_limits(**limits: int | None) -> None:
    for name, limit in limits.items():
        if limit is None:
            continue
        if type(limit) is not int or limit <= 0:
            raise ValueError(f"{name} must be a positive int (characters), got {limit!r}")
        setattr(RUNTIME, name, limit)


def _level(level: int | str) -> int:
    if isinstance(level, bool):
        raise TypeError(f"export_level must be a logging level, got {level!r}")
    if isinstance(level, int):
        return level
    if isinstance(level, str):
        number = logging.getLevelName(level.upper())
        if isinstance(number, int):
            return number
    raise ValueError(
        f"export_level must be a logging level number or one of DEBUG, INFO, WARNING, ERROR, "
        f"CRITICAL; got {level!r}"
    )


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _resource(service_name: str | None, attributes: dict[str, Any] | None) -> Any:
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    merged: dict[str, Any] = dict(attributes or {})
    if service_name:
        merged[SERVICE_NAME] = service_name
    # Resource.create adds OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME under explicit ones.
    return Resource.create(merged)


def _looks_installed(current: Any, no_op_type: type) -> bool:
    """Whether a global provider seems installed by someone else (the app, ``opentelemetry-
    instrument``): a no-op one, or one with shutdown(), which the API's stand-in lacks."""
    return isinstance(current, no_op_type) or hasattr(current, "shutdown")


def _kept_app_provider(
    set_global: Callable[[Any], None],
    get_global: Callable[[], Any],
    provider: Any,
    kind: str,
    kept: list[str],
) -> bool:
    """Make ``provider`` the global ``kind`` provider; True (noted in ``kept``, ``provider``
    shut down) when someone else installed one first.

    The logs and metrics APIs keep their stand-in types private, so only trying tells for
    sure (a second set is refused, and the API logs that); ``_looks_installed`` spares the
    try in the usual cases.
    """
    set_global(provider)
    current = get_global()
    if current is provider:
        return False
    try:
        provider.shutdown()
    except Exception:
        pass
    kept.append(f"a {kind} provider ({type(current).__name__})")
    return True


def _install_tracing(resource: Any, exports: Exports, console: bool, kept: list[str]) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    from ._console import ConsoleTreeProcessor

    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):  # public, unlike the others
        kept.append(f"a tracer provider ({type(current).__name__})")
        return
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    for processor in exports.span_processors():
        provider.add_span_processor(processor)
    if console:
        provider.add_span_processor(ConsoleTreeProcessor())
    trace.set_tracer_provider(provider)
    _State.tracer_provider = provider


def _install_logs(resource: Any, exports: Exports, kept: list[str]) -> None:
    from opentelemetry.sdk._logs import LoggerProvider

    current = _logs.get_logger_provider()
    if _looks_installed(current, _logs.NoOpLoggerProvider):
        kept.append(f"a logger provider ({type(current).__name__})")
        return
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    if _kept_app_provider(
        _logs.set_logger_provider, _logs.get_logger_provider, provider, "logger", kept
    ):
        return
    for processor in exports.log_processors():
        provider.add_log_record_processor(processor)
    _State.logger_provider = provider


def _install_metrics(
    resource: Any, exports: Exports, interval_ms: int | None, kept: list[str]
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    current = metrics.get_meter_provider()
    if _looks_installed(current, metrics.NoOpMeterProvider):
        kept.append(f"a meter provider ({type(current).__name__})")
        return
    readers = [
        PeriodicExportingMetricReader(exporter, export_interval_millis=interval_ms)
        for exporter in exports.metric_exporters()
    ]
    provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
    if _kept_app_provider(
        metrics.set_meter_provider, metrics.get_meter_provider, provider, "meter", kept
    ):
        return
    _State.meter_provider = provider


def endpoint_unreachable() -> bool:
    """True while (or, after shutdown(), if at the end) an OTLP export of flowtel's was failing."""
    exports = _State.exports
    return exports is not None and exports.endpoint_unreachable()


def export_summaries() -> list[str]:
    """One line per exported signal: what was delivered, what was refused or lost and why."""
    exports = _State.exports
    return exports.summaries() if exports is not None else []


def export_ok() -> bool:
    """True when no telemetry was lost, except signals the endpoint said it does not accept."""
    exports = _State.exports
    return exports is None or exports.all_ok()


def _providers() -> tuple[Any, ...]:
    return tuple(
        provider
        for provider in (_State.tracer_provider, _State.logger_provider, _State.meter_provider)
        if provider is not None
    )


def force_flush(timeout_millis: int = 10_000) -> bool:
    """Hand everything buffered to the exporters of the providers flowtel installed.

    True when every signal was delivered within ``timeout_millis``; False on a timeout or a
    failed export (which flowtel reports once through ``logging``). Never waits longer.
    """
    providers = _providers()
    if not providers:
        return True
    if _State.exports is None:
        from ._export import Exports

        return Exports({}).force_flush(timeout_millis / 1000, providers)
    return _State.exports.force_flush(timeout_millis / 1000, providers)


def shutdown(timeout_millis: int | None = None) -> None:
    """Flush and shut down the providers flowtel installed (also run at exit, and on SIGTERM).

    Returns within ``timeout_millis`` (default: configure(shutdown_timeout_ms=...), else
    FLOWTEL_SHUTDOWN_TIMEOUT_MS, else 5000), however slow or silent the endpoint: what is not
    sent by then is dropped, and one warning says how many spans and log records were lost.
    """
    with _State.lock:
        providers = _providers()
        _State.tracer_provider = _State.logger_provider = _State.meter_provider = None
        exports = _State.exports
        timeout_ms = timeout_millis if timeout_millis is not None else _State.shutdown_timeout_ms
    if providers:
        if exports is None:
            from ._export import Exports

            exports = Exports({})
        exports.shutdown(timeout_ms / 1000, providers)
    atexit.unregister(shutdown)
