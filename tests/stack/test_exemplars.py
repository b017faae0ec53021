"""Exemplars, from a metric to the trace: after `flowtel demo`, Prometheus holds exemplars on
flowtel's failure counters and duration histograms (SDK exemplars -> OTLP -> the collector's
prometheus exporter in OpenMetrics -> Prometheus' exemplar storage), and each exemplar's trace id
opens that run's trace in the real Jaeger. Grafana's Prometheus data source links the exemplar label
to Tempo and Jaeger, and the dashboard's panels show exemplars."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

import pytest
import yaml

from .servers import REPO, Collector, Jaeger, Prometheus, get_json, http_get, run_flowtel_demo

SERVICE = "flowtel-stack-exemplars"
GRAFANA = REPO / "grafana"

# The series the demo's failures and durations land in, and the label naming each exemplar's span.
SERIES = {
    "task failures": (
        f'flowtel_task_runs_total{{job="{SERVICE}", cicd_pipeline_task_run_result="failure"}}',
        "cicd_pipeline_task_name",
    ),
    "flow failures": (
        f'flowtel_flow_runs_total{{job="{SERVICE}", cicd_pipeline_result="failure"}}',
        "cicd_pipeline_name",
    ),
    "task durations": (
        f'flowtel_task_duration_seconds_bucket{{job="{SERVICE}"}}',
        "cicd_pipeline_task_name",
    ),
    "flow durations": (
        f'cicd_pipeline_run_duration_seconds_bucket{{job="{SERVICE}"}}',
        "cicd_pipeline_name",
    ),
}


def query_exemplars(prometheus: Prometheus, promql: str) -> list[dict[str, Any]]:
    now = time.time()
    url = f"{prometheus.url}/api/v1/query_exemplars?" + urllib.parse.urlencode(
        {"query": promql, "start": now - 600, "end": now + 60}
    )
    reply = get_json(url)
    assert "success" == reply["status"], reply
    return reply["data"]


@pytest.fixture(scope="module")
def demo(collector: Collector, prometheus: Prometheus) -> Prometheus:
    """`flowtel demo` sent to the collector over OTLP gRPC; waits until Prometheus has the
    exemplars of all four series."""
    run_flowtel_demo(collector, SERVICE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(query_exemplars(prometheus, promql) for promql, _ in SERIES.values()):
            break
        time.sleep(0.5)
    return prometheus


def exemplars_of(prometheus: Prometheus, what: str) -> list[tuple[dict, dict]]:
    """(series labels, exemplar) pairs for one of SERIES."""
    promql, _ = SERIES[what]
    return [
        (series["seriesLabels"], exemplar)
        for series in query_exemplars(prometheus, promql)
        for exemplar in series["exemplars"]
    ]


def test_failure_counters_have_exemplars_for_each_failed_task_and_flow(demo: Prometheus):
    """Every failing task and flow of the demo has a failure-counter exemplar with trace/span ids."""
    tasks = exemplars_of(demo, "task failures")
    flows = exemplars_of(demo, "flow failures")
    assert {("process_orders", "notify_warehouse"), ("nightly_sync", "load_config")} == {
        (labels["cicd_pipeline_name"], labels["cicd_pipeline_task_name"]) for labels, _ in tasks
    }
    assert {"nightly_sync"} == {labels["cicd_pipeline_name"] for labels, _ in flows}
    assert [] == [
        exemplar
        for _, exemplar in tasks + flows
        if {"trace_id", "span_id"} != set(exemplar["labels"])
    ]


def test_duration_histograms_have_exemplars_for_every_task_and_flow(demo: Prometheus):
    """Every demo task and flow has at least one exemplar on its duration histogram buckets."""
    tasks = {
        labels["cicd_pipeline_task_name"] for labels, _ in exemplars_of(demo, "task durations")
    }
    flows = {labels["cicd_pipeline_name"] for labels, _ in exemplars_of(demo, "flow durations")}
    assert {
        "fetch_orders", "price_order", "notify_warehouse", "write_report", "load_config"
    } == tasks  # fmt: skip
    assert {"process_orders", "publish_report", "nightly_sync"} == flows


def jaeger_trace(jaeger: Jaeger, trace_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        status, body = http_get(f"{jaeger.query_url}/api/traces/{trace_id}")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert 200 == status, body[:300]
    [trace] = json.loads(body)["data"]
    return trace


@pytest.mark.parametrize("what", sorted(SERIES))
def test_each_exemplar_opens_its_runs_trace_in_jaeger(demo: Prometheus, jaeger: Jaeger, what: str):
    """Each exemplar's trace id is a trace in Jaeger of the demo service, and its span id is the
    span of the task or flow the series names (with error=true on failure series)."""
    _, name_label = SERIES[what]
    pairs = exemplars_of(demo, what)
    assert 1 <= len(pairs)
    for labels, exemplar in pairs:
        trace = jaeger_trace(jaeger, exemplar["labels"]["trace_id"])
        spans = {span["spanID"]: span for span in trace["spans"]}
        span = spans[exemplar["labels"]["span_id"]]
        tags = {tag["key"]: tag["value"] for tag in span["tags"]}
        services = {process["serviceName"] for process in trace["processes"].values()}
        assert (labels[name_label], labels["cicd_pipeline_name"], {SERVICE}) == (
            span["operationName"],
            tags["cicd.pipeline.name"],
            services,
        )
        if "failures" in what:
            assert True is tags.get("error"), tags


# --- Grafana: exemplars shown on the panels and linked to the traces -------------------------------


def prometheus_datasource() -> dict[str, Any]:
    [document] = [
        yaml.safe_load(path.read_text())
        for path in sorted((GRAFANA / "provisioning" / "datasources").glob("*.yaml"))
    ]
    [datasource] = [ds for ds in document["datasources"] if ds["uid"] == "prometheus"]
    return datasource


def test_prometheus_datasource_links_the_exemplar_trace_id_to_tempo_and_jaeger(demo: Prometheus):
    """The exemplar label Grafana links (to Tempo and to Jaeger) is the label the exemplars carry."""
    destinations = prometheus_datasource()["jsonData"]["exemplarTraceIdDestinations"]
    assert {("trace_id", "tempo"), ("trace_id", "jaeger")} == {
        (d["name"], d["datasourceUid"]) for d in destinations
    }
    exemplar_labels = {key for _, e in exemplars_of(demo, "task failures") for key in e["labels"]}
    assert {d["name"] for d in destinations} <= exemplar_labels


EXEMPLAR_PANELS = {
    "Flow runs/s by result",
    "Flow run duration percentiles by flow",
    "Task failures/s by task",
    "Task duration p95 by task",
}


def test_dashboard_panels_on_failures_and_durations_show_exemplars():
    """The time-series panels of run rates, failures and durations query Prometheus with exemplars."""
    dashboard = json.loads((GRAFANA / "dashboards" / "flowtel-runs.json").read_text())
    with_exemplars = {
        panel["title"]
        for panel in dashboard["panels"]
        if panel["type"] == "timeseries"
        and panel["datasource"]["uid"] == "prometheus"
        and panel["targets"]
        and all(target.get("exemplar") is True for target in panel["targets"])
    }
    assert EXEMPLAR_PANELS == with_exemplars
