"""Flows sent by flowtel's own OTLP exporters (gRPC and HTTP/protobuf) through the collector reach
Jaeger, and read back through Jaeger's HTTP query API with the telemetry mapping of DESIGN.md."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from .servers import Jaeger, get_json

SCENARIOS = ("success", "failure", "failure_kept", "tolerated", "nested", "async", "concurrent")


@dataclass
class Span:
    name: str
    span_id: str
    parent_id: str | None
    trace_id: str
    start: int  # microseconds
    duration: int
    tags: dict[str, Any]
    events: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return self.tags.get("otel.status_code", "UNSET")

    @property
    def end(self) -> int:
        return self.start + self.duration

    def event(self, name: str) -> dict[str, Any]:
        matching = [event for event in self.events if event.get("event") == name]
        assert 1 == len(matching), f"{self.name}: events {self.events}"
        return matching[0]


@dataclass
class Trace:
    trace_id: str
    spans: list[Span]

    def named(self, name: str) -> list[Span]:
        return [span for span in self.spans if span.name == name]

    def one(self, name: str) -> Span:
        spans = self.named(name)
        assert 1 == len(spans), f"spans named {name!r}: {[s.name for s in self.spans]}"
        return spans[0]

    def children(self, parent: Span) -> list[Span]:
        return sorted(
            (span for span in self.spans if span.parent_id == parent.span_id), key=lambda s: s.start
        )

    @property
    def root(self) -> Span:
        roots = [span for span in self.spans if span.parent_id is None]
        assert 1 == len(roots), [(s.name, s.parent_id) for s in self.spans]
        return roots[0]


def parse_trace(data: dict[str, Any]) -> Trace:
    spans = []
    for raw in data["spans"]:
        parents = [
            ref["spanID"] for ref in raw.get("references", []) if ref["refType"] == "CHILD_OF"
        ]
        spans.append(
            Span(
                name=raw["operationName"],
                span_id=raw["spanID"],
                parent_id=parents[0] if parents else None,
                trace_id=raw["traceID"],
                start=raw["startTime"],
                duration=raw["duration"],
                tags={tag["key"]: tag["value"] for tag in raw.get("tags", [])},
                events=[
                    {field["key"]: field["value"] for field in log["fields"]}
                    for log in raw.get("logs", [])
                ],
            )
        )
    return Trace(data["traceID"], spans)


def fetch_traces(jaeger: Jaeger, service: str) -> list[Trace]:
    query = urllib.parse.urlencode({"service": service, "limit": 200, "lookback": "1h"})
    reply = get_json(f"{jaeger.query_url}/api/traces?{query}")
    return [parse_trace(data) for data in reply["data"] or []]


# Spans per scenario's trace: the flow, its tasks and nested flows.
EXPECTED_SPANS = {
    "success": 3,
    "failure": 3,
    "failure_kept": 2,
    "tolerated": 3,
    "nested": 6,
    "async": 3,
    "concurrent": 4,
}


@dataclass
class Sent:
    protocol: str
    service: str
    reports: dict[str, dict[str, Any]]
    traces: dict[str, Trace]  # by scenario

    def trace(self, scenario: str) -> Trace:
        return self.traces[scenario]


def wait_for_traces(
    jaeger: Jaeger, service: str, reports: dict[str, dict[str, Any]], timeout: float = 30.0
) -> dict[str, Trace]:
    """Each scenario's trace, found by its flow run id, once it holds all its spans."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Trace] = {}
        for trace in fetch_traces(jaeger, service):
            run_ids = {span.tags.get("cicd.pipeline.run.id") for span in trace.spans}
            for scenario, report in reports.items():
                if report["flow_id"] in run_ids and len(trace.spans) >= EXPECTED_SPANS[scenario]:
                    found[scenario] = trace
        if len(found) == len(reports) or time.monotonic() > deadline:
            missing = sorted(set(reports) - set(found))
            assert [] == missing, f"traces not complete in Jaeger for {service}"
            return found
        time.sleep(0.5)


@pytest.fixture(scope="module", params=["grpc", "http/protobuf"], ids=["grpc", "http"])
def sent(request, jaeger: Jaeger, run_flows: Callable[..., dict]) -> Sent:
    protocol = request.param
    service = f"flowtel-stack-{'grpc' if protocol == 'grpc' else 'http'}"
    reports = run_flows(service, protocol, *SCENARIOS)
    return Sent(protocol, service, reports, wait_for_traces(jaeger, service, reports))


def assert_flow_span(span: Span, flow_name: str, run_id: str, result: str) -> None:
    assert (flow_name, flow_name, run_id, result) == (
        span.name,
        span.tags.get("cicd.pipeline.name"),
        span.tags.get("cicd.pipeline.run.id"),
        span.tags.get("cicd.pipeline.result"),
    )


def assert_task_span(span: Span, task_name: str, result: str) -> None:
    assert (task_name, task_name, result) == (
        span.name,
        span.tags.get("cicd.pipeline.task.name"),
        span.tags.get("cicd.pipeline.task.run.result"),
    )
    assert span.tags.get("cicd.pipeline.task.run.id"), span.tags


def test_success_flow_is_one_trace_with_a_task_span_per_task_call(sent: Sent):
    """A successful flow run is a root span named by the flow, with one child span per task call."""
    report = sent.reports["success"]
    trace = sent.trace("success")
    root = trace.root
    assert_flow_span(root, "stack_success", report["flow_id"], "success")
    assert ["add_one", "double_it"] == [span.name for span in trace.children(root)]
    for span, name in zip(trace.children(root), ["add_one", "double_it"], strict=True):
        assert_task_span(span, name, "success")
        assert "ERROR" != span.status
    assert "ERROR" != root.status
    assert (None, None) == (report["raised"], report["flow_error"])


def test_flow_span_carries_code_attributes_service_and_kind(sent: Sent):
    """The flow span has code.function.name, code.file.path, code.line.number and kind internal."""
    root = sent.trace("success").root
    assert "stack_success" == root.tags.get("code.function.name")
    assert str(root.tags.get("code.file.path", "")).endswith("flow_scenarios.py")
    assert isinstance(root.tags.get("code.line.number"), int)
    assert "internal" == root.tags.get("span.kind")


def test_success_flow_has_artifact_result_and_log_event(sent: Sent):
    """Artifacts and results are flow span attributes; log_info is a span event on the flow span."""
    root = sent.trace("success").root
    assert ("json", "computed value") == (
        root.tags.get("flowtel.artifact.summary.type"),
        root.tags.get("flowtel.artifact.summary.description"),
    )
    assert "6" in str(root.tags.get("flowtel.artifact.summary.data")), root.tags
    assert "answer is 6" == root.tags.get("flowtel.result.answer")
    messages = [str(event) for event in root.events]
    assert any("computed 6" in message for message in messages), root.events


def test_failed_flow_marks_flow_and_task_spans_as_errors(sent: Sent):
    """A task that raises ValueError: task and flow spans have status ERROR "ValueError: boom 41"."""
    report = sent.reports["failure"]
    assert ("ValueError", "boom 41") == (report["raised"], report["raised_message"])
    trace = sent.trace("failure")
    root = trace.root
    assert_flow_span(root, "stack_failure", report["flow_id"], "failure")
    explode = trace.one("explode")
    assert root.span_id == explode.parent_id
    assert_task_span(explode, "explode", "failure")
    for span in (root, explode):
        assert ("ERROR", "ValueError: boom 41", "builtins.ValueError") == (
            span.status,
            span.tags.get("otel.status_description"),
            span.tags.get("error.type"),
        )
    assert_task_span(trace.one("add_one"), "add_one", "success")


def test_failed_task_span_has_an_exception_event(sent: Sent):
    """The failing task's span records an `exception` event with type, message and stacktrace."""
    event = sent.trace("failure").one("explode").event("exception")
    assert ("ValueError", "boom 41") == (
        str(event.get("exception.type")).rsplit(".", 1)[-1],
        event.get("exception.message"),
    )
    assert "raise ValueError" in str(event.get("exception.stacktrace")), event


def test_failed_flow_kept_with_raise_flow_error_false_is_still_a_failure(sent: Sent):
    """raise_flow_error=False keeps the error from the caller but the flow span is still ERROR."""
    report = sent.reports["failure_kept"]
    assert None is report["raised"]
    assert "ValueError" in str(report["flow_error"])
    root = sent.trace("failure_kept").root
    assert_flow_span(root, "stack_failure_kept", report["flow_id"], "failure")
    assert ("ERROR", "builtins.ValueError") == (root.status, root.tags.get("error.type"))


def test_tolerated_task_failure_is_an_error_span_under_a_successful_flow(sent: Sent):
    """raise_on_error=False: the task span is ERROR, the flow span is not and counts 1 failed task."""
    report = sent.reports["tolerated"]
    trace = sent.trace("tolerated")
    root = trace.root
    assert_flow_span(root, "stack_tolerated_flow", report["flow_id"], "success")
    assert ("UNSET_OR_OK", 1) == (
        "UNSET_OR_OK" if root.status in ("UNSET", "OK") else root.status,
        root.tags.get("flowtel.flow.failed_tasks"),
    )
    flaky = trace.one("flaky")
    assert_task_span(flaky, "flaky", "failure")
    assert ("ERROR", "RuntimeError: flaky backend 3", "builtins.RuntimeError") == (
        flaky.status,
        flaky.tags.get("otel.status_description"),
        flaky.tags.get("error.type"),
    )
    assert ["flaky", "add_one"] == [span.name for span in trace.children(root)]


def test_nested_flows_are_children_of_the_calling_task_and_flow(sent: Sent):
    """A flow run inside a task is a child of that task's span; one run in a flow, of the flow's."""
    report = sent.reports["nested"]
    trace = sent.trace("nested")
    root = trace.root
    assert_flow_span(root, "stack_outer", report["flow_id"], "success")
    assert ["launch_inner", "stack_inner"] == [span.name for span in trace.children(root)]
    launch = trace.one("launch_inner")
    assert ["stack_inner"] == [span.name for span in trace.children(launch)]
    inner_runs = trace.named("stack_inner")
    assert 2 == len(inner_runs)
    for inner in inner_runs:
        assert ["add_one"] == [span.name for span in trace.children(inner)]
        assert_flow_span(inner, "stack_inner", inner.tags["cicd.pipeline.run.id"], "success")
    run_ids = {span.tags["cicd.pipeline.run.id"] for span in [root, *inner_runs]}
    assert 3 == len(run_ids)


def test_async_flow_with_awaited_tasks(sent: Sent):
    """An async flow run with execute_async() has its awaited async tasks as child spans."""
    report = sent.reports["async"]
    trace = sent.trace("async")
    root = trace.root
    assert_flow_span(root, "stack_async", report["flow_id"], "success")
    children = trace.children(root)
    assert ["slow_square", "slow_square"] == [span.name for span in children]
    assert children[0].end <= children[1].start
    task_run_ids = {span.tags["cicd.pipeline.task.run.id"] for span in children}
    assert 2 == len(task_run_ids)


def test_concurrent_tasks_are_overlapping_siblings(sent: Sent):
    """Tasks gathered concurrently are sibling spans under the flow span, overlapping in time."""
    report = sent.reports["concurrent"]
    trace = sent.trace("concurrent")
    root = trace.root
    assert_flow_span(root, "stack_concurrent", report["flow_id"], "success")
    parts = trace.children(root)
    assert ["fetch_part"] * 3 == [span.name for span in parts]
    assert max(span.start for span in parts) < min(span.end for span in parts)
    assert 3 == len({span.tags["cicd.pipeline.task.run.id"] for span in parts})


def test_each_flow_run_is_its_own_trace_for_its_service(sent: Sent, jaeger: Jaeger):
    """Every top-level flow run is a separate trace; Jaeger lists the service by its name."""
    trace_ids = [trace.trace_id for trace in sent.traces.values()]
    assert len(SCENARIOS) == len(set(trace_ids))
    services = get_json(f"{jaeger.query_url}/api/services")["data"]
    assert sent.service in services
