"""Grafana provisioning: every data source uid it references is provisioned, and every PromQL query
of the dashboard and of the Grafana-managed alert rules returns data from the live Prometheus after
a `flowtel demo` run sent through the collector."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .servers import REPO, Collector, Prometheus, run_flowtel_demo

GRAFANA = REPO / "grafana"
DATASOURCES = GRAFANA / "provisioning" / "datasources"
DASHBOARDS = GRAFANA / "dashboards"
ALERTING = GRAFANA / "provisioning" / "alerting"
DEMO_SERVICE = "flowtel-stack-demo"

# Built-in pseudo data sources that need no provisioning.
BUILTIN_UIDS = {"-- Grafana --", "__expr__", "grafana"}


def load_yaml_files(directory: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted(directory.glob("*.yaml"))]


def provisioned_datasources() -> list[dict[str, Any]]:
    return [ds for document in load_yaml_files(DATASOURCES) for ds in document["datasources"]]


def dashboards() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, json.loads(path.read_text())) for path in sorted(DASHBOARDS.glob("*.json"))]


def alert_rules() -> list[dict[str, Any]]:
    return [
        rule
        for document in load_yaml_files(ALERTING)
        for group in document["groups"]
        for rule in group["rules"]
    ]


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair in a JSON/YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def referenced_uids(tree: Any) -> set[str]:
    uids = set()
    for key, value in walk(tree):
        if key == "datasource" and isinstance(value, dict) and "uid" in value:
            uids.add(value["uid"])
        elif key in ("datasourceUid", "datasourceUID") and isinstance(value, str):
            uids.add(value)
    return uids - BUILTIN_UIDS


# --- static: uids ----------------------------------------------------------------------------


def test_datasources_have_the_fixed_uids():
    """Prometheus, Tempo, Jaeger and Loki are provisioned with fixed uids, one each."""
    by_type = {ds["type"]: ds["uid"] for ds in provisioned_datasources()}
    assert {
        "prometheus": "prometheus",
        "tempo": "tempo",
        "jaeger": "jaeger",
        "loki": "loki",
    } == by_type


def test_every_datasource_uid_the_dashboards_reference_is_provisioned():
    """Each data source uid used by a dashboard panel, target or variable is provisioned."""
    provisioned = {ds["uid"] for ds in provisioned_datasources()}
    for name, dashboard in dashboards():
        assert set() == referenced_uids(dashboard) - provisioned, name


def test_every_datasource_uid_the_alert_rules_reference_is_provisioned():
    """Each data source uid used by a Grafana-managed alert rule is provisioned."""
    provisioned = {ds["uid"] for ds in provisioned_datasources()}
    rules = alert_rules()
    assert {"flowtel-task-failures", "flowtel-flow-failure-ratio"} == {r["uid"] for r in rules}
    assert set() == referenced_uids(rules) - provisioned


def test_trace_links_between_datasources_point_at_provisioned_uids():
    """Trace-to-logs, trace-to-metrics and log-to-trace links name provisioned data sources."""
    provisioned = {ds["uid"] for ds in provisioned_datasources()}
    links = {ds["uid"]: referenced_uids(ds.get("jsonData", {})) for ds in provisioned_datasources()}
    assert {
        "prometheus": {"tempo", "jaeger"},
        "tempo": {"loki", "prometheus"},
        "jaeger": {"loki", "prometheus"},
        "loki": {"tempo", "jaeger"},
    } == links
    assert set() == set().union(*links.values()) - provisioned


def test_grafana_alert_rules_link_to_the_failing_runs_as_the_prometheus_rules_do():
    """The Grafana twins carry the same Jaeger and Grafana/Tempo link annotations as the
    Prometheus rules (which promtool tests and tests/stack/test_alerting.py follow)."""
    prometheus_rules = [
        rule
        for path in sorted((REPO / "collector-config" / "prometheus" / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]
    links = ("jaeger_url", "grafana_url")
    assert [{k: r["annotations"][k] for k in links} for r in prometheus_rules] == [
        {k: r["annotations"][k] for k in links} for r in alert_rules()
    ]


def test_dashboard_has_the_promised_panels():
    """The dashboard shows runs by result, task failures, duration percentiles, active runs and
    a table of failed runs linking to traces."""
    [(_, dashboard)] = dashboards()
    titles = [panel["title"] for panel in dashboard["panels"] if panel["type"] != "row"]
    for wanted in (
        "Flow runs/s by result",
        "Task failures in range by task",
        "Flow run duration percentiles by flow",
        "Active flow runs",
        "Recent failed flow runs (Tempo)",
    ):
        assert wanted in titles
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_dashboard_provider_loads_the_directory_compose_mounts():
    """The dashboard provider reads the directory docker-compose.yml mounts grafana/dashboards at."""
    [provider] = load_yaml_files(GRAFANA / "provisioning" / "dashboards")[0]["providers"]
    grafana = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    assert provider["options"]["path"] == mounts["./grafana/dashboards"]


# --- live: every PromQL query returns data after `flowtel demo` ---------------------------------


TEMPLATE_VALUES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "10m",
    "${service}": DEMO_SERVICE,
    "$service": DEMO_SERVICE,
    "${flow}": ".*",
    "$flow": ".*",
}


def instantiate(promql: str) -> str:
    """A dashboard query with its template variables replaced as Grafana would."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_]+)\)\s*", promql)
    if match:
        promql = f"count by ({match.group(2)}) ({match.group(1)})"
    for variable in sorted(TEMPLATE_VALUES, key=len, reverse=True):
        promql = promql.replace(variable, TEMPLATE_VALUES[variable])
    assert "$" not in promql, promql
    return promql


def dashboard_queries() -> list[tuple[str, str]]:
    queries = []
    for name, dashboard in dashboards():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                if target.get("datasource", panel.get("datasource", {})).get("uid") == "prometheus":
                    queries.append(
                        (f"{name} panel {panel['id']} {target['refId']}", target["expr"])
                    )
        for variable in dashboard["templating"]["list"]:
            if variable.get("datasource", {}).get("uid") == "prometheus":
                queries.append((f"{name} variable {variable['name']}", variable["query"]["query"]))
    return queries


def alert_queries() -> list[tuple[str, str]]:
    return [
        (f"alert {rule['uid']} {data['refId']}", data["model"]["expr"])
        for rule in alert_rules()
        for data in rule["data"]
        if data["datasourceUid"] == "prometheus"
    ]


ALL_QUERIES = dashboard_queries() + alert_queries()


def test_the_dashboard_and_alerts_have_promql_queries():
    """The live test below covers at least 14 PromQL queries (12 panel targets, 2 alert rules)."""
    assert 14 <= len(ALL_QUERIES)
    assert 2 == len(alert_queries())


@pytest.fixture(scope="module")
def demo(collector: Collector, prometheus: Prometheus) -> Prometheus:
    """`flowtel demo` sent to the collector over OTLP gRPC, scraped by Prometheus for a few seconds."""
    run_flowtel_demo(collector, DEMO_SERVICE)
    for metric in (
        "flowtel_flow_runs_total",
        "flowtel_task_runs_total",
        "cicd_pipeline_run_duration_seconds_bucket",
        "flowtel_task_duration_seconds_bucket",
        "cicd_pipeline_run_active",
    ):
        assert [] != prometheus.wait_for(f'{metric}{{job="{DEMO_SERVICE}"}}'), metric
    time.sleep(3)  # a few more 1s scrapes, so rate() windows hold two samples
    return prometheus


@pytest.mark.parametrize(("where", "promql"), ALL_QUERIES, ids=[w for w, _ in ALL_QUERIES])
def test_promql_query_returns_data_after_the_demo(demo: Prometheus, where: str, promql: str):
    """The query, with its template variables filled in, returns at least one series."""
    result = demo.query(instantiate(promql))
    assert 0 < len(result), f"{where}: no data for {instantiate(promql)}"


def test_task_failure_alert_query_finds_the_demo_failures(demo: Prometheus):
    """The task-failure alert query returns the demo's two failed tasks with 1 failure each."""
    [(_, promql)] = [q for q in alert_queries() if "task-failures" in q[0]]
    result = [r for r in demo.query(promql) if r["metric"].get("job") == DEMO_SERVICE]
    assert {("process_orders", "notify_warehouse"): "1", ("nightly_sync", "load_config"): "1"} == {
        (r["metric"]["cicd_pipeline_name"], r["metric"]["cicd_pipeline_task_name"]): r["value"][1]
        for r in result
    }


def test_flow_failure_ratio_alert_query_gives_each_demo_flows_ratio(demo: Prometheus):
    """The failure-ratio alert query gives 1 for nightly_sync, whose only run failed; flows without
    failures have no ratio series (no data is OK for the rule)."""
    [(_, promql)] = [q for q in alert_queries() if "failure-ratio" in q[0]]
    result = [r for r in demo.query(promql) if r["metric"].get("job") == DEMO_SERVICE]
    assert {"nightly_sync": "1"} == {
        r["metric"]["cicd_pipeline_name"]: r["value"][1] for r in result
    }


def test_alert_thresholds_fire_only_for_failures(demo: Prometheus):
    """The task-failure rule fires above 0 failures, the failure-ratio rule above 25 %."""
    thresholds = {
        rule["uid"]: next(
            d["model"]["conditions"][0]["evaluator"]
            for d in rule["data"]
            if d["datasourceUid"] == "__expr__"
        )
        for rule in alert_rules()
    }
    assert {
        "flowtel-task-failures": {"type": "gt", "params": [0]},
        "flowtel-flow-failure-ratio": {"type": "gt", "params": [0.25]},
    } == thresholds
