"""Alert delivery end to end: a failing task, exported by flowtel through the real collector, is
scraped by Prometheus, whose shipped rules fire; Alertmanager (shipped config) posts the alert to a
webhook receiver written here; the alert's Jaeger link finds the failing trace in the real Jaeger;
when the failures stop, the webhook receives the resolution.

Test-time settings, in the configs this module generates (the shipped files keep production values):
the rules' 15m window is 20s (so the alert resolves within the test), Prometheus evaluates every 1s,
Alertmanager waits 2s before a group's first notification and 1s between its updates.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from .servers import (
    ALERTMANAGER_CONFIG,
    PROMETHEUS_DIR,
    Alertmanager,
    Collector,
    Jaeger,
    Prometheus,
    get_json,
    prometheus_test_config,
    running_alertmanager,
    running_prometheus,
    system_tool,
)

SERVICE = "flowtel-stack-alerting"
SHIPPED_WINDOW = "15m"
TEST_WINDOW = "20s"
TEST_TIMERS = {"group_wait": "2s", "group_interval": "1s", "repeat_interval": "1h"}
SHIPPED_JAEGER = "http://localhost:16686"
FIRING_WITHIN = 30.0  # seconds from the flows' end to the firing notification
RESOLVED_WITHIN = 60.0  # seconds from the flows' end to the resolved notification


# --- a webhook receiver --------------------------------------------------------------------------


class Webhook:
    """An HTTP server on 127.0.0.1 recording each notification Alertmanager posts to it."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with webhook.changed:
                    webhook.notifications.append(json.loads(body))
                    webhook.changed.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/flowtel"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def received(self) -> list[dict[str, Any]]:
        with self.changed:
            return list(self.notifications)

    def wait_for(
        self, matches: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any] | None:
        """The first notification that ``matches``, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = next((n for n in self.notifications if matches(n)), None)
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self.changed.wait(remaining)


def notification_for(
    status: str, alertname: str, **labels: str
) -> Callable[[dict[str, Any]], bool]:
    """Matches a notification with this status holding an alert with these labels."""

    def matches(notification: dict[str, Any]) -> bool:
        return notification["status"] == status and any(
            alert["labels"]["alertname"] == alertname
            and alert["status"] == status
            and labels.items() <= alert["labels"].items()
            for alert in notification["alerts"]
        )

    return matches


def alert_in(notification: dict[str, Any], **labels: str) -> dict[str, Any]:
    [alert] = [a for a in notification["alerts"] if labels.items() <= a["labels"].items()]
    return alert


# --- test-time configs ---------------------------------------------------------------------------


def rules_for_tests(directory: Path, jaeger_url: str) -> Path:
    """The shipped rules with the 20s window and the links pointing at the test's Jaeger."""
    [shipped] = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
    document = yaml.safe_load(shipped.read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert [1, 2] == [rule["expr"].count(f"offset {SHIPPED_WINDOW}") for rule in rules]
    assert [1, 1] == [rule["annotations"]["jaeger_url"].count(SHIPPED_JAEGER) for rule in rules]
    for rule in rules:
        rule["expr"] = rule["expr"].replace(f"offset {SHIPPED_WINDOW}", f"offset {TEST_WINDOW}")
        annotations = rule["annotations"]
        annotations["jaeger_url"] = annotations["jaeger_url"].replace(SHIPPED_JAEGER, jaeger_url)
    path = directory / "flowtel-alerts-test.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def alertmanager_config_for_tests(directory: Path, webhook_url: str) -> Path:
    """The shipped Alertmanager config with 1-2s timers, posting to the test's webhook."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config["route"].update(TEST_TIMERS)
    [receiver] = config["receivers"]
    [webhook] = receiver["webhook_configs"]
    webhook["url"] = webhook_url
    path = directory / "alertmanager-test.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# --- the stack -----------------------------------------------------------------------------------


@dataclass
class AlertStack:
    webhook: Webhook
    alertmanager: Alertmanager
    prometheus: Prometheus
    jaeger: Jaeger
    reports: dict[str, dict[str, Any]]
    flows_done: float  # time.monotonic() when the flows had been exported


@pytest.fixture(scope="module")
def alert_stack(
    collector: Collector, jaeger: Jaeger, run_flows: Callable[..., dict], stack_logs: Path
) -> Iterator[AlertStack]:
    """Webhook, Alertmanager and an alerting Prometheus; then a flow with a tolerated failing task
    (flaky) and a failing flow (stack_failure, task explode) of one service."""
    directory = stack_logs / "alerting"
    directory.mkdir()
    rules = rules_for_tests(directory, jaeger.query_url)
    with Webhook() as webhook:
        am_config = alertmanager_config_for_tests(directory, webhook.url)
        with running_alertmanager(am_config, directory) as alertmanager:
            prometheus_config = prometheus_test_config(
                collector,
                directory,
                name="prometheus-alerting.yml",
                rule_files=[rules],
                alertmanager=alertmanager.target,
                keep_job=SERVICE,
            )
            with running_prometheus(
                prometheus_config, directory, "prometheus-alerting"
            ) as prometheus:
                reports = run_flows(SERVICE, "grpc", "tolerated", "failure")
                yield AlertStack(
                    webhook, alertmanager, prometheus, jaeger, reports, time.monotonic()
                )


def remaining(stack: AlertStack, within: float) -> float:
    return max(0.0, stack.flows_done + within - time.monotonic())


@pytest.fixture(scope="module")
def task_page(alert_stack: AlertStack) -> dict[str, Any]:
    """The firing FlowtelTaskFailures alert for flaky, as the webhook received it."""
    labels = {"job": SERVICE, "cicd_pipeline_name": "stack_tolerated_flow"}
    notification = alert_stack.webhook.wait_for(
        notification_for("firing", "FlowtelTaskFailures", **labels),
        remaining(alert_stack, FIRING_WITHIN),
    )
    assert notification is not None, (
        f"no firing FlowtelTaskFailures within {FIRING_WITHIN}s; received "
        f"{alert_stack.webhook.received()}\n{alert_stack.alertmanager.server.tail()}"
    )
    return alert_in(notification, alertname="FlowtelTaskFailures", **labels)


# --- tests -----------------------------------------------------------------------------------------


def test_the_webhook_receives_the_firing_task_alert_naming_flow_and_task(task_page):
    """The page names service, flow and task in its labels (no run id) and says what failed."""
    assert {
        "alertname": "FlowtelTaskFailures",
        "job": SERVICE,
        "cicd_pipeline_name": "stack_tolerated_flow",
        "cicd_pipeline_task_name": "flaky",
        "severity": "warning",
    } == task_page["labels"]
    assert ["description", "grafana_url", "jaeger_url", "summary"] == sorted(
        task_page["annotations"]
    )
    assert "Task flaky of flow stack_tolerated_flow failed" == task_page["annotations"]["summary"]


def jaeger_api_query(jaeger: Jaeger, link: str) -> str:
    """The Jaeger UI search link as the query API call the UI makes for it."""
    parsed = urllib.parse.urlsplit(link)
    assert (jaeger.query_url, "/search") == (f"{parsed.scheme}://{parsed.netloc}", parsed.path)
    return f"{jaeger.query_url}/api/traces?{parsed.query}"


def jaeger_search(jaeger: Jaeger, link: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The traces the Jaeger link finds, waiting up to ``timeout`` for the first."""
    deadline = time.monotonic() + timeout
    while True:
        traces = get_json(jaeger_api_query(jaeger, link))["data"] or []
        if traces or time.monotonic() > deadline:
            return traces
        time.sleep(0.5)


def test_the_jaeger_link_finds_the_failing_trace(alert_stack: AlertStack, task_page):
    """The page's Jaeger search (service, flow, task, failed result) returns the failing run's
    trace, whose task span is an error span."""
    link = task_page["annotations"]["jaeger_url"]
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert {
        "cicd.pipeline.name": "stack_tolerated_flow",
        "cicd.pipeline.task.name": "flaky",
        "cicd.pipeline.task.run.result": "failure",
    } == json.loads(params["tags"][0])
    assert [SERVICE] == params["service"]
    run_id = alert_stack.reports["tolerated"]["flow_id"]
    traces = jaeger_search(alert_stack.jaeger, link)
    assert 1 == len(traces), traces
    spans = {span["operationName"]: span for span in traces[0]["spans"]}
    flow_tags = {tag["key"]: tag["value"] for tag in spans["stack_tolerated_flow"]["tags"]}
    flaky_tags = {tag["key"]: tag["value"] for tag in spans["flaky"]["tags"]}
    assert (run_id, run_id, True) == (
        flow_tags["cicd.pipeline.run.id"],
        flaky_tags["cicd.pipeline.run.id"],
        flaky_tags["error"],
    )


def test_the_grafana_link_opens_the_same_query_on_tempo(task_page):
    """The page's Grafana link opens Explore on the Tempo data source with the same search."""
    link = urllib.parse.urlsplit(task_page["annotations"]["grafana_url"])
    assert ("localhost:3000", "/explore") == (link.netloc, link.path)
    [panes] = urllib.parse.parse_qs(link.query)["panes"]
    [pane] = json.loads(panes).values()
    [query] = pane["queries"]
    assert ("tempo", "tempo", "traceql") == (
        pane["datasource"],
        query["datasource"]["uid"],
        query["queryType"],
    )
    assert (
        f'{{resource.service.name="{SERVICE}" && span.cicd.pipeline.name="stack_tolerated_flow"'
        ' && span.cicd.pipeline.task.name="flaky" && status=error}'
    ) == query["query"]


def alertmanager_alerts(stack: AlertStack, **labels: str) -> list[dict[str, Any]]:
    filters = [("filter", f'{key}="{value}"') for key, value in labels.items()]
    url = f"{stack.alertmanager.url}/api/v2/alerts?" + urllib.parse.urlencode(filters)
    return get_json(url)


def test_the_flow_failure_alert_pages_and_mutes_its_task_alert(alert_stack: AlertStack):
    """stack_failure pages once, as FlowtelFlowFailureRatio; its explode task alert is inhibited."""
    labels = {"job": SERVICE, "cicd_pipeline_name": "stack_failure"}
    notification = alert_stack.webhook.wait_for(
        notification_for("firing", "FlowtelFlowFailureRatio", **labels),
        remaining(alert_stack, FIRING_WITHIN),
    )
    assert notification is not None, alert_stack.webhook.received()
    ratio = alert_in(notification, alertname="FlowtelFlowFailureRatio", **labels)
    assert "Flow stack_failure fails often" == ratio["annotations"]["summary"]
    traces = jaeger_search(alert_stack.jaeger, ratio["annotations"]["jaeger_url"])
    assert [alert_stack.reports["failure"]["flow_id"]] == [
        tag["value"]
        for trace in traces
        for span in trace["spans"]
        if span["operationName"] == "stack_failure"
        for tag in span["tags"]
        if tag["key"] == "cicd.pipeline.run.id"
    ]
    [explode] = alertmanager_alerts(alert_stack, alertname="FlowtelTaskFailures", **labels)
    assert ("explode", "suppressed", 1) == (
        explode["labels"]["cicd_pipeline_task_name"],
        explode["status"]["state"],
        len(explode["status"]["inhibitedBy"]),
    )


def test_amtool_silences_an_alert(alert_stack: AlertStack):
    """`amtool silence add` with the runbook's matchers silences the flow's alert in Alertmanager."""
    labels = {"alertname": "FlowtelFlowFailureRatio", "job": SERVICE}
    done = subprocess.run(
        [
            str(system_tool("amtool")),
            f"--alertmanager.url={alert_stack.alertmanager.url}",
            "silence",
            "add",
            *(f"{key}={value}" for key, value in labels.items()),
            "cicd_pipeline_name=stack_failure",
            "--duration=1h",
            "--author=flowtel tests",
            "--comment=known outage",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert 0 == done.returncode, done.stdout + done.stderr
    silence_id = done.stdout.strip()
    silences = get_json(f"{alert_stack.alertmanager.url}/api/v2/silence/{silence_id}")
    assert ("active", "known outage") == (silences["status"]["state"], silences["comment"])
    deadline = time.monotonic() + 10
    while True:
        alerts = alertmanager_alerts(alert_stack, **labels, cicd_pipeline_name="stack_failure")
        silenced = [a for a in alerts if a["status"]["silencedBy"] == [silence_id]]
        if silenced or not alerts or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert 1 == len(silenced), alerts


def test_the_webhook_receives_the_resolution_when_the_failures_stop(alert_stack: AlertStack):
    """Once the failure leaves the (test-time 20s) window, the webhook receives the resolved alert."""
    labels = {"job": SERVICE, "cicd_pipeline_name": "stack_tolerated_flow"}
    resolved = alert_stack.webhook.wait_for(
        notification_for("resolved", "FlowtelTaskFailures", **labels),
        remaining(alert_stack, RESOLVED_WITHIN),
    )
    assert resolved is not None, alert_stack.webhook.received()
    alert = alert_in(resolved, alertname="FlowtelTaskFailures", **labels)
    assert ("resolved", "flaky") == (alert["status"], alert["labels"]["cicd_pipeline_task_name"])
    received = alert_stack.webhook.received()
    firing = notification_for("firing", "FlowtelTaskFailures", **labels)
    first_firing = next(i for i, n in enumerate(received) if firing(n))
    assert first_firing < received.index(resolved)


def test_the_inhibited_task_alert_never_paged(alert_stack: AlertStack):
    """No notification the webhook received held the inhibited explode task alert."""
    pages = [
        alert["labels"].get("cicd_pipeline_task_name")
        for notification in alert_stack.webhook.received()
        for alert in notification["alerts"]
    ]
    assert "flaky" in pages
    assert "explode" not in pages
