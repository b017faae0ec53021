"""flowtel.configure(): the one call that sets up the OTel SDK for flowtel's telemetry."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import warnings
from collections.abc import Callable
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry.metrics._internal import _ProxyMeterProvider

from ._runtime import RUNTIME

__all__ = ["configure", "force_flush", "shutdown"]

_logger = logging.getLogger("flowtel.telemetry")

PROTOCOLS = ("grpc", "http/protobuf")
DEFAULT_PROTOCOL = "grpc"

_SIGNAL_PATHS = {"traces": "/v1/traces", "logs": "/v1/logs", "metrics": "/v1/metrics"}
# The OTLP exporters log every failed attempt; flowtel reports an outage once instead.
_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http",
)


class _State:
    lock = threading.Lock()
    configured = False
    settings: dict[str, Any] = {}
    tracer_provider: Any = None
    logger_provider: Any = None
    meter_provider: Any = None
    exporters: _Exporters | None = None
    # Kept after shutdown() so callers can still ask whether the endpoint was reachable.
    report: _OutageReport | None = None


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
    resource_attributes: dict[str, Any] | None = None,
    metric_export_interval_ms: int | None = None,
    install_providers: bool = True,
) -> None:
    """Set up tracer, logger and meter providers for flowtel's telemetry.

    Explicit arguments win over the standard ``OTEL_*`` variables
    (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES, OTEL_METRIC_EXPORT_INTERVAL, OTEL_EXPORTER_OTLP_HEADERS,
    ...). With no endpoint at all, finished runs are printed as trees on stdout
    (``console=True``); with one, spans, logs and metrics go there over OTLP (gRPC by
    default, or ``protocol="http/protobuf"``).

    Providers someone else installed (the application, ``opentelemetry-instrument``) are
    kept: flowtel warns and emits through them. Calling configure again only updates the
    flowtel options (export_level, record_*, attribute_value_limit). Providers flowtel
    installed are flushed and shut down at exit, or by ``shutdown()``.
    """
    _apply_options(export_level, record_arguments, record_return_values, attribute_value_limit)
    if not install_providers:
        return
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
    protocol = _protocol(protocol)
    endpoint = endpoint if endpoint is not None else _env("OTEL_EXPORTER_OTLP_ENDPOINT")
    has_endpoint = bool(endpoint) or any(
        _env(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") for signal in ("TRACES", "LOGS", "METRICS")
    )
    if console is None:
        console = not has_endpoint
    settings = {
        "service_name": service_name,
        "endpoint": endpoint,
        "protocol": protocol,
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
        _State.configured = True
        _State.settings = settings
        resource = _resource(service_name, resource_attributes)
        exporters = _Exporters(endpoint, protocol, headers) if has_endpoint else None
        _State.exporters = exporters
        _State.report = exporters.report if exporters is not None else None
        _install_tracing(resource, exporters, console)
        if exporters is not None:
            _install_logs(resource, exporters)
            _install_metrics(resource, exporters, metric_export_interval_ms)
        RUNTIME.use_providers()
        atexit.register(shutdown)


def _apply_options(
    export_level: int | str | None,
    record_arguments: bool | None,
    record_return_values: bool | None,
    attribute_value_limit: int | None,
) -> None:
    if export_level is not None:
        RUNTIME.export_level = _level(export_level)
    for name, value in (
        ("record_arguments", record_arguments),
        ("record_return_values", record_return_values),
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


def _protocol(protocol: str | None) -> str:
    chosen = protocol or _env("OTEL_EXPORTER_OTLP_PROTOCOL") or DEFAULT_PROTOCOL
    if chosen not in PROTOCOLS:
        source = "protocol" if protocol else "OTEL_EXPORTER_OTLP_PROTOCOL"
        raise ValueError(f"{source}={chosen!r} is not supported; use one of {PROTOCOLS}")
    return chosen


def _resource(service_name: str | None, attributes: dict[str, Any] | None) -> Any:
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    merged: dict[str, Any] = dict(attributes or {})
    if service_name:
        merged[SERVICE_NAME] = service_name
    # Resource.create adds OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME under explicit ones.
    return Resource.create(merged)


class _Exporters:
    """OTLP exporters for the three signals, wrapped to report outages once."""

    def __init__(self, endpoint: str | None, protocol: str, headers: dict | None) -> None:
        self.endpoint = endpoint
        self.protocol = protocol
        self.headers = headers
        outage_filter = _OutageFilter()
        for name in _EXPORTER_LOGGERS:
            logging.getLogger(name).addFilter(outage_filter)
        self.report = _OutageReport(outage_filter)

    def _kwargs(self, signal: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.headers:
            kwargs["headers"] = self.headers
        if self.endpoint:
            if self.protocol == "grpc":
                kwargs["endpoint"] = self.endpoint
                if self.endpoint.startswith("http://"):
                    kwargs["insecure"] = True
            else:
                kwargs["endpoint"] = self.endpoint.rstrip("/") + _SIGNAL_PATHS[signal]
        return kwargs

    def _where(self, signal: str) -> str:
        return self.endpoint or _env(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT") or "?"

    def spans(self) -> Any:
        if self.protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # type: ignore[assignment]
        return _reporting(
            OTLPSpanExporter(**self._kwargs("traces")), "spans", self._where("traces"), self.report
        )

    def logs(self) -> Any:
        if self.protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        else:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter  # type: ignore[assignment]
        return _reporting(
            OTLPLogExporter(**self._kwargs("logs")), "log records", self._where("logs"), self.report
        )

    def metrics(self) -> Any:
        if self.protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter,
            )
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
                OTLPMetricExporter,
            )
        return _reporting(
            OTLPMetricExporter(**self._kwargs("metrics")),
            "metrics",
            self._where("metrics"),
            self.report,
        )


class _OutageFilter(logging.Filter):
    """Swallows the OTLP exporters' per-attempt warnings, keeping the last for one report."""

    def __init__(self) -> None:
        super().__init__()
        self.last_error = ""
        self.on_error: Callable[[], None] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            if self.on_error is None:
                self.last_error = _message_of(record)
            else:
                # Shutting down: keep the error that stopped the exporters, not their
                # "aborting" messages that follow.
                self.last_error = self.last_error or _message_of(record)
                self.on_error()
            return False
        return True


def _message_of(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        return str(record.msg)


class _OutageReport:
    """One warning when exports to an endpoint start failing, one info line when all resume.

    Shared by the span, log and metric exporters of one endpoint, so an outage is reported
    once however many signals and batches fail.
    """

    def __init__(self, outage_filter: _OutageFilter) -> None:
        self.filter = outage_filter
        self.lock = threading.Lock()
        self.failing: dict[str, set[str]] = {}
        self.exporters: list[Any] = []

    def any_failing(self) -> bool:
        with self.lock:
            return any(self.failing.values())

    def outcome(self, signal: str, where: str, succeeded: bool) -> None:
        with self.lock:
            failing = self.failing.setdefault(where, set())
            if succeeded:
                if signal in failing:
                    failing.discard(signal)
                    if not failing:
                        _logger.info("flowtel: exporting telemetry to %s works again", where)
                return
            first = not failing
            failing.add(signal)
        if first:
            _logger.warning(
                "flowtel: could not export %s to %s (%s); dropping telemetry until the endpoint "
                "is reachable (flows are not affected)",
                signal,
                where,
                self.filter.last_error or "export failed",
            )


def _reporting(exporter: Any, signal: str, where: str, report: _OutageReport) -> Any:
    """``exporter`` with its export() reporting each outcome to ``report``.

    The wrapper is set on the instance, so the exporter keeps its class and everything the
    SDK reads from it (the temporality preferences of a metric exporter, for one).
    """
    export = exporter.export
    report.exporters.append(exporter)

    def reporting_export(*args: Any, **kwargs: Any) -> Any:
        try:
            result = export(*args, **kwargs)
        except Exception:
            report.outcome(signal, where, False)
            raise
        report.outcome(signal, where, getattr(result, "name", "") == "SUCCESS")
        return result

    exporter.export = reporting_export
    return exporter


def _kept_app_provider(current: Any, proxy_type: type, kind: str) -> bool:
    """True (after a warning) when someone else installed the global ``kind`` provider."""
    if isinstance(current, proxy_type):
        return False
    warnings.warn(
        f"flowtel.configure(): a {kind} provider is already installed "
        f"({type(current).__name__}); flowtel emits through it and adds no exporters to it",
        RuntimeWarning,
        stacklevel=4,
    )
    return True


def _install_tracing(resource: Any, exporters: _Exporters | None, console: bool) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from ._console import ConsoleTreeProcessor

    if _kept_app_provider(trace.get_tracer_provider(), trace.ProxyTracerProvider, "tracer"):
        return
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    if exporters is not None:
        provider.add_span_processor(BatchSpanProcessor(exporters.spans()))
    if console:
        provider.add_span_processor(ConsoleTreeProcessor())
    trace.set_tracer_provider(provider)
    _State.tracer_provider = provider


def _install_logs(resource: Any, exporters: _Exporters) -> None:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    if _kept_app_provider(
        _logs.get_logger_provider(), _logs._internal.ProxyLoggerProvider, "logger"
    ):
        return
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_log_record_processor(BatchLogRecordProcessor(exporters.logs()))
    _logs.set_logger_provider(provider)
    _State.logger_provider = provider


def _install_metrics(resource: Any, exporters: _Exporters, interval_ms: int | None) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    if _kept_app_provider(metrics.get_meter_provider(), _ProxyMeterProvider, "meter"):
        return
    reader = PeriodicExportingMetricReader(exporters.metrics(), export_interval_millis=interval_ms)
    provider = MeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False)
    metrics.set_meter_provider(provider)
    _State.meter_provider = provider


class _Abort:
    """Shuts down every OTLP exporter once; unsent telemetry is dropped."""

    def __init__(self, report: _OutageReport) -> None:
        self.report = report
        self.done = False

    def __call__(self) -> None:
        if self.done:
            return
        self.done = True
        _logger.warning("flowtel: endpoint unreachable at shutdown; unsent telemetry is dropped")
        for exporter in self.report.exporters:
            try:
                exporter.shutdown()
            except Exception:
                pass


def endpoint_unreachable() -> bool:
    """True while (or, after shutdown(), if at the end) flowtel's OTLP exports were failing."""
    report = _State.report
    return report is not None and report.any_failing()


def force_flush(timeout_millis: int = 10_000) -> bool:
    """Hand everything buffered to the exporters of the providers flowtel installed.

    True when every provider finished within ``timeout_millis``; whether the endpoint
    accepted the data is reported through ``logging`` (see configure()).
    """
    ok = True
    for provider in (_State.tracer_provider, _State.logger_provider, _State.meter_provider):
        if provider is not None:
            try:
                ok = bool(provider.force_flush(timeout_millis)) and ok
            except Exception:
                ok = False
    return ok


def shutdown(timeout_millis: int = 10_000) -> None:
    """Flush and shut down the providers flowtel installed (also run at exit)."""
    with _State.lock:
        providers = (_State.tracer_provider, _State.logger_provider, _State.meter_provider)
        _State.tracer_provider = _State.logger_provider = _State.meter_provider = None
        exporters, _State.exporters = _State.exporters, None
    if exporters is not None:
        # If the endpoint is down (already, or at the final flush's first failed attempt),
        # stop the exporters so the flush fails at once instead of retrying until the
        # exporter timeout and holding up the program's exit.
        abort = _Abort(exporters.report)
        exporters.report.filter.last_error = ""
        exporters.report.filter.on_error = abort
        if exporters.report.any_failing():
            abort()
    for provider in providers:
        if provider is None:
            continue
        try:
            if type(provider).__name__ == "MeterProvider":
                # Its shutdown exports once more. A force_flush first would export twice, and
                # the second export, with no new measurements, has no exemplars: the collector's
                # Prometheus exporter keeps the latest point, so the exemplars would be lost.
                provider.shutdown(timeout_millis=timeout_millis)
            else:
                if hasattr(provider, "force_flush"):
                    provider.force_flush(timeout_millis)
                provider.shutdown()
        except Exception:
            _logger.warning(
                "flowtel: shutting down %s failed", type(provider).__name__, exc_info=True
            )
    atexit.unregister(shutdown)
