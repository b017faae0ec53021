"""Property test: hostile data never costs a span or log record on the wire.

Hypothesis drives arbitrary text (lone surrogates, NUL, control characters, very long
strings), deep nesting and objects whose ``__str__``/``__repr__`` raise through messages,
prints, artifacts, results, exceptions, return values, arguments, run names and tags, each
hostile flow followed by a healthy one. flowtel emits through real SDK providers whose
batch processors feed the real OTLP exporters (gRPC and HTTP/protobuf) talking to the real
OTLP receiver on loopback (tests/otlp_receiver.py); the same providers also keep an
in-memory copy of what was emitted. After each example every emitted span and log record
must have arrived: one bad string would otherwise make the encoder drop a whole batch.
"""

from __future__ import annotations

import types

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetrics,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogs
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpMetrics,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    InMemoryLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otlp_receiver import OtlpReceiver

import flowtel
from flowtel import Flow, Flow_Run__Config, flow, task
from flowtel.telemetry._runtime import RUNTIME

EXAMPLES = 25  # per protocol; each example runs two flows and one export round trip


class Unprintable:
    """str() and repr() raise."""

    def __str__(self):
        raise RuntimeError("no str")

    __repr__ = __str__


class UnprintableError(Exception):
    """An exception whose str() raises."""

    def __str__(self):
        raise ValueError("no str for this error")


class HostileError(Exception):
    """An exception carrying any value as its message."""


SPECIAL = ["\udcff", "\ud800", "\udfff", "\x00", "\x1b", "\r", "\n", "\u2028", "\ufeff", "😀", "@"]
characters = st.one_of(st.characters(exclude_categories=()), st.sampled_from(SPECIAL))
short_text = st.text(characters, max_size=30) | st.sampled_from(
    ["\x1b[31mred\x1b[0m", "http://user:pass@host/x", "{arg}", "%s %d"]
)
long_text = st.builds(
    lambda piece, times: piece * times,
    st.text(characters, min_size=1, max_size=4),
    st.integers(3_000, 300_000),
)
texts = st.one_of(short_text, short_text, long_text)
names = st.one_of(st.text(characters, min_size=1, max_size=30), long_text)


def nested(depth, leaf):
    """``leaf`` nested ``depth`` levels deep in alternating lists and secret-keyed dicts."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"password": leaf, "next": value}
    return value


unprintables = st.sampled_from([Unprintable(), types.SimpleNamespace(bad=Unprintable())])
values = st.one_of(
    texts,
    unprintables,
    st.builds(nested, st.integers(1, 3_000), short_text),
    st.recursive(
        st.none() | st.integers() | st.floats() | short_text | st.binary(max_size=8),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(short_text, inner, max_size=3)
        ),
        max_leaves=8,
    ),
)
errors = st.one_of(
    st.none(),
    st.builds(ValueError, texts),
    st.builds(HostileError, values),
    st.just(UnprintableError()),
)
cases = st.fixed_dictionaries(
    {
        "flow_name": names,
        "task_name": names,
        "tag": texts,
        "run_arg": texts,
        "messages": st.lists(st.one_of(texts, unprintables, values), max_size=3),
        "prints": st.lists(texts, max_size=2),
        "artifact": st.tuples(names, values, texts, texts),
        "result": st.tuples(names, st.one_of(texts, unprintables)),
        "returned": values,
        "task_error": errors,
        "flow_error": errors,
    }
)


@pytest.fixture(scope="module", params=["grpc", "http/protobuf"])
def pipeline(request):
    """SDK providers exporting over OTLP to a real receiver, plus in-memory copies."""
    protocol = request.param
    receiver = OtlpReceiver(protocol).start()
    if protocol == "grpc":
        address = f"127.0.0.1:{receiver.port}"
        span_exporter = GrpcSpans(endpoint=address, insecure=True)
        log_exporter = GrpcLogs(endpoint=address, insecure=True)
        metric_exporter = GrpcMetrics(endpoint=address, insecure=True)
    else:
        span_exporter = HttpSpans(endpoint=f"{receiver.endpoint}/v1/traces")
        log_exporter = HttpLogs(endpoint=f"{receiver.endpoint}/v1/logs")
        metric_exporter = HttpMetrics(endpoint=f"{receiver.endpoint}/v1/metrics")
    emitted_spans, emitted_logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    tracer_provider.add_span_processor(SimpleSpanProcessor(emitted_spans))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(emitted_logs))
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
    meter_provider = MeterProvider(metric_readers=[reader])
    yield types.SimpleNamespace(
        protocol=protocol,
        receiver=receiver,
        emitted_spans=emitted_spans,
        emitted_logs=emitted_logs,
        providers=(tracer_provider, logger_provider, meter_provider),
    )
    for provider in (tracer_provider, logger_provider, meter_provider):
        provider.shutdown()
    receiver.stop()


@pytest.fixture
def hostile_settings(pipeline):
    """flowtel emits through the pipeline with every optional export path switched on."""
    RUNTIME.use_providers(*pipeline.providers)
    flowtel.configure(
        install_providers=False,
        export_level="DEBUG",
        record_arguments=True,
        record_return_values=True,
    )
    yield pipeline
    RUNTIME.reset()


def run_hostile_flow(case):
    """Define and run one flow that pushes ``case`` through every channel."""

    @task(task_name=case["task_name"], tags=[case["tag"]], task_run_name="t-{value}")
    def hostile_task(value, this_task=None):
        for message in case["messages"]:
            this_task.log_warning(message)
        if case["task_error"] is not None:
            raise case["task_error"]
        return case["returned"]

    @flow(
        flow_name=case["flow_name"],
        tags=[case["tag"]],
        flow_run_name="run-{arg}",
        flow_config=Flow_Run__Config(raise_flow_error=False),
    )
    def hostile_flow(arg, this_flow: Flow):
        for line in case["prints"]:
            print(line)
        for message in case["messages"]:
            this_flow.log_info(message)
        key, data, description, kind = case["artifact"]
        this_flow.add_flow_artifact(key=key, data=data, description=description, artifact_type=kind)
        result_key, result_description = case["result"]
        this_flow.add_flow_result(key=result_key, description=result_description)
        try:
            hostile_task(case["returned"])
        except Exception:
            pass
        if case["flow_error"] is not None:
            raise case["flow_error"]
        return case["returned"]

    return hostile_flow(case["run_arg"]).execute()


@task()
def healthy_task(number):
    print(f"healthy {number}")
    return number * 2


@flow()
def healthy_flow(count):
    return [healthy_task(number) for number in range(count)]


def received_span_ids(receiver):
    """The ids of every span the receiver decoded so far."""
    return {span.span_id for span in receiver.spans()}


class MeasuredCase(dict):
    """A case with a printable repr: hypothesis prints explicit examples, whose values cannot."""

    def __repr__(self):
        return "<the issue's measured case>"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run and machine, no example database
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@example(  # the measurements: an 8 MB message, a 10 MB error, undecodable file names
    case=MeasuredCase(
        {
            "flow_name": "ingest-\udcff",
            "task_name": "read-\udcff",
            "tag": "t-\udcff",
            "run_arg": "r-\udcff.csv",
            "messages": ["L" * 8_000_000, "r-\udcff.csv", Unprintable()],
            "prints": ["printed r-\udcff.csv"],
            "artifact": ("file-\udcff", nested(2_000, "\udcff"), "\x00" * 10, "csv"),
            "result": ("count-\udcff", "\udcff" * 100_000),
            "returned": {"password": "hunter2", "file": "r-\udcff.csv"},
            "task_error": ValueError("E" * 10_000_000 + "\udcff"),
            "flow_error": UnprintableError(),
        }
    )
)
@given(case=cases)
def test_every_span_and_log_record_of_hostile_and_healthy_flows_arrives(hostile_settings, case):
    """Whatever text or object a flow carries, all its spans and log records reach the receiver."""
    pipeline = hostile_settings
    pipeline.emitted_spans.clear()
    pipeline.emitted_logs.clear()
    logs_before = len(pipeline.receiver.log_records())
    hostile = run_hostile_flow(case)
    healthy = healthy_flow(2).execute()
    tracer_provider, logger_provider, _ = pipeline.providers
    assert (True, True) == (
        tracer_provider.force_flush(10_000),
        logger_provider.force_flush(10_000),
    )
    emitted = {
        format(span.context.span_id, "016x") for span in pipeline.emitted_spans.get_finished_spans()
    }
    assert 4 <= len(emitted)  # hostile flow + task, healthy flow + 2 tasks
    assert set() == emitted - received_span_ids(pipeline.receiver)
    emitted_logs = len(pipeline.emitted_logs.get_finished_logs())
    assert emitted_logs == len(pipeline.receiver.log_records()) - logs_before
    assert ("completed", [0, 2]) == (healthy.flow_status, healthy.flow_return_value)
    assert hostile.flow_status in ("completed", "failed")


def test_metrics_with_hostile_names_arrive(hostile_settings):
    """Flow and task names with surrogates reach the receiver as metric attributes (U+FFFD)."""
    pipeline = hostile_settings
    case = {
        "flow_name": "metric-\udcff",
        "task_name": "step-\udcff",
        "tag": "t",
        "run_arg": "a",
        "messages": [],
        "prints": [],
        "artifact": ("k", 1, "d", "t"),
        "result": ("r", "d"),
        "returned": 1,
        "task_error": None,
        "flow_error": None,
    }
    run_hostile_flow(case)
    assert True is pipeline.providers[2].force_flush(10_000)
    task_runs = [
        attributes
        for metric in pipeline.receiver.metrics()
        if metric.name == "flowtel.task.runs"
        for attributes, _ in metric.points
    ]
    assert True is (
        {"cicd.pipeline.name": "metric-\ufffd", "cicd.pipeline.task.name": "step-\ufffd"}.items()
        <= next(a for a in task_runs if a["cicd.pipeline.name"] == "metric-\ufffd").items()
    )
