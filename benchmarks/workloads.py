"""The measured workloads: plain calls, hand-written raw OpenTelemetry, and flowtel.

Every workload runs one "flow" of ``n`` sequential "tasks". The task body is the same
everywhere (``x + 1``; ``await asyncio.sleep(0)`` first in the concurrent variant).

The raw-OTel workloads are what a careful user would write by hand to get the telemetry
flowtel emits for the same flow under the same config (see ``flowtel/telemetry/_runtime.py``):

* a parent span named like the flow, attributes ``cicd.pipeline.name``/``.run.id`` and
  ``code.function.name``/``code.file.path``/``code.line.number``; at the end
  ``cicd.pipeline.result`` and ``flowtel.flow.failed_tasks``;
* per task a child span with ``cicd.pipeline.task.name``/``.task.run.id``, the ``code.*``
  attributes, the flow's name and run id; at the end ``cicd.pipeline.task.run.result``;
* metrics (``raw_full``): ``cicd.pipeline.run.active`` +1/-1, ``flowtel.flow.runs`` and
  ``cicd.pipeline.run.duration`` per flow, ``flowtel.task.runs`` and
  ``flowtel.task.duration`` per task, with the same attribute sets;
* with one INFO message per task (``raw_log``): a ``flowtel.message`` span event and an
  OTel log record with the flow/task names and run ids.

flowtel's default config also keeps every run's own in-memory log ("Executing task ..."
and "Task return value ..." DEBUG entries, not exported) and the list of executed tasks:
that is part of its cost and is not mirrored on the raw side. ``verify_equivalence`` checks
with in-memory exporters that both sides emit the same spans, attributes, events, log
records and metric series, so the comparison cannot drift silently.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from typing import Any

from opentelemetry._logs import SeverityNumber
from opentelemetry.trace import SpanKind

from flowtel import Flow_Run__Config, flow, task
from flowtel.telemetry._runtime import RUNTIME

# -- the task body ---------------------------------------------------------------------


def work(x: int) -> int:
    return x + 1


async def awork(x: int) -> int:
    return x + 1


async def cwork(x: int) -> int:
    await asyncio.sleep(0)
    return x + 1


# -- names and attribute keys (hand-written, as a user would) -------------------------

PIPELINE_NAME = "cicd.pipeline.name"
PIPELINE_RUN_ID = "cicd.pipeline.run.id"
PIPELINE_RESULT = "cicd.pipeline.result"
TASK_NAME = "cicd.pipeline.task.name"
TASK_RUN_ID = "cicd.pipeline.task.run.id"
TASK_RESULT = "cicd.pipeline.task.run.result"
CODE_FUNCTION = "code.function.name"
CODE_FILE = "code.file.path"
CODE_LINE = "code.line.number"
FAILED_TASKS = "flowtel.flow.failed_tasks"
SUCCESS = "success"
MESSAGE = "processed item"
INTERNAL = SpanKind.INTERNAL

FLOW = "bench_flow"
TASK = "bench_task"
_CODE = work.__code__
FLOW_CODE = {CODE_FUNCTION: FLOW, CODE_FILE: __file__, CODE_LINE: _CODE.co_firstlineno}
TASK_CODE = {CODE_FUNCTION: TASK, CODE_FILE: __file__, CODE_LINE: _CODE.co_firstlineno}
FLOW_ATTRS = {PIPELINE_NAME: FLOW}
FLOW_RESULT_ATTRS = {PIPELINE_NAME: FLOW, PIPELINE_RESULT: SUCCESS}
TASK_METRIC_ATTRS = {PIPELINE_NAME: FLOW, TASK_NAME: TASK, TASK_RESULT: SUCCESS}


def run_id() -> str:
    return os.urandom(8).hex()


class Raw:
    """The hand-written instrumentation: a tracer, a logger and the six instruments."""

    def __init__(self, tracer: Any, logger: Any = None, meter: Any = None) -> None:
        self.tracer = tracer
        self.logger = logger
        if meter is not None:
            self.flow_runs = meter.create_counter("flowtel.flow.runs", unit="{run}")
            self.task_runs = meter.create_counter("flowtel.task.runs", unit="{run}")
            self.flow_duration = meter.create_histogram("cicd.pipeline.run.duration", unit="s")
            self.task_duration = meter.create_histogram("flowtel.task.duration", unit="s")
            self.flow_active = meter.create_up_down_counter("cicd.pipeline.run.active")
            self.task_attempts = meter.create_histogram("flowtel.task.attempts")

    # -- spans alone -------------------------------------------------------------------

    def spans_flow(self, n: int) -> None:
        tracer = self.tracer
        flow_id = run_id()
        with tracer.start_as_current_span(
            FLOW,
            kind=INTERNAL,
            attributes={PIPELINE_NAME: FLOW, PIPELINE_RUN_ID: flow_id, **FLOW_CODE},
        ) as flow_span:
            for i in range(n):
                with tracer.start_as_current_span(
                    TASK,
                    kind=INTERNAL,
                    attributes={
                        TASK_NAME: TASK,
                        TASK_RUN_ID: run_id(),
                        **TASK_CODE,
                        PIPELINE_NAME: FLOW,
                        PIPELINE_RUN_ID: flow_id,
                    },
                ) as span:
                    work(i)
                    span.set_attribute(TASK_RESULT, SUCCESS)
            flow_span.set_attribute(PIPELINE_RESULT, SUCCESS)
            flow_span.set_attribute(FAILED_TASKS, 0)

    async def spans_aflow(self, n: int, body: Any) -> None:
        tracer = self.tracer
        flow_id = run_id()
        with tracer.start_as_current_span(
            FLOW,
            kind=INTERNAL,
            attributes={PIPELINE_NAME: FLOW, PIPELINE_RUN_ID: flow_id, **FLOW_CODE},
        ) as flow_span:
            for i in range(n):
                with tracer.start_as_current_span(
                    TASK,
                    kind=INTERNAL,
                    attributes={
                        TASK_NAME: TASK,
                        TASK_RUN_ID: run_id(),
                        **TASK_CODE,
                        PIPELINE_NAME: FLOW,
                        PIPELINE_RUN_ID: flow_id,
                    },
                ) as span:
                    await body(i)
                    span.set_attribute(TASK_RESULT, SUCCESS)
            flow_span.set_attribute(PIPELINE_RESULT, SUCCESS)
            flow_span.set_attribute(FAILED_TASKS, 0)

    # -- spans + metrics (what flowtel emits for a flow whose tasks log nothing) -------

    def full_flow(self, n: int) -> None:
        tracer = self.tracer
        task_runs = self.task_runs
        task_duration = self.task_duration
        self.flow_active.add(1, FLOW_ATTRS)
        flow_start = time.perf_counter()
        flow_id = run_id()
        with tracer.start_as_current_span(
            FLOW,
            kind=INTERNAL,
            attributes={PIPELINE_NAME: FLOW, PIPELINE_RUN_ID: flow_id, **FLOW_CODE},
        ) as flow_span:
            for i in range(n):
                start = time.perf_counter()
                with tracer.start_as_current_span(
                    TASK,
                    kind=INTERNAL,
                    attributes={
                        TASK_NAME: TASK,
                        TASK_RUN_ID: run_id(),
                        **TASK_CODE,
                        PIPELINE_NAME: FLOW,
                        PIPELINE_RUN_ID: flow_id,
                    },
                ) as span:
                    work(i)
                    span.set_attribute(TASK_RESULT, SUCCESS)
                task_runs.add(1, TASK_METRIC_ATTRS)
                task_duration.record(time.perf_counter() - start, TASK_METRIC_ATTRS)
            flow_span.set_attribute(PIPELINE_RESULT, SUCCESS)
            flow_span.set_attribute(FAILED_TASKS, 0)
        self.flow_active.add(-1, FLOW_ATTRS)
        self.flow_runs.add(1, FLOW_RESULT_ATTRS)
        self.flow_duration.record(time.perf_counter() - flow_start, FLOW_RESULT_ATTRS)

    async def full_aflow(self, n: int, body: Any) -> None:
        tracer = self.tracer
        task_runs = self.task_runs
        task_duration = self.task_duration
        self.flow_active.add(1, FLOW_ATTRS)
        flow_start = time.perf_counter()
        flow_id = run_id()
        with tracer.start_as_current_span(
            FLOW,
            kind=INTERNAL,
            attributes={PIPELINE_NAME: FLOW, PIPELINE_RUN_ID: flow_id, **FLOW_CODE},
        ) as flow_span:
            for i in range(n):
                start = time.perf_counter()
                with tracer.start_as_current_span(
                    TASK,
                    kind=INTERNAL,
                    attributes={
                        TASK_NAME: TASK,
                        TASK_RUN_ID: run_id(),
                        **TASK_CODE,
                        PIPELINE_NAME: FLOW,
                        PIPELINE_RUN_ID: flow_id,
                    },
                ) as span:
                    await body(i)
                    span.set_attribute(TASK_RESULT, SUCCESS)
                task_runs.add(1, TASK_METRIC_ATTRS)
                task_duration.record(time.perf_counter() - start, TASK_METRIC_ATTRS)
            flow_span.set_attribute(PIPELINE_RESULT, SUCCESS)
            flow_span.set_attribute(FAILED_TASKS, 0)
        self.flow_active.add(-1, FLOW_ATTRS)
        self.flow_runs.add(1, FLOW_RESULT_ATTRS)
        self.flow_duration.record(time.perf_counter() - flow_start, FLOW_RESULT_ATTRS)

    # -- spans + metrics + one INFO message per task (span event + log record) ---------

    def log_flow(self, n: int) -> None:
        tracer = self.tracer
        logger = self.logger
        task_runs = self.task_runs
        task_duration = self.task_duration
        self.flow_active.add(1, FLOW_ATTRS)
        flow_start = time.perf_counter()
        flow_id = run_id()
        with tracer.start_as_current_span(
            FLOW,
            kind=INTERNAL,
            attributes={PIPELINE_NAME: FLOW, PIPELINE_RUN_ID: flow_id, **FLOW_CODE},
        ) as flow_span:
            for i in range(n):
                start = time.perf_counter()
                task_id = run_id()
                with tracer.start_as_current_span(
                    TASK,
                    kind=INTERNAL,
                    attributes={
                        TASK_NAME: TASK,
                        TASK_RUN_ID: task_id,
                        **TASK_CODE,
                        PIPELINE_NAME: FLOW,
                        PIPELINE_RUN_ID: flow_id,
                    },
                ) as span:
                    work(i)
                    attributes = {
                        PIPELINE_NAME: FLOW,
                        PIPELINE_RUN_ID: flow_id,
                        TASK_NAME: TASK,
                        TASK_RUN_ID: task_id,
                    }
                    span.add_event(
                        "flowtel.message",
                        {"message": MESSAGE, "log.severity": "INFO", **attributes},
                    )
                    logger.emit(
                        timestamp=time.time_ns(),
                        severity_number=SeverityNumber.INFO,
                        severity_text="INFO",
                        body=MESSAGE,
                        attributes=attributes,
                    )
                    span.set_attribute(TASK_RESULT, SUCCESS)
                task_runs.add(1, TASK_METRIC_ATTRS)
                task_duration.record(time.perf_counter() - start, TASK_METRIC_ATTRS)
            flow_span.set_attribute(PIPELINE_RESULT, SUCCESS)
            flow_span.set_attribute(FAILED_TASKS, 0)
        self.flow_active.add(-1, FLOW_ATTRS)
        self.flow_runs.add(1, FLOW_RESULT_ATTRS)
        self.flow_duration.record(time.perf_counter() - flow_start, FLOW_RESULT_ATTRS)

    async def log_aflow(self, n: int, body: Any) -> None:
        tracer = self.tracer
        logger = self.logger
        task_runs = self.task_runs
        task_duration = self.task_duration
        self.flow_active.add(1, FLOW_ATTRS)
        flow_start = time.perf_counter()
        flow_id = run_id()
        with tracer.start_as_current_span(
            FLOW,
            kind=INTERNAL,
            attributes={PIPELINE_NAME: FLOW, PIPELINE_RUN_ID: flow_id, **FLOW_CODE},
        ) as flow_span:
            for i in range(n):
                start = time.perf_counter()
                task_id = run_id()
                with tracer.start_as_current_span(
                    TASK,
                    kind=INTERNAL,
                    attributes={
                        TASK_NAME: TASK,
                        TASK_RUN_ID: task_id,
                        **TASK_CODE,
                        PIPELINE_NAME: FLOW,
                        PIPELINE_RUN_ID: flow_id,
                    },
                ) as span:
                    await body(i)
                    attributes = {
                        PIPELINE_NAME: FLOW,
                        PIPELINE_RUN_ID: flow_id,
                        TASK_NAME: TASK,
                        TASK_RUN_ID: task_id,
                    }
                    span.add_event(
                        "flowtel.message",
                        {"message": MESSAGE, "log.severity": "INFO", **attributes},
                    )
                    logger.emit(
                        timestamp=time.time_ns(),
                        severity_number=SeverityNumber.INFO,
                        severity_text="INFO",
                        body=MESSAGE,
                        attributes=attributes,
                    )
                    span.set_attribute(TASK_RESULT, SUCCESS)
                task_runs.add(1, TASK_METRIC_ATTRS)
                task_duration.record(time.perf_counter() - start, TASK_METRIC_ATTRS)
            flow_span.set_attribute(PIPELINE_RESULT, SUCCESS)
            flow_span.set_attribute(FAILED_TASKS, 0)
        self.flow_active.add(-1, FLOW_ATTRS)
        self.flow_runs.add(1, FLOW_RESULT_ATTRS)
        self.flow_duration.record(time.perf_counter() - flow_start, FLOW_RESULT_ATTRS)


# -- plain calls -----------------------------------------------------------------------


def plain_flow(n: int) -> None:
    for i in range(n):
        work(i)


async def plain_aflow(n: int, body: Any) -> None:
    for i in range(n):
        await body(i)


# -- OTel's own no-op API span: a bare span per flow and per task ------------------------


def bare_flow(tracer: Any, n: int) -> None:
    with tracer.start_as_current_span(FLOW):
        for i in range(n):
            with tracer.start_as_current_span(TASK):
                work(i)


async def bare_aflow(tracer: Any, n: int, body: Any) -> None:
    with tracer.start_as_current_span(FLOW):
        for i in range(n):
            with tracer.start_as_current_span(TASK):
                await body(i)


# -- flowtel ---------------------------------------------------------------------------
# The task/flow function names are the span names; the metric series are per name.

NO_LOGGING = Flow_Run__Config(logging_enabled=False)


@task
def bench_task(x: int) -> int:
    return x + 1


@task
def bench_log_task(x: int, this_task: Any = None) -> int:
    this_task.log_info(MESSAGE)
    return x + 1


@task
async def bench_atask(x: int) -> int:
    return x + 1


@task
async def bench_log_atask(x: int, this_task: Any = None) -> int:
    this_task.log_info(MESSAGE)
    return x + 1


@task
async def bench_ctask(x: int) -> int:
    await asyncio.sleep(0)
    return x + 1


@task
async def bench_log_ctask(x: int, this_task: Any = None) -> int:
    await asyncio.sleep(0)
    this_task.log_info(MESSAGE)
    return x + 1


@flow
def ft_flow(n: int) -> None:
    for i in range(n):
        bench_task(i)


@flow(flow_config=NO_LOGGING)
def ft_nolog_flow(n: int) -> None:
    for i in range(n):
        bench_task(i)


@flow
def ft_log_flow(n: int) -> None:
    for i in range(n):
        bench_log_task(i)


@flow
async def ft_aflow(n: int, kind: str = "a") -> None:
    one = bench_atask if kind == "a" else bench_ctask
    for i in range(n):
        await one(i)


@flow(flow_config=NO_LOGGING)
async def ft_nolog_aflow(n: int, kind: str = "a") -> None:
    one = bench_atask if kind == "a" else bench_ctask
    for i in range(n):
        await one(i)


@flow
async def ft_log_aflow(n: int, kind: str = "a") -> None:
    one = bench_log_atask if kind == "a" else bench_log_ctask
    for i in range(n):
        await one(i)


def run_ft(flow_fn: Any, n: int) -> Any:
    return flow_fn(n).execute()


async def run_ft_async(flow_fn: Any, n: int, kind: str) -> Any:
    return await flow_fn(n, kind).execute_async()


# -- SDK set-up: batch processors, a periodic metric reader, exporters that drop ------


# Items the benchmark exporters were given, by signal ("spans", "logs").
EXPORTED: collections.Counter[str] = collections.Counter()

# Longer than one measurement's spans or log records: on 2 cores the batch processors' worker
# thread can wait 60-130 ms for the GIL, long enough for the default 2,048 to fill (about 30 %
# of the spans were dropped, on both sides). A drop costs less than an export, so rows that
# dropped were not comparable; with this nothing is dropped and every row exports all it made.
QUEUE_SIZE = 65_536


def sdk_providers(processors: str = "batch") -> tuple[Any, Any, Any]:
    """TracerProvider + BatchSpanProcessor, LoggerProvider + BatchLogRecordProcessor,
    MeterProvider + PeriodicExportingMetricReader; every exporter drops (SUCCESS) after
    counting what it was given in ``EXPORTED``. Queues of ``QUEUE_SIZE``.

    ``processors="configure"``: instead of the SDK's batch processors, the ones
    ``flowtel.configure()`` installs (a span processor and a log record processor, each
    feeding flowtel's export queue and its thread), with the same dropping exporters.
    """
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import (
        BatchLogRecordProcessor,
        LogRecordExporter,
        LogRecordExportResult,
    )
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class DropSpans(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            EXPORTED["spans"] += len(spans)
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    class DropLogs(LogRecordExporter):
        def export(self, batch: Any) -> LogRecordExportResult:
            EXPORTED["logs"] += len(batch)
            return LogRecordExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    class DropMetrics(MetricExporter):
        def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> Any:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            pass

    tracer_provider = TracerProvider(shutdown_on_exit=False)
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    if processors == "configure":
        from flowtel.telemetry import _export

        report = _export.OutageReport()

        def queue(exporter: Any, signal: str, prefix: str, delay_ms: int) -> Any:
            status = report.add(_export.SignalStatus(signal, "benchmark", "drop"))
            settings = {**_export.queue_settings(prefix, delay_ms), "max_queue": QUEUE_SIZE}
            return _export.SignalQueue(exporter, status, report, **settings)

        tracer_provider.add_span_processor(
            _export.SpanQueueProcessor(queue(DropSpans(), "traces", "OTEL_BSP", 5000))
        )
        logger_provider.add_log_record_processor(
            _export.log_queue_processor(queue(DropLogs(), "logs", "OTEL_BLRP", 1000))
        )
    else:
        tracer_provider.add_span_processor(
            BatchSpanProcessor(DropSpans(), max_queue_size=QUEUE_SIZE)
        )
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(DropLogs(), max_queue_size=QUEUE_SIZE)
        )
    reader = PeriodicExportingMetricReader(DropMetrics(), export_interval_millis=60_000)
    meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    return tracer_provider, logger_provider, meter_provider


def dropping_providers() -> tuple[Any, Any, Any]:
    """SDK providers whose span and log processors drop each item when it ends."""
    from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

    class DropSpans(SpanProcessor):
        def on_end(self, span: Any) -> None:
            pass

    class DropLogs(LogRecordProcessor):
        def on_emit(self, log_record: Any) -> None:
            pass

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return True

    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(DropSpans())
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(DropLogs())
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    return tracer_provider, logger_provider, meter_provider


def flush(providers: tuple[Any, Any, Any]) -> None:
    tracer_provider, logger_provider, _ = providers
    tracer_provider.force_flush()
    logger_provider.force_flush()


def raw_for(providers: tuple[Any, Any, Any]) -> Raw:
    tracer_provider, logger_provider, meter_provider = providers
    return Raw(
        tracer_provider.get_tracer("bench.raw"),
        logger_provider.get_logger("bench.raw"),
        meter_provider.get_meter("bench.raw"),
    )


def use_flowtel(providers: tuple[Any, Any, Any], spans_only: bool = False) -> None:
    """Point flowtel at these providers (tracer only: no log records, no metrics)."""
    if spans_only:
        RUNTIME.use_providers(providers[0], None, None)
    else:
        RUNTIME.use_providers(*providers)


# -- equivalence check -----------------------------------------------------------------


def _shape(span_exporter: Any, log_exporter: Any, reader: Any) -> dict[str, Any]:
    """What was emitted, with names and values abstracted away (keys and structure)."""
    spans = span_exporter.get_finished_spans()
    span_shape = sorted(
        (
            "flow" if span.parent is None else "task",
            str(span.kind),
            tuple(sorted(span.attributes)),
            tuple((event.name, tuple(sorted(event.attributes))) for event in span.events),
        )
        for span in spans
    )
    logs = [
        (
            item.log_record.severity_text,
            tuple(sorted(item.log_record.attributes or {})),
            item.log_record.trace_id != 0,
        )
        for item in log_exporter.get_finished_logs()
    ]
    series: dict[str, list] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points = list(metric.data.data_points)
                counts = sorted(
                    (tuple(sorted(p.attributes)), getattr(p, "count", getattr(p, "value", None)))
                    for p in points
                )
                series[metric.name] = counts
    span_exporter.clear()
    log_exporter.clear()
    return {"spans": span_shape, "logs": sorted(logs), "metrics": series}


def verify_equivalence() -> list[str]:
    """Run each flowtel/raw pair against in-memory exporters; return the differences."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import (
        InMemoryLogRecordExporter,
        SimpleLogRecordProcessor,
    )
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    problems: list[str] = []
    n = 3

    def fresh() -> tuple[tuple[Any, Any, Any], tuple[Any, Any, Any]]:
        spans = InMemorySpanExporter()
        logs = InMemoryLogRecordExporter()
        reader = InMemoryMetricReader()
        tracer_provider = TracerProvider(shutdown_on_exit=False)
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
        logger_provider = LoggerProvider(shutdown_on_exit=False)
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
        meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
        return (tracer_provider, logger_provider, meter_provider), (spans, logs, reader)

    loop = asyncio.new_event_loop()
    pairs = [
        ("full", False, lambda raw: raw.full_flow(n), lambda: run_ft(ft_flow, n)),
        ("spans", True, lambda raw: raw.spans_flow(n), lambda: run_ft(ft_nolog_flow, n)),
        ("log", False, lambda raw: raw.log_flow(n), lambda: run_ft(ft_log_flow, n)),
        (
            "async full",
            False,
            lambda raw: loop.run_until_complete(raw.full_aflow(n, awork)),
            lambda: loop.run_until_complete(run_ft_async(ft_aflow, n, "a")),
        ),
        (
            "async spans",
            True,
            lambda raw: loop.run_until_complete(raw.spans_aflow(n, cwork)),
            lambda: loop.run_until_complete(run_ft_async(ft_nolog_aflow, n, "c")),
        ),
        (
            "async log",
            False,
            lambda raw: loop.run_until_complete(raw.log_aflow(n, cwork)),
            lambda: loop.run_until_complete(run_ft_async(ft_log_aflow, n, "c")),
        ),
    ]
    try:
        for label, spans_only, raw_run, ft_run in pairs:
            providers, sinks = fresh()
            raw = Raw(
                providers[0].get_tracer("bench.raw"),
                providers[1].get_logger("bench.raw"),
                providers[2].get_meter("bench.raw"),
            )
            if spans_only:
                raw = Raw(providers[0].get_tracer("bench.raw"))
            raw_run(raw)
            raw_shape = _shape(*sinks)
            providers, sinks = fresh()
            use_flowtel(providers, spans_only)
            ft_run()
            ft_shape = _shape(*sinks)
            RUNTIME.use_providers()
            for key in ("spans", "logs", "metrics"):
                if raw_shape[key] != ft_shape[key]:
                    problems.append(
                        f"{label}: {key} differ\n  raw:     {raw_shape[key]}\n"
                        f"  flowtel: {ft_shape[key]}"
                    )
    finally:
        loop.close()
        RUNTIME.use_providers()
    return problems
