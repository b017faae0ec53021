"""Log records and metrics take their real paths: flowtel -> collector -> "Loki" / "Tempo" (the sink
collector, at Loki's OTLP path) and -> the collector's prometheus exporter -> Prometheus and its
alert rules."""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from .servers import PROMETHEUS_DIR, Collector, Prometheus, Sink, get_json

SCENARIOS = ("success", "failure", "tolerated")


# --- reading the sink's debug exporter output ---------------------------------------------------


@dataclass
class Record:
    """A log record or a span as printed by the debug exporter (verbosity: detailed)."""

    kind: str  # "log" or "span"
    service: str
    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)


VALUE = re.compile(r"^(?:Str|Int|Double|Bool)\((.*)\)$")


def plain(value: str) -> str:
    match = VALUE.match(value.strip())
    return match.group(1) if match else value.strip()


def parse_debug_output(text: str) -> list[Record]:
    records: list[Record] = []
    service = ""
    section = ""  # resource | record | attributes | skip
    current: Record | None = None
    for line in text.splitlines():
        if re.search(r"\t(ResourceLog|ResourceSpans) #\d+$", line) or line.startswith("Resource"):
            if line.endswith("Resource attributes:"):
                section = "resource"
            elif "#" in line:
                service, section, current = "", "", None
            continue
        if line.startswith(("ScopeLogs", "ScopeSpans", "InstrumentationScope")):
            section = ""
            continue
        if re.match(r"^(LogRecord|Span) #\d+$", line):
            current = Record("log" if line.startswith("LogRecord") else "span", service)
            records.append(current)
            section = "record"
            continue
        if line == "Attributes:":
            section = "attributes" if current is not None else section
            continue
        if line in ("Events:", "Links:") or line.startswith(("SpanEvent #", "SpanLink #")):
            section = "skip"
            continue
        if line.startswith("     -> ") and section in ("resource", "attributes"):
            key, _, value = line[len("     -> ") :].partition(": ")
            if section == "resource" and key == "service.name":
                service = plain(value)
            elif section == "attributes" and current is not None:
                current.attributes[key] = plain(value)
            continue
        if current is not None and section in ("record", "attributes") and ":" in line:
            key, _, value = line.strip().partition(":")
            if not line.startswith(" " * 6):
                current.fields[key.strip()] = plain(value)
    return records


def sink_records(sink: Sink, service: str) -> list[Record]:
    return [r for r in parse_debug_output(sink.server.output()) if r.service == service]


# --- fixtures ------------------------------------------------------------------------------


@dataclass
class Sent:
    protocol: str
    service: str
    reports: dict[str, dict[str, Any]]


@pytest.fixture(scope="module", params=["grpc", "http/protobuf"], ids=["grpc", "http"])
def sent(request, run_flows: Callable[..., dict]) -> Sent:
    protocol = request.param
    service = f"flowtel-stack-signals-{'grpc' if protocol == 'grpc' else 'http'}"
    return Sent(protocol, service, run_flows(service, protocol, *SCENARIOS))


def wait_for_records(
    sink: Sink, service: str, ready: Callable[[list[Record]], bool], timeout: float = 20.0
) -> list[Record]:
    deadline = time.monotonic() + timeout
    while True:
        records = sink_records(sink, service)
        if ready(records) or time.monotonic() > deadline:
            return records
        time.sleep(0.3)


# --- logs and traces at Loki's and Tempo's endpoints --------------------------------------------


def test_log_info_reaches_the_loki_endpoint_with_trace_and_run_ids(sent: Sent, sink: Sink):
    """log_info becomes an OTLP log record at Loki's /otlp path, with the flow span's trace/span ids."""
    run_id = sent.reports["success"]["flow_id"]

    def ready(records: list[Record]) -> bool:
        # The log record and the flow span travel in separate batches: wait for both.
        has_log = any(
            r.kind == "log" and r.attributes.get("cicd.pipeline.run.id") == run_id for r in records
        )
        has_flow_span = any(
            r.kind == "span"
            and r.fields.get("Name") == "stack_success"
            and r.attributes.get("cicd.pipeline.run.id") == run_id
            for r in records
        )
        return has_log and has_flow_span

    records = wait_for_records(sink, sent.service, ready)
    logs = [r for r in records if r.kind == "log" and r.fields.get("Body") == "computed 6"]
    assert 1 == len(logs), [r.fields for r in records if r.kind == "log"]
    log = logs[0]
    flow_span = next(
        r
        for r in records
        if r.kind == "span"
        and r.fields.get("Name") == "stack_success"
        and r.attributes.get("cicd.pipeline.run.id") == run_id
    )
    assert ("INFO", run_id, "stack_success") == (
        log.fields.get("SeverityText"),
        log.attributes.get("cicd.pipeline.run.id"),
        log.attributes.get("cicd.pipeline.name"),
    )
    assert (flow_span.fields["Trace ID"], flow_span.fields["ID"]) == (
        log.fields.get("Trace ID"),
        log.fields.get("Span ID"),
    )
    assert re.fullmatch(r"[0-9a-f]{32}", log.fields["Trace ID"]), log.fields


def test_every_log_record_carries_a_trace_id_and_its_run_id(sent: Sent, sink: Sink):
    """Each log record flowtel exports for a run has a non-zero trace id and the run id attribute."""
    run_ids = {report["flow_id"] for report in sent.reports.values()}
    records = wait_for_records(
        sink,
        sent.service,
        lambda rs: (
            run_ids <= {r.attributes.get("cicd.pipeline.run.id") for r in rs if r.kind == "log"}
        ),
    )
    logs = [r for r in records if r.kind == "log"]
    assert run_ids == {r.attributes.get("cicd.pipeline.run.id") for r in logs}
    bad = [
        r.fields for r in logs if not re.fullmatch(r"[0-9a-f]{32}", r.fields.get("Trace ID", ""))
    ]
    assert [] == bad
    assert [] == [r.fields for r in logs if set(r.fields.get("Trace ID", "")) == {"0"}]


def test_spans_reach_the_tempo_endpoint(sent: Sent, sink: Sink):
    """The collector also sends every flow and task span to Tempo's OTLP gRPC endpoint."""
    expected = {
        "stack_success", "add_one", "double_it",
        "stack_failure", "explode",
        "stack_tolerated_flow", "flaky",
    }  # fmt: skip
    records = wait_for_records(
        sink,
        sent.service,
        lambda rs: expected <= {r.fields.get("Name") for r in rs if r.kind == "span"},
    )
    assert expected == {r.fields.get("Name") for r in records if r.kind == "span"}


# --- metrics -------------------------------------------------------------------------------


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def exporter_samples(collector: Collector, job: str) -> list[tuple[str, dict[str, str], float]]:
    with urllib.request.urlopen(collector.exporter_url, timeout=5) as response:
        text = response.read().decode()
    samples = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if not match or line.startswith("#"):
            continue
        labels = dict(LABEL.findall(match.group(2) or ""))
        if labels.get("job") == job:
            samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def wait_for_samples(collector: Collector, job: str, names: set[str], timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        samples = exporter_samples(collector, job)
        if names <= {name for name, _, _ in samples} or time.monotonic() > deadline:
            return samples
        time.sleep(0.3)


FLOWTEL_METRICS = {
    "flowtel_flow_runs_total",
    "flowtel_task_runs_total",
    "cicd_pipeline_run_duration_seconds_bucket",
    "flowtel_task_duration_seconds_bucket",
    "cicd_pipeline_run_active",
}


def test_flowtel_metrics_reach_the_collectors_prometheus_exporter(sent: Sent, collector: Collector):
    """The five flowtel instruments appear on the prometheus exporter under their Prometheus names."""
    samples = wait_for_samples(collector, sent.service, FLOWTEL_METRICS)
    assert FLOWTEL_METRICS <= {name for name, _, _ in samples}
    flow_runs = {
        (labels["cicd_pipeline_name"], labels["cicd_pipeline_result"]): value
        for name, labels, value in samples
        if name == "flowtel_flow_runs_total"
    }
    assert {
        ("stack_success", "success"): 1.0,
        ("stack_failure", "failure"): 1.0,
        ("stack_tolerated_flow", "success"): 1.0,
    } == flow_runs
    task_failures = {
        (labels["cicd_pipeline_name"], labels["cicd_pipeline_task_name"]): value
        for name, labels, value in samples
        if name == "flowtel_task_runs_total"
        and labels["cicd_pipeline_task_run_result"] == "failure"
    }
    assert {
        ("stack_failure", "explode"): 1.0,
        ("stack_tolerated_flow", "flaky"): 1.0,
    } == task_failures


def test_no_run_ids_on_metrics(sent: Sent, collector: Collector):
    """No flowtel metric carries a run id label (metrics stay low-cardinality)."""
    samples = wait_for_samples(collector, sent.service, FLOWTEL_METRICS)
    labels = {label for name, sample_labels, _ in samples for label in sample_labels}
    assert set() == {label for label in labels if "run_id" in label}


def test_span_metrics_connector_counts_failed_task_spans(sent: Sent, collector: Collector):
    """The span_metrics connector turns each ERROR span into a RED metric with status ERROR."""
    name = "traces_span_metrics_calls_total"
    expected = {"explode": 1.0, "stack_failure": 1.0, "flaky": 1.0}
    deadline = time.monotonic() + 20
    while True:
        # A new series is first exported at 0, then counted at the next flush.
        errors = {
            labels["span_name"]: value
            for sample_name, labels, value in exporter_samples(collector, sent.service)
            if sample_name == name and labels.get("status_code") == "STATUS_CODE_ERROR"
        }
        if expected == errors or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert expected == errors


def shipped_alert(name: str) -> dict[str, Any]:
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        for group in yaml.safe_load(Path(path).read_text())["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == name:
                    return rule
    raise AssertionError(f"no alert rule {name}")


def test_prometheus_sees_the_failing_task(sent: Sent, prometheus: Prometheus):
    """Prometheus scrapes the collector and has the failed task runs by flow and task."""
    result = prometheus.wait_for(
        f'flowtel_task_runs_total{{job="{sent.service}", cicd_pipeline_task_run_result="failure"}}'
    )
    assert {("stack_failure", "explode"), ("stack_tolerated_flow", "flaky")} == {
        (r["metric"]["cicd_pipeline_name"], r["metric"]["cicd_pipeline_task_name"]) for r in result
    }


def test_task_failure_alert_expression_returns_the_failing_task(sent: Sent, prometheus: Prometheus):
    """The shipped FlowtelTaskFailures expression returns each failed task of the service, value 1."""
    expr = shipped_alert("FlowtelTaskFailures")["expr"]
    deadline = time.monotonic() + 20
    while True:
        result = [r for r in prometheus.query(expr) if r["metric"].get("job") == sent.service]
        if len(result) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert {("stack_failure", "explode"): "1", ("stack_tolerated_flow", "flaky"): "1"} == {
        (r["metric"]["cicd_pipeline_name"], r["metric"]["cicd_pipeline_task_name"]): r["value"][1]
        for r in result
    }


def firing(prometheus: Prometheus, alertname: str, job: str, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        alerts = [
            alert
            for alert in get_json(f"{prometheus.url}/api/v1/alerts")["data"]["alerts"]
            if alert["labels"]["alertname"] == alertname
            and alert["labels"].get("job") == job
            and alert["state"] == "firing"
        ]
        if alerts or time.monotonic() > deadline:
            return alerts
        time.sleep(0.5)


def test_task_failure_alert_fires_in_prometheus(sent: Sent, prometheus: Prometheus):
    """Prometheus evaluates the shipped rules and fires FlowtelTaskFailures for the failed task."""
    alerts = firing(prometheus, "FlowtelTaskFailures", sent.service)
    explode = [a for a in alerts if a["labels"]["cicd_pipeline_task_name"] == "explode"]
    assert 1 == len(explode), alerts
    assert ("warning", "Task explode of flow stack_failure failed") == (
        explode[0]["labels"]["severity"],
        explode[0]["annotations"]["summary"],
    )


def test_flow_failure_ratio_alert_fires_for_the_failed_flow(sent: Sent, prometheus: Prometheus):
    """FlowtelFlowFailureRatio fires for the flow whose only run failed, and only for it."""
    alerts = firing(prometheus, "FlowtelFlowFailureRatio", sent.service)
    assert ["stack_failure"] == sorted(a["labels"]["cicd_pipeline_name"] for a in alerts)
    assert "100% of the runs of flow stack_failure" in alerts[0]["annotations"]["description"]
