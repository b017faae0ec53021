"""The export boundary: per-signal OTLP/console exporters behind bounded queues, one shutdown deadline.

Each signal (traces, logs, metrics) has its own exporter and its own outcome: a backend that
refuses one signal (Jaeger takes traces only) never causes another signal's telemetry to be
dropped. Spans and log records go through a :class:`SignalQueue`: ``add()`` never blocks (a
full queue drops the newest item and counts it), one daemon thread per signal exports batches
and, while the endpoint is unreachable, keeps the oldest batch and retries it, so what finished
while the collector was up is sent once it is back. Every drop is counted by cause; at shutdown
one warning says how many spans and log records were lost and why.

Threading: ``add()`` may be called from any thread; ``force_flush()`` and ``shutdown()`` from
any thread but the queues' own. ``shutdown()`` returns by its deadline even when an export
hangs (the SDK's own ``force_flush`` ignores its timeout): an export still running then is
abandoned in its daemon thread.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._attributes import mask_url_credentials

__all__ = [
    "PROTOCOLS",
    "ExportSetup",
    "Exports",
    "SignalQueue",
    "SignalStatus",
    "resolve_signals",
    "sdk_disabled",
]

_logger = logging.getLogger("flowtel.telemetry")

SIGNALS = ("traces", "logs", "metrics")
ITEMS = {"traces": "spans", "logs": "log records", "metrics": "metric exports"}
EXPORTER_CHOICES = ("otlp", "console", "none")
PROTOCOLS = ("grpc", "http/protobuf")
DEFAULT_PROTOCOL = "grpc"
_SIGNAL_PATHS = {"traces": "/v1/traces", "logs": "/v1/logs", "metrics": "/v1/metrics"}
_DEFAULT_ENDPOINTS = {"grpc": "http://localhost:4317", "http/protobuf": "http://localhost:4318"}
# Between two attempts at a batch the endpoint did not take; each attempt already retries
# inside the OTLP exporter for up to OTEL_EXPORTER_OTLP_TIMEOUT.
RETRY_DELAY_S = 1.0

# Drop causes, in the order the shutdown warning lists them.
QUEUE_FULL = "queue full"
REFUSED = "refused by the endpoint"
REJECTED = "rejected by the endpoint"
UNREACHABLE_AT_SHUTDOWN = "endpoint unreachable at shutdown"
DEADLINE = "unsent at the shutdown deadline"
AFTER_SHUTDOWN = "ended after shutdown"
_CAUSES = (QUEUE_FULL, REFUSED, REJECTED, UNREACHABLE_AT_SHUTDOWN, DEADLINE, AFTER_SHUTDOWN)


def counted(count: int, items: str) -> str:
    """``count`` with ``items`` ("spans", "log records") in the singular for one."""
    return f"{count} {items[:-1] if count == 1 else items}"


def env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


# --- configuration --------------------------------------------------------------------------


@dataclass
class ExportSetup:
    """How one signal is exported: ``kind`` is "otlp" or "console"."""

    signal: str
    kind: str
    protocol: str = DEFAULT_PROTOCOL
    endpoint: str | None = None  # None: the OTLP exporter's default
    headers: dict[str, str] | None = None

    @property
    def where(self) -> str:
        """The endpoint as flowtel reports it: credentials masked."""
        if self.kind == "console":
            return "the console"
        return mask_url_credentials(self.endpoint or _DEFAULT_ENDPOINTS[self.protocol])


def sdk_disabled() -> bool:
    """True when OTEL_SDK_DISABLED asks for no telemetry at all."""
    return (env("OTEL_SDK_DISABLED") or "").lower() == "true"


def _exporter_choice(signal: str) -> list[str] | None:
    name = f"OTEL_{signal.upper()}_EXPORTER"
    value = env(name)
    if value is None:
        return None
    chosen = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in EXPORTER_CHOICES]
    if unknown:
        raise ValueError(
            f"{name}={value!r} is not supported: use a comma-separated list of "
            f"{', '.join(EXPORTER_CHOICES)}"
        )
    return [part for part in chosen if part != "none"]


def _signal_protocol(signal: str, protocol: str | None) -> str:
    if protocol:
        source, chosen = "protocol", protocol
    else:
        source = f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL"
        chosen = env(source) or ""
        if not chosen:
            source = "OTEL_EXPORTER_OTLP_PROTOCOL"
            chosen = env(source) or DEFAULT_PROTOCOL
    if chosen not in PROTOCOLS:
        raise ValueError(f"{source}={chosen!r} is not supported; use one of {PROTOCOLS}")
    return chosen


def _signal_headers(signal: str, headers: dict[str, str] | None) -> dict[str, str] | None:
    if headers is not None:
        return dict(headers)
    value = env(f"OTEL_EXPORTER_OTLP_{signal.upper()}_HEADERS") or env("OTEL_EXPORTER_OTLP_HEADERS")
    if value is None:
        return None
    from opentelemetry.util.re import parse_env_headers

    return dict(parse_env_headers(value, liberal=True))


def resolve_signals(
    endpoint: str | None, protocol: str | None, headers: dict[str, str] | None
) -> dict[str, list[ExportSetup]]:
    """The exporters of each signal, from the arguments and the standard OTEL_* variables.

    A signal is sent over OTLP when OTEL_<SIGNAL>_EXPORTER says so, or (unset) when an endpoint
    applies to it: ``endpoint``, OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT (used as is) or
    OTEL_EXPORTER_OTLP_ENDPOINT (the signal's path added for HTTP).
    """
    general = endpoint if endpoint is not None else env("OTEL_EXPORTER_OTLP_ENDPOINT")
    chosen: dict[str, list[ExportSetup]] = {}
    for signal in SIGNALS:
        protocol_of_signal = _signal_protocol(signal, protocol)
        own = None if endpoint is not None else env(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
        if own is not None:
            target: str | None = own
        elif general:
            target = general
            if protocol_of_signal != "grpc":
                target = general.rstrip("/") + _SIGNAL_PATHS[signal]
        else:
            target = None
        kinds = _exporter_choice(signal)
        if kinds is None:
            kinds = ["otlp"] if target else []
        chosen[signal] = [
            ExportSetup(
                signal,
                kind,
                protocol_of_signal,
                target if kind == "otlp" else None,
                _signal_headers(signal, headers) if kind == "otlp" else None,
            )
            for kind in kinds
        ]
    return chosen


def make_exporter(setup: ExportSetup) -> Any:
    """The OpenTelemetry exporter for ``setup``."""
    signal, kind = setup.signal, setup.kind
    if kind == "console":
        if signal == "traces":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            return ConsoleSpanExporter()
        if signal == "logs":
            from opentelemetry.sdk._logs import export as log_export

            # Named ConsoleLogExporter in older SDKs.
            console = (
                getattr(log_export, "ConsoleLogRecordExporter", None)
                or log_export.ConsoleLogExporter
            )
            return console()
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    kwargs: dict[str, Any] = {}
    if setup.headers is not None:
        kwargs["headers"] = setup.headers
    if setup.endpoint:
        kwargs["endpoint"] = setup.endpoint
        if setup.protocol == "grpc" and setup.endpoint.startswith("http://"):
            kwargs["insecure"] = True
    grpc = setup.protocol == "grpc"
    if signal == "traces":
        if grpc:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
                OTLPSpanExporter,
            )
        return OTLPSpanExporter(**kwargs)
    if signal == "logs":
        if grpc:
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        else:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import (  # type: ignore[assignment]
                OTLPLogExporter,
            )
        return OTLPLogExporter(**kwargs)
    if grpc:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
            OTLPMetricExporter,
        )
    return OTLPMetricExporter(**kwargs)


# --- what the OTLP exporters say while exporting ----------------------------------------------


class _ExporterLogCapture(logging.Filter):
    """Keeps what the OTLP exporters log during a flowtel export call, instead of printing it.

    Only records logged inside flowtel's own export calls (on that thread) are taken: an
    application's own exporters still log as they always did. flowtel reports their cause once,
    in its own words (no "retrying in 0.81s" next to flowtel's report).
    """

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        captured: list[str] | None = getattr(self.local, "messages", None)
        if captured is None:
            return True
        message = _message_of(record)
        captured.append(message)
        interrupt: Callable[[], None] | None = getattr(self.local, "interrupt", None)
        # Only an endpoint that cannot be reached is worth ending the exporter for (its retries
        # would outlast the deadline); one that answers (a batch rejected, or too large and sent
        # next in halves) still takes the batches after it.
        if (
            interrupt is not None
            and record.levelno >= logging.WARNING
            and classify("", [message]).retried
        ):
            interrupt()
        return record.levelno < logging.WARNING

    def begin(self, interrupt: Callable[[], None] | None) -> list[str]:
        messages: list[str] = []
        self.local.messages = messages
        self.local.interrupt = interrupt
        return messages

    def end(self) -> None:
        self.local.messages = None
        self.local.interrupt = None

    def capturing(self) -> bool:
        return getattr(self.local, "messages", None) is not None


def _message_of(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        return str(record.msg)


CAPTURE = _ExporterLogCapture()
_captured_loggers: set[str] = set()


def capture_exporter_logs() -> None:
    """Attach the capture to every OpenTelemetry exporter logger that exists (idempotent)."""
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("opentelemetry.exporter")
    ]
    for name in names:
        if name not in _captured_loggers:
            # First: the exporters' own duplicate filters would hide a repeated failure.
            logging.getLogger(name).filters.insert(0, CAPTURE)
            _captured_loggers.add(name)


# --- why an export failed -------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """Why an export failed: ``kind`` is "unreachable" (retried), "refused" or "auth" (the
    signal is given up), "too_large" (the batch is split and sent again in halves), or
    "rejected" (that batch is given up)."""

    kind: str
    cause: str
    hint: str = ""

    @property
    def retried(self) -> bool:
        return self.kind == "unreachable"

    @property
    def permanent(self) -> bool:
        return self.kind in ("refused", "auth")


_GRPC_CODE = re.compile(r"StatusCode\.([A-Z_]+)")
_HTTP_CODE = re.compile(r"\bcode: (\d{3})\b")
_OTEL_RETRY_PHRASE = re.compile(r",? *retrying in [0-9.]+ ?s\.?", re.IGNORECASE)
_OTEL_TRANSIENT = re.compile(r"Transient error (.+?) encountered while exporting")
_TRANSIENT_GRPC = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "CANCELLED"}


def too_large(text: str) -> bool:
    """True when an exporter's message says the endpoint refused a request for its size."""
    return "larger than max" in text or any(code == "413" for code in _HTTP_CODE.findall(text))


def _export_timeout_s() -> str:
    value = env("OTEL_EXPORTER_OTLP_TIMEOUT") or "10"
    return value


def classify(signal: str, messages: Iterable[str], error: BaseException | None = None) -> Failure:
    """The failure an export's log messages (or exception) describe, in flowtel's words."""
    text = " ".join(messages)
    if error is not None:
        text += f" {type(error).__name__}: {error}"
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    grpc_codes = _GRPC_CODE.findall(text)
    http_codes = [int(code) for code in _HTTP_CODE.findall(text)]
    code = grpc_codes[-1] if grpc_codes else None
    status = http_codes[-1] if http_codes else None
    label = code if code is not None else f"HTTP {status}" if status is not None else ""
    if code == "UNIMPLEMENTED" or status in (404, 405, 415):
        return Failure(
            "refused",
            f"the endpoint does not accept OTLP {signal} ({label})",
            f"set {variable}=none",
        )
    if code in ("UNAUTHENTICATED", "PERMISSION_DENIED") or status in (401, 403):
        what = (
            "authentication failed"
            if code == "UNAUTHENTICATED" or status == 401
            else ("permission denied")
        )
        return Failure(
            "auth",
            f"{what} ({label})",
            "check the credentials in OTEL_EXPORTER_OTLP_HEADERS (or headers=)",
        )
    lowered = text.lower()
    if too_large(text):
        return Failure("too_large", f"the request was too large for the endpoint ({label})")
    if "connection refused" in lowered or "failed to connect" in lowered:
        return Failure("unreachable", "connection refused")
    if code == "DEADLINE_EXCEEDED" or "timed out" in lowered or "readtimeout" in lowered:
        return Failure("unreachable", f"no answer within {_export_timeout_s()} s")
    if code in _TRANSIENT_GRPC or status in (429, 502, 503, 504):
        return Failure("unreachable", f"the endpoint is unavailable ({label})")
    transient = _OTEL_TRANSIENT.search(text)
    if transient is not None:
        reason = mask_url_credentials(transient.group(1))
        return Failure("unreachable", f"the endpoint is unavailable ({reason})")
    if "shutdown" in lowered and not grpc_codes and not http_codes:
        return Failure("unreachable", "export interrupted at shutdown")
    last = [message for message in messages if message.strip()]
    detail = last[-1] if last else (f"{type(error).__name__}: {error}" if error else "")
    detail = _OTEL_RETRY_PHRASE.sub("", mask_url_credentials(detail)).strip()
    return Failure("rejected", detail or "export failed")


# --- per-signal outcome ---------------------------------------------------------------------


@dataclass
class SignalStatus:
    """What happened to one signal's exports: counts, and the failure in force (if any)."""

    signal: str
    where: str
    kind: str = "otlp"
    queue_size: int = 0
    delivered: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    failure: Failure | None = None
    # The first failure that gave the signal up (refused, auth): kept for the final report.
    given_up: Failure | None = None

    @property
    def host(self) -> str:
        """The endpoint without the signal's path: what an outage is reported for."""
        match = re.match(r"^([a-z][a-z0-9+.-]*://[^/]+)", self.where)
        return match.group(1) if match else self.where

    @property
    def items(self) -> str:
        return ITEMS[self.signal]

    def summary(self) -> str:
        """One line: what was delivered, what was refused and why."""
        if self.given_up is not None:
            line = f"{self.signal}: {self.given_up.cause}"
            return f"{line}; {self.given_up.hint}" if self.given_up.hint else line
        lost = sum(self.dropped.values())
        if self.failure is not None:
            line = f"{self.signal}: could not export to {self.where}: {self.failure.cause}"
        else:
            line = f"{self.signal}: {counted(self.delivered, self.items)} delivered to {self.where}"
        if lost:
            causes = ", ".join(
                f"{self.dropped[cause]} {cause}" for cause in _CAUSES if self.dropped.get(cause)
            )
            line += f"; {counted(lost, self.items)} dropped ({causes})"
        return line

    @property
    def ok(self) -> bool:
        """True when nothing was lost except what a refusing endpoint said it does not take."""
        lost = sum(count for cause, count in self.dropped.items() if cause != REFUSED)
        return (
            self.failure is None
            and not lost
            and (self.given_up is None or self.given_up.kind == "refused")
        )


class OutageReport:
    """Reports each problem once, cause first: one warning per endpoint outage (however many
    signals and batches fail), one per signal the endpoint refuses, one info line on recovery."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: list[SignalStatus] = []
        self._failing: dict[str, set[str]] = {}
        # Queue-full counts per SignalStatus (by id) when the current outage began.
        self._outage_start: dict[int, int] = {}

    def add(self, status: SignalStatus) -> SignalStatus:
        with self.lock:
            self.statuses.append(status)
        return status

    def succeeded(self, status: SignalStatus, count: int) -> None:
        with self.lock:
            status.delivered += count
            if status.failure is None:
                return
            status.failure = None
            failing = self._failing.setdefault(status.host, set())
            failing.discard(status.signal)
            recovered = not failing
            if recovered:
                lost = self._queue_full_since_outage(status.host)
        if not recovered:
            return
        if any(lost.values()):
            # A long-running service learns of the loss now, not only at shutdown.
            _logger.warning(
                "flowtel: exporting telemetry to %s works again; while it was unreachable the "
                "full queue dropped %s",
                status.host,
                " and ".join(counted(count, items) for items, count in lost.items()),
            )
        else:
            _logger.info("flowtel: exporting telemetry to %s works again", status.host)

    def _queue_full_since_outage(self, host: str) -> dict[str, int]:
        """Queue-full drops of ``host``'s signals since its outage began (under the lock)."""
        lost: dict[str, int] = {}
        for other in self.statuses:
            if other.host == host and other.signal != "metrics":
                count = other.dropped.get(QUEUE_FULL, 0) - self._outage_start.get(id(other), 0)
                lost[other.items] = lost.get(other.items, 0) + count
        return lost

    def failed(self, status: SignalStatus, failure: Failure, stopping: bool = False) -> None:
        """Record ``failure``; report it unless already reported (or, at shutdown, left to
        the one drop warning)."""
        with self.lock:
            if failure.permanent:
                first = status.given_up is None
                status.given_up = status.given_up or failure
            elif failure.retried:
                first_for_signal = status.failure is None
                status.failure = failure
                failing = self._failing.setdefault(status.host, set())
                first = first_for_signal and not failing
                if first:
                    self._outage_start.update(
                        (id(other), other.dropped.get(QUEUE_FULL, 0))
                        for other in self.statuses
                        if other.host == status.host
                    )
                failing.add(status.signal)
            else:
                first = True
        if not first or (stopping and not failure.permanent):
            return
        if failure.permanent:
            _logger.warning(
                "flowtel: %s at %s; its %s are dropped, other signals are not affected%s",
                failure.cause,
                status.where,
                status.items,
                f" ({failure.hint})" if failure.hint else "",
            )
        elif failure.retried:
            keeping = [
                f"{other.queue_size} {other.items}"
                for other in self.statuses
                if other.host == status.host and other.queue_size
            ]
            _logger.warning(
                "flowtel: cannot export telemetry to %s: %s; flowtel keeps up to %s in memory "
                "and retries until the endpoint is back (flows are not affected)",
                status.host,
                failure.cause,
                " and ".join(keeping) or "what it can",
            )
        else:
            _logger.warning(
                "flowtel: %s dropped a batch of %s: %s", status.where, status.items, failure.cause
            )

    def dropped(self, status: SignalStatus, cause: str, count: int) -> None:
        if count <= 0:
            return
        with self.lock:
            status.dropped[cause] = status.dropped.get(cause, 0) + count

    def drop_warning(self, deadline_s: float) -> str | None:
        """The one shutdown warning, cause first: how many spans and log records were dropped,
        and why."""
        with self.lock:
            signals = [status for status in self.statuses if status.signal != "metrics"]
            if not any(any(status.dropped.values()) for status in signals):
                return None
            reasons = []
            for status in signals:
                why = status.given_up or status.failure
                if why is not None and any(status.dropped.values()):
                    reason = f"{status.host}: {why.cause}"
                    if reason not in reasons:
                        reasons.append(reason)
            parts = []
            for items in ("spans", "log records"):
                dropped: dict[str, int] = {}
                for status in signals:
                    if status.items == items:
                        for cause, count in status.dropped.items():
                            dropped[cause] = dropped.get(cause, 0) + count
                total = sum(dropped.values())
                causes = ", ".join(
                    f"{_cause_text(cause, deadline_s)}: {dropped[cause]}"
                    for cause in _CAUSES
                    if dropped.get(cause)
                )
                parts.append(counted(total, items) + (f" ({causes})" if causes else ""))
        cause = f"{'; '.join(reasons)}. " if reasons else ""
        return f"flowtel: {cause}Dropped {' and '.join(parts)}"


def _cause_text(cause: str, deadline_s: float) -> str:
    return f"{cause} ({deadline_s:g} s)" if cause == DEADLINE else cause


# --- the queue of one signal ----------------------------------------------------------------


class _FlushRequest:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False


class SignalQueue:
    """A bounded queue and one daemon thread exporting one signal's items in batches.

    ``add()`` never blocks: when ``max_queue`` items wait, the new item is dropped and counted
    (the oldest ones, which finished while the endpoint was still up, are kept). A batch the
    endpoint cannot take now (unreachable, timeout) is kept and retried; one it refuses for
    good (UNIMPLEMENTED, 404, 401/403) gives the signal up; one it rejects is dropped.
    """

    def __init__(
        self,
        exporter: Any,
        status: SignalStatus,
        report: OutageReport,
        *,
        max_queue: int,
        max_batch: int,
        delay_s: float,
    ) -> None:
        self.exporter = exporter
        self.status = status
        self.report = report
        self.max_queue = max_queue
        self.max_batch = max_batch
        self.batch_bytes = MAX_BATCH_BYTES
        self.size_of = span_size if status.signal == "traces" else log_record_size
        self.delay_s = delay_s
        status.queue_size = max_queue
        self.queue: collections.deque[tuple[Any, int]] = collections.deque()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.flushes: list[_FlushRequest] = []
        self.pending: list[tuple[Any, int]] | None = None
        self.stopping = False
        self.closed = False
        self.abandoned = False
        self.internal_error_logged = False
        self.thread = self._start_thread()
        if hasattr(os, "register_at_fork"):
            # A forked child (gunicorn, multiprocessing) has no export thread: start its own,
            # with an empty queue (the parent exports what it had).
            reference = weakref.ref(self)

            def restart_in_child() -> None:
                queue = reference()
                if queue is not None:
                    queue._after_fork()

            os.register_at_fork(after_in_child=restart_in_child)

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(
            target=self._run, name=f"flowtel-export-{self.status.signal}", daemon=True
        )
        thread.start()
        return thread

    def _after_fork(self) -> None:
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.queue.clear()
        self.flushes = []
        self.pending = None
        if not (self.stopping or self.closed):
            self.thread = self._start_thread()

    # producer side (any thread)

    def add(self, item: Any) -> None:
        queue = self.queue
        if len(queue) >= self.max_queue or self.closed or self.status.given_up is not None:
            self._drop_new()
            return
        # Sized here, on the thread that just made the item: its parts are still in the CPU's
        # cache. On the export thread, which reads them long after, the same estimate costs
        # several times as much, and that thread holds the GIL the flows wait for.
        queue.append((item, self._size(item)))
        if self.closed:
            # Shut down between the check above and the append: never exported, so counted.
            with self.lock:
                left = len(self.queue)
                self.queue.clear()
                self.report.dropped(self.status, AFTER_SHUTDOWN, left)
            return
        if len(queue) >= self.max_batch and not self.wake.is_set():
            self.wake.set()

    def _drop_new(self) -> None:
        if self.closed:
            cause = AFTER_SHUTDOWN
        elif self.status.given_up is not None:
            cause = REFUSED
        else:
            cause = QUEUE_FULL
        self.report.dropped(self.status, cause, 1)

    def force_flush(self, timeout_s: float) -> bool:
        """Export what is queued; True when it was delivered within ``timeout_s``."""
        if self.closed:
            return True
        request = _FlushRequest()
        with self.lock:
            self.flushes.append(request)
        self.wake.set()
        return request.done.wait(max(timeout_s, 0.0)) and request.ok

    def begin_shutdown(self) -> None:
        self.stopping = True
        self.wake.set()

    def finish_shutdown(self, deadline: float) -> bool:
        """Wait for the queue's last export until ``deadline`` (monotonic); then abandon it."""
        self.thread.join(max(deadline - time.monotonic(), 0.0))
        finished = not self.thread.is_alive()
        with self.lock:
            self.closed = True
            if not finished:
                self.abandoned = True
                left = len(self.queue) + len(self.pending or ())
                self.queue.clear()
                self.pending = None
                self.report.dropped(self.status, DEADLINE, left)
            elif self.queue:
                # Ended (in another thread) after the last export had emptied the queue.
                self.report.dropped(self.status, AFTER_SHUTDOWN, len(self.queue))
                self.queue.clear()
        # Ends an export still running (its retries, its connection) and frees the exporter.
        _interrupt(self.exporter)
        return finished

    # the export thread

    def _run(self) -> None:
        while True:
            self.wake.wait(RETRY_DELAY_S if self.pending else self.delay_s)
            self.wake.clear()
            with self.lock:
                flushes, self.flushes = self.flushes, []
            stopping = self.stopping
            try:
                ok = self._drain(stopping)
            except Exception:
                # A bug of flowtel's must not end exporting for the rest of the process: the
                # batch is dropped (and counted), the error logged once.
                if not self.internal_error_logged:
                    self.internal_error_logged = True
                    _logger.warning(
                        "flowtel: exporting %s failed", self.status.items, exc_info=True
                    )
                with self.lock:
                    batch, self.pending = self.pending or [], None
                self.report.dropped(self.status, REJECTED, len(batch))
                ok = False
            for request in flushes:
                request.ok = ok
                request.done.set()
            if stopping or self.abandoned:
                return

    def _size(self, item: Any) -> int:
        try:
            return self.size_of(item)
        except Exception:
            # Content the estimate does not know (a user's odd attribute value): the item
            # goes in a request of its own rather than be lost.
            return MAX_BATCH_BYTES + 1

    def _take(self) -> list[tuple[Any, int]]:
        queue = self.queue
        batch: list[tuple[Any, int]] = []
        budget = self.batch_bytes
        while queue and len(batch) < self.max_batch:
            budget -= queue[0][1]
            if budget < 0 and batch:
                break  # the rest goes in the next request
            batch.append(queue.popleft())
        return batch

    def _drain(self, stopping: bool) -> bool:
        """Export until the queue is empty; False when an export failed."""
        while True:
            with self.lock:
                if self.abandoned:
                    return False
                batch = self.pending or self._take()
                self.pending = batch or None
            if not batch:
                return True
            if self.status.given_up is not None:
                self._settle(batch, REFUSED)
                continue
            failure = export_once(
                self.exporter, [item for item, _ in batch], self.status.signal, stopping
            )
            if failure is None:
                with self.lock:
                    if self.abandoned:
                        return False
                    self.pending = None
                self.report.succeeded(self.status, len(batch))
                continue
            if failure.kind == "too_large" and len(batch) > 1:
                # An endpoint with a smaller request limit than flowtel's: from now on, batches
                # of half the size that was refused.
                size = sum(size for _, size in batch)
                self.batch_bytes = max(MIN_BATCH_BYTES, min(self.batch_bytes, size) // 2)
                with self.lock:
                    if self.abandoned:
                        return False
                    self.queue.extendleft(reversed(batch))
                    self.pending = None
                continue
            self.report.failed(self.status, failure, stopping)
            if failure.permanent:
                self._settle(batch, REFUSED)
                continue
            if not failure.retried:
                self._settle(batch, REJECTED)
                continue
            if stopping:
                with self.lock:
                    left = self._take_all()
                self._settle(left, UNREACHABLE_AT_SHUTDOWN)
            return False

    def _take_all(self) -> list[Any]:
        left = list(self.pending or ()) + list(self.queue)
        self.queue.clear()
        self.pending = None
        return left

    def _settle(self, batch: list[Any], cause: str) -> None:
        with self.lock:
            if self.abandoned:
                return
            if self.pending is batch:
                self.pending = None
            self.report.dropped(self.status, cause, len(batch))


# Requests stay under the 4 MiB that gRPC servers (the Collector's OTLP receiver among them)
# accept by default: a batch of spans with many long messages would otherwise be refused whole.
MAX_BATCH_BYTES = 3 * 1024 * 1024
MIN_BATCH_BYTES = 16 * 1024
# What an item adds besides its text: ids, timestamps, kinds, the protobuf framing.
ITEM_OVERHEAD = 256
PART_OVERHEAD = 64  # an event or a link
ATTRIBUTE_OVERHEAD = 16
_NUMBERS = (int, float, bool)


def span_size(span: Any) -> int:
    """An upper estimate of the bytes ``span`` adds to an OTLP request.

    Counts what can make a span large: its name, its attributes, its events' and links'
    names and attributes, its status description and trace state (non-ASCII text at 4 bytes
    a character, UTF-8's most).
    """
    # Runs for every span queued, on the thread that ended it (SignalQueue.add). The SDK's
    # span keeps its parts as plain fields; its public properties copy them (the events and
    # links each into a tuple, under a lock), which cost more than the whole estimate. A span
    # object without those fields is read through its public properties.
    try:
        name, attributes, events, links = span._name, span._attributes, span._events, span._links
        status, context = span._status, span._context
    except AttributeError:
        name, attributes, events, links = span.name, span.attributes, span.events, span.links
        status, context = span.status, span.context
    size = ITEM_OVERHEAD + _text_size(name) + _attributes_size(attributes)
    if events:
        for event in events:
            size += PART_OVERHEAD + _text_size(event.name) + _attributes_size(event.attributes)
    if links:
        for link in links:
            size += (
                PART_OVERHEAD + _trace_state_size(link.context) + _attributes_size(link.attributes)
            )
    description = status.description if status is not None else None
    if description:
        size += _text_size(description)
    return size + _trace_state_size(context)


def log_record_size(item: Any) -> int:
    """An upper estimate of the bytes ``item`` (a log record as the exporter takes it) adds
    to an OTLP request: its body, attributes and event name."""
    record = item.log_record
    size = ITEM_OVERHEAD + _value_size(record.body) + _attributes_size(record.attributes)
    event_name = record.event_name
    if event_name:
        size += _text_size(event_name)
    return size


def _trace_state_size(context: Any) -> int:
    # A propagated trace state (up to 8 KB from a request's tracestate header) goes with
    # every span of the trace.
    trace_state = context.trace_state if context is not None else None
    return _text_size(trace_state.to_header()) if trace_state else 0


def _text_size(text: str) -> int:
    return len(text) if text.isascii() else 4 * len(text)


def _attributes_size(attributes: Any) -> int:
    try:
        # A plain dict: iterating the SDK's attribute mapping itself costs a Python call per
        # key and per value.
        plain = attributes.copy()
    except AttributeError:
        if attributes is None:
            return 0
        plain = dict(attributes)
    size = ATTRIBUTE_OVERHEAD * len(plain)
    for key, value in plain.items():
        kind = type(value)
        if kind is str:
            length = len(key) + len(value)
            size += length if key.isascii() and value.isascii() else 4 * length
        elif kind in _NUMBERS:
            size += _text_size(key)
        else:
            size += _text_size(key) + _value_size(value)
    return size


def _value_size(value: Any) -> int:
    # The value kinds of OTLP's AnyValue, as the OTLP encoder tells them apart.
    if isinstance(value, str):
        return _text_size(value)
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, Sequence):  # a bytearray too: the encoder sends it as numbers
        return sum(8 + _value_size(item) for item in value)
    if isinstance(value, Mapping):
        return sum(
            ATTRIBUTE_OVERHEAD + _text_size(str(key)) + _value_size(item)
            for key, item in value.items()
        )
    return 16  # a number, a bool, None


def export_once(
    exporter: Any, batch: Any, signal: str, stopping: bool, **kwargs: Any
) -> Failure | None:
    """Export one batch; None when the endpoint took it, else why not.

    While shutting down, the exporter's first sign of trouble stops its internal retries, so an
    unreachable endpoint costs one attempt, not OTEL_EXPORTER_OTLP_TIMEOUT.
    """
    messages = CAPTURE.begin((lambda: _interrupt(exporter)) if stopping else None)
    error: BaseException | None = None
    try:
        result = exporter.export(batch, **kwargs)
    except Exception as caught:
        result, error = None, caught
    finally:
        CAPTURE.end()
    if error is None and getattr(result, "name", "") == "SUCCESS":
        return None
    return classify(signal, messages, error)


def _interrupt(exporter: Any) -> None:
    """Shut ``exporter`` down, ending its retries and closing its connection (once)."""
    if getattr(exporter, "_flowtel_shut_down", False):
        return
    try:
        exporter._flowtel_shut_down = True
    except Exception:
        pass
    nested = CAPTURE.capturing()  # called from inside an export: keep that export's capture
    if not nested:
        CAPTURE.begin(None)
    try:
        shutdown = getattr(exporter, "_flowtel_own_shutdown", exporter.shutdown)
        shutdown()
    except Exception:
        pass
    finally:
        if not nested:
            CAPTURE.end()


# --- processors the SDK calls ---------------------------------------------------------------


def _int_env(name: str, default: int) -> int:
    value = env(name)
    if value is None:
        return default
    try:
        number = int(float(value))
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None
    if number <= 0:
        raise ValueError(f"{name}={value!r} must be positive")
    return number


def queue_settings(prefix: str, default_delay_ms: int) -> dict[str, Any]:
    """The queue bounds from OTEL_BSP_* (spans) or OTEL_BLRP_* (log records), SDK defaults."""
    max_queue = _int_env(f"{prefix}_MAX_QUEUE_SIZE", 2048)
    max_batch = min(_int_env(f"{prefix}_MAX_EXPORT_BATCH_SIZE", 512), max_queue)
    delay_ms = _int_env(f"{prefix}_SCHEDULE_DELAY", default_delay_ms)
    return {"max_queue": max_queue, "max_batch": max_batch, "delay_s": delay_ms / 1000}


class SpanQueueProcessor:
    """A span processor handing each ended, sampled span to a :class:`SignalQueue`."""

    def __init__(self, queue: SignalQueue) -> None:
        self.queue = queue

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        pass

    def _on_ending(self, span: Any) -> None:
        pass

    def on_end(self, span: Any) -> None:
        context = span.context
        if context is not None and context.trace_flags.sampled:
            self.queue.add(span)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.queue.force_flush(timeout_millis / 1000)


@functools.cache
def _log_queue_processor_class() -> type:
    # Made on first use: importing the SDK's logs module is not part of ``import flowtel``.
    from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord
    from opentelemetry.sdk.resources import Resource

    class LogQueueProcessor(LogRecordProcessor):
        """Hands each emitted log record, as the OTLP exporter takes it, to a SignalQueue.

        It makes that record the way the SDK's own processors do (a ``ReadableLogRecord`` of
        the emitted record's parts). Unlike the SDK's simple processor it exports nothing
        while the record is emitted, so it needs no context switch to keep the exporter from
        logging into itself; the record keeps its context until it is exported. A subclass
        of the SDK's processor: what newer SDKs ask of processors (``enabled()``) has the
        SDK's default answer.
        """

        def __init__(self, queue: SignalQueue) -> None:
            self.queue = queue
            self.empty_resource = Resource.create({})

        def on_emit(self, log_record: Any) -> None:
            resource = log_record.resource
            self.queue.add(
                ReadableLogRecord(
                    log_record=log_record.log_record,
                    resource=resource if resource is not None else self.empty_resource,
                    instrumentation_scope=log_record.instrumentation_scope,
                    limits=log_record.limits,
                )
            )

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return self.queue.force_flush(timeout_millis / 1000)

    return LogQueueProcessor


# The parts of the SDK's ReadableLogRecord that LogQueueProcessor fills in (SDK 1.43 to 1.45).
_READABLE_LOG_RECORD_FIELDS = ("log_record", "resource", "instrumentation_scope", "limits")


def _readable_log_record_is_known() -> bool:
    import dataclasses

    from opentelemetry.sdk._logs import ReadableLogRecord

    try:
        names = tuple(part.name for part in dataclasses.fields(ReadableLogRecord))
    except TypeError:
        return False
    return names == _READABLE_LOG_RECORD_FIELDS


class _QueueExporter:
    """Takes what the SDK's simple log processor exports and queues it: the SDK turns each
    emitted record into what the OTLP exporter takes."""

    def __init__(self, queue: SignalQueue) -> None:
        from opentelemetry.sdk._logs import export as log_export

        self.queue = queue
        # Named LogExportResult in older SDKs.
        result = getattr(log_export, "LogRecordExportResult", None) or log_export.LogExportResult
        self.success = result.SUCCESS

    def export(self, batch: Any) -> Any:
        for item in batch:
            self.queue.add(item)
        return self.success

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def log_queue_processor(queue: SignalQueue, *, own: bool | None = None) -> Any:
    """A log record processor feeding ``queue``.

    flowtel's own LogQueueProcessor when the SDK's record type is the one it knows;
    with an SDK whose record type has changed, the SDK's simple processor (which makes the
    record its exporter takes, at the cost of a context switch per record) feeding the queue.
    ``own`` forces the choice (for tests).
    """
    if own is None:
        own = _readable_log_record_is_known()
    if own:
        return _log_queue_processor_class()(queue)
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    class SimpleQueueProcessor(SimpleLogRecordProcessor):
        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return queue.force_flush(timeout_millis / 1000)

    return SimpleQueueProcessor(_QueueExporter(queue))  # type: ignore[arg-type]


class MetricExportGate:
    """Wraps a metric exporter's export() so its outcome is reported and a refused signal is
    not tried again. Set on the instance: the reader still sees the exporter's own class (its
    temporality and aggregation preferences)."""

    def __init__(self, exporter: Any, status: SignalStatus, report: OutageReport) -> None:
        self.exporter = exporter
        self.status = status
        self.report = report
        self.stopping = False
        self.abandoned = False
        self.export = exporter.export
        exporter.export = self._export
        # The reader shuts its exporter down after flowtel may already have (to end a retry).
        exporter._flowtel_own_shutdown = exporter.shutdown
        exporter.shutdown = lambda *args, **kwargs: _interrupt(exporter)

    def _export(self, metrics_data: Any, *args: Any, **kwargs: Any) -> Any:
        from opentelemetry.sdk.metrics.export import MetricExportResult

        if self.status.given_up is not None or self.abandoned:
            return MetricExportResult.FAILURE
        messages = CAPTURE.begin((lambda: _interrupt(self.exporter)) if self.stopping else None)
        error: BaseException | None = None
        try:
            result = self.export(metrics_data, *args, **kwargs)
        except Exception as caught:
            result, error = MetricExportResult.FAILURE, caught
        finally:
            CAPTURE.end()
        if self.abandoned:
            return result
        if error is None and getattr(result, "name", "") == "SUCCESS":
            self.report.succeeded(self.status, 1)
        else:
            self.report.failed(self.status, classify("metrics", messages, error), self.stopping)
        return result


# --- all signals together -------------------------------------------------------------------


class Exports:
    """Every exporter flowtel installed, their queues and their outcomes, per signal."""

    def __init__(self, setups: dict[str, list[ExportSetup]]) -> None:
        self.setups = setups
        # Read (and a bad value refused) here, before configure() installs anything.
        self.span_settings = queue_settings("OTEL_BSP", 5000) if self.has("traces") else {}
        self.log_settings = queue_settings("OTEL_BLRP", 1000) if self.has("logs") else {}
        self.report = OutageReport()
        self.queues: list[SignalQueue] = []
        self.gates: list[MetricExportGate] = []
        self.shutdown_done = False

    def has(self, signal: str) -> bool:
        return bool(self.setups.get(signal))

    def _status(self, setup: ExportSetup) -> SignalStatus:
        return self.report.add(SignalStatus(setup.signal, setup.where, setup.kind))

    def span_processors(self) -> list[Any]:
        return [
            SpanQueueProcessor(self._queue(setup, self.span_settings))
            for setup in self.setups["traces"]
        ]

    def log_processors(self) -> list[Any]:
        return [
            log_queue_processor(self._queue(setup, self.log_settings))
            for setup in self.setups["logs"]
        ]

    def _queue(self, setup: ExportSetup, settings: dict[str, Any]) -> SignalQueue:
        exporter = make_exporter(setup)
        capture_exporter_logs()
        queue = SignalQueue(exporter, self._status(setup), self.report, **settings)
        self.queues.append(queue)
        return queue

    def metric_exporters(self) -> list[Any]:
        exporters = []
        for setup in self.setups["metrics"]:
            exporter = make_exporter(setup)
            capture_exporter_logs()
            self.gates.append(MetricExportGate(exporter, self._status(setup), self.report))
            exporters.append(exporter)
        return exporters

    def endpoint_unreachable(self) -> bool:
        with self.report.lock:
            return any(status.failure is not None for status in self.report.statuses)

    def summaries(self) -> list[str]:
        """One line per exported signal: delivered, or refused or lost and why."""
        with self.report.lock:
            return [status.summary() for status in self.report.statuses]

    def all_ok(self) -> bool:
        with self.report.lock:
            return all(status.ok for status in self.report.statuses)

    def force_flush(self, timeout_s: float, providers: Iterable[Any]) -> bool:
        """Flush every provider; False when that took longer than ``timeout_s`` or failed."""
        outcome: list[bool] = []
        millis = int(timeout_s * 1000)

        def flush() -> None:
            ok = True
            for provider in providers:
                try:
                    ok = bool(provider.force_flush(millis)) and ok
                except Exception:
                    ok = False
            outcome.append(ok)

        worker = threading.Thread(target=flush, name="flowtel-flush", daemon=True)
        worker.start()
        worker.join(max(timeout_s, 0.0))
        return bool(outcome) and outcome[0]

    def shutdown(self, timeout_s: float, providers: Iterable[Any]) -> None:
        """Send what is left, each signal in parallel, and return within ``timeout_s``."""
        if self.shutdown_done:
            return
        self.shutdown_done = True
        deadline = time.monotonic() + timeout_s
        for queue in self.queues:
            queue.begin_shutdown()
        for gate in self.gates:
            gate.stopping = True
        closer = threading.Thread(
            target=_shut_down_providers,
            args=(list(providers), deadline),
            name="flowtel-shutdown",
            daemon=True,
        )
        closer.start()
        for queue in self.queues:
            queue.finish_shutdown(deadline)
        closer.join(max(deadline - time.monotonic(), 0.0))
        if closer.is_alive():
            for gate in self.gates:
                gate.abandoned = True
                _interrupt(gate.exporter)
        warning = self.report.drop_warning(timeout_s)
        if warning is not None:
            _logger.warning("%s", warning)


def _shut_down_providers(providers: list[Any], deadline: float) -> None:
    for provider in providers:
        millis = max(int((deadline - time.monotonic()) * 1000), 0)
        try:
            if type(provider).__name__ == "MeterProvider":
                # Its shutdown exports once more. A force_flush first would export twice, and
                # the second export, with no new measurements, has no exemplars: the collector's
                # Prometheus exporter keeps the latest point, so the exemplars would be lost.
                provider.shutdown(timeout_millis=millis)
            else:
                provider.shutdown()
        except Exception:
            _logger.warning(
                "flowtel: shutting down %s failed", type(provider).__name__, exc_info=True
            )
