"""Test kit: capture flowtel's spans, log records and metrics in memory.

``capture_telemetry()`` is a context manager; the ``flowtel_telemetry`` pytest fixture
(registered through the ``pytest11`` entry point) wraps it. Both use the real OTel SDK with
its in-memory exporters and metric reader, installed for flowtel only (the global providers
are left alone), and make flowtel's internal telemetry errors raise instead of being logged.

    def test_my_flow(flowtel_telemetry):
        my_flow().execute()
        assert flowtel_telemetry.span("my_flow").attributes["cicd.pipeline.result"] == "success"
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from .telemetry._runtime import RUNTIME

__all__ = ["CapturedTelemetry", "MetricPoint", "capture_telemetry", "flowtel_telemetry"]


class MetricPoint:
    """One data point: instrument name, attributes, and value (sum, or histogram count/sum)."""

    def __init__(self, name: str, attributes: dict[str, Any], point: Any) -> None:
        self.name = name
        self.attributes = attributes
        self.point = point
        self.value = getattr(point, "value", None)
        self.count = getattr(point, "count", None)
        self.sum = getattr(point, "sum", None)

    def __repr__(self) -> str:
        shown = self.value if self.value is not None else f"count={self.count} sum={self.sum}"
        return f"<MetricPoint {self.name} {self.attributes} {shown}>"


class CapturedTelemetry:
    """What flowtel emitted inside a ``capture_telemetry()`` block."""

    def __init__(self) -> None:
        self.span_exporter = InMemorySpanExporter()
        self.log_exporter = InMemoryLogRecordExporter()
        self.metric_reader = InMemoryMetricReader()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader])

    @property
    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self.span_exporter.get_finished_spans())

    @property
    def logs(self) -> list[Any]:
        """Emitted log records (SDK ``ReadableLogRecord``s; ``.log_record`` holds the data)."""
        return list(self.log_exporter.get_finished_logs())

    def spans_named(self, name: str) -> list[ReadableSpan]:
        """Finished spans with this name."""
        return [span for span in self.spans if span.name == name]

    def span(self, name: str) -> ReadableSpan:
        """The one finished span with this name (AssertionError if there are none or many)."""
        found = self.spans_named(name)
        if len(found) != 1:
            names = sorted({span.name for span in self.spans})
            raise AssertionError(
                f"expected one span named {name!r}, found {len(found)}; spans: {names}"
            )
        return found[0]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        """Finished spans whose parent is ``parent``, by start time."""
        parent_id = parent.context.span_id
        kids = [s for s in self.spans if s.parent is not None and s.parent.span_id == parent_id]
        return sorted(kids, key=lambda s: s.start_time or 0)

    def log_bodies(self) -> list[Any]:
        """The bodies of the emitted log records, in order."""
        return [record.log_record.body for record in self.logs]

    def metric_points(self, name: str | None = None) -> list[MetricPoint]:
        """Current metric data points (cumulative), optionally for one instrument."""
        data = self.metric_reader.get_metrics_data()
        points: list[MetricPoint] = []
        if data is None:
            return points
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if name is not None and metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        points.append(MetricPoint(metric.name, dict(point.attributes or {}), point))
        return points

    def clear(self) -> None:
        """Forget captured spans and logs (metrics are cumulative and stay)."""
        self.span_exporter.clear()
        self.log_exporter.clear()

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self.meter_provider.shutdown()


@contextmanager
def capture_telemetry() -> Iterator[CapturedTelemetry]:
    """Capture flowtel's telemetry in memory for the block; restores the previous setting."""
    captured = CapturedTelemetry()
    previous_providers = RUNTIME._providers
    previous_raise = RUNTIME.raise_internal_errors
    RUNTIME.use_providers(
        captured.tracer_provider, captured.logger_provider, captured.meter_provider
    )
    RUNTIME.raise_internal_errors = True
    try:
        yield captured
    finally:
        RUNTIME.raise_internal_errors = previous_raise
        RUNTIME.use_providers(*(previous_providers or (None, None, None)))
        captured.shutdown()


try:
    import pytest
except ImportError:  # the fixture needs pytest; capture_telemetry() does not
    pass
else:

    @pytest.fixture
    def flowtel_telemetry() -> Iterator[CapturedTelemetry]:
        """flowtel's spans, log records and metrics from this test, captured in memory."""
        with capture_telemetry() as captured:
            yield captured
