"""The shipped configs are accepted by the real tools: otelcol, jaeger, promtool, docker-compose."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from .servers import (
    ALERTMANAGER_CONFIG,
    COLLECTOR_CONFIG,
    JAEGER_CONFIG,
    OTELCOL_CONFIG,
    PROMETHEUS_DIR,
    REPO,
    collector_env,
    jaeger_binary,
    otelcol_binary,
    server_env,
    system_tool,
)


def run(argv: list, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def output(done: subprocess.CompletedProcess) -> str:
    return f"{done.args}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"


# --- OpenTelemetry Collector and Jaeger ---------------------------------------------------------


def test_otelcol_validates_the_shipped_config_with_compose_defaults():
    """`otelcol validate` accepts collector-config/otelcol.yaml with its docker-compose defaults."""
    done = run([otelcol_binary(), "validate", f"--config={OTELCOL_CONFIG}"], env=server_env())
    assert 0 == done.returncode, output(done)


def test_otelcol_validates_the_shipped_config_with_test_addresses():
    """`otelcol validate` accepts the shipped config with every address overridden by env."""
    env = collector_env("127.0.0.1:1", "127.0.0.1:2", "http://127.0.0.1:3")
    done = run([otelcol_binary(), "validate", f"--config={OTELCOL_CONFIG}"], env=env)
    assert 0 == done.returncode, output(done)


def config_component_types(config: dict) -> dict[str, set[str]]:
    kinds = ("receivers", "processors", "exporters", "connectors", "extensions")
    return {kind: {name.split("/")[0] for name in config.get(kind) or {}} for kind in kinds}


def test_collector_build_holds_exactly_the_components_the_config_uses():
    """The collector built by .ci/servers has exactly the component types otelcol.yaml names."""
    done = run([otelcol_binary(), "components"], env=server_env())
    assert 0 == done.returncode, output(done)
    listed = yaml.safe_load(done.stdout)
    built = {
        kind: {component["name"] for component in listed.get(kind) or []}
        for kind in ("receivers", "processors", "exporters", "connectors", "extensions")
    }
    used = config_component_types(yaml.safe_load(OTELCOL_CONFIG.read_text()))
    assert used == built


def test_every_address_in_the_collector_config_comes_from_env_with_a_default():
    """Every endpoint in otelcol.yaml is `${env:VAR:-default}`, so tests and compose share it."""
    text = OTELCOL_CONFIG.read_text()
    endpoints = re.findall(r"^\s*endpoint:\s*(\S+)\s*$", text, flags=re.MULTILINE)
    assert [] == [e for e in endpoints if not re.fullmatch(r"\$\{env:[A-Z0-9_]+:-[^}]+\}", e)]
    assert 7 == len(endpoints)


def test_jaeger_validates_the_shipped_config():
    """`jaeger validate` accepts collector-config/jaeger.yaml (in-memory storage, OTLP in)."""
    done = run([jaeger_binary(), "validate", f"--config={JAEGER_CONFIG}"], env=server_env())
    assert 0 == done.returncode, output(done)


# --- Prometheus ------------------------------------------------------------------------------


def test_promtool_checks_the_prometheus_config():
    """`promtool check config` accepts collector-config/prometheus/prometheus.yml and its rules."""
    done = run([system_tool("promtool"), "check", "config", PROMETHEUS_DIR / "prometheus.yml"])
    assert 0 == done.returncode, output(done)
    assert "SUCCESS: 1 rule files found" in done.stdout + done.stderr, output(done)


def test_promtool_checks_the_alert_rules():
    """`promtool check rules` accepts the alert rules: task failures and flow failure ratio."""
    rules = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
    done = run([system_tool("promtool"), "check", "rules", *rules])
    assert 0 == done.returncode, output(done)
    alerts = [
        rule["alert"]
        for path in rules
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]
    assert ["FlowtelTaskFailures", "FlowtelFlowFailureRatio"] == alerts


def test_promtool_runs_the_rule_unit_tests():
    """`promtool test rules` passes the rule unit tests in collector-config/prometheus/tests/."""
    tests = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
    assert 1 <= len(tests)
    done = run([system_tool("promtool"), "test", "rules", *tests], cwd=PROMETHEUS_DIR / "tests")
    assert 0 == done.returncode, output(done)
    assert "SUCCESS" in done.stdout, output(done)


# --- Alertmanager --------------------------------------------------------------------------


def test_amtool_checks_the_shipped_alertmanager_config():
    """`amtool check-config` accepts collector-config/alertmanager/alertmanager.yml."""
    done = run([system_tool("amtool"), "check-config", ALERTMANAGER_CONFIG])
    assert 0 == done.returncode, output(done)
    assert "SUCCESS" in done.stdout, output(done)


def test_amtool_checks_the_commented_receiver_examples(tmp_path: Path):
    """The commented Slack, e-mail and PagerDuty examples, uncommented, are a valid config too."""
    text = re.sub(r"^( +)# ?(.*)$", r"\1\2", ALERTMANAGER_CONFIG.read_text(), flags=re.MULTILINE)
    path = tmp_path / "alertmanager-examples.yml"
    path.write_text(text)
    done = run([system_tool("amtool"), "check-config", path])
    assert 0 == done.returncode, output(done)
    receivers = {r["name"] for r in yaml.safe_load(text)["receivers"]}
    assert {"flowtel-webhook", "flowtel-slack", "flowtel-email", "flowtel-pagerduty"} == receivers


def test_alertmanager_groups_by_flow_and_task_and_inhibits_task_pages():
    """Alerts are grouped per service, flow and task; the flow-ratio alert mutes its flow's task alerts."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    route = config["route"]
    assert ["alertname", "job", "cicd_pipeline_name", "cicd_pipeline_task_name"] == route[
        "group_by"
    ]
    assert [
        {
            "source_matchers": ['alertname="FlowtelFlowFailureRatio"'],
            "target_matchers": ['alertname="FlowtelTaskFailures"'],
            "equal": ["job", "cicd_pipeline_name"],
        }
    ] == config["inhibit_rules"]
    [webhook] = next(r for r in config["receivers"] if r["name"] == route["receiver"])[
        "webhook_configs"
    ]
    assert True is webhook["send_resolved"]


def test_prometheus_sends_alerts_to_the_compose_alertmanager():
    """prometheus.yml names the compose service alertmanager:9093 as its Alertmanager."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    targets = [
        target
        for alertmanager in config["alerting"]["alertmanagers"]
        for static in alertmanager["static_configs"]
        for target in static["targets"]
    ]
    assert ["alertmanager:9093"] == targets
    assert "9093" in str(compose_services()["alertmanager"]["ports"])


def test_alert_rules_never_label_alerts_with_run_ids():
    """No alert rule label or grouping uses a run id: one alert per flow/task, not per run."""
    rules = [
        rule
        for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]
    assert 2 == len(rules)
    assert [] == [r["alert"] for r in rules if "run_id" in r["expr"] + str(r.get("labels"))]
    assert ["severity"] == sorted({key for r in rules for key in r["labels"]})


# --- docker-compose -------------------------------------------------------------------------


COMPOSE_FILE = REPO / "docker-compose.yml"


def test_docker_compose_accepts_the_compose_file():
    """`docker-compose -f docker-compose.yml config` accepts the stack's compose file."""
    done = run([system_tool("docker-compose"), "-f", COMPOSE_FILE, "config", "--quiet"])
    assert 0 == done.returncode, output(done)


def compose_services() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def test_every_file_mounted_by_docker_compose_exists():
    """Every host path docker-compose.yml mounts exists in the repository."""
    sources = [
        volume.split(":")[0]
        for service in compose_services().values()
        for volume in service.get("volumes", [])
    ]
    assert 10 <= len(sources)
    assert [] == [s for s in sources if not (COMPOSE_FILE.parent / s).exists()]


def test_every_compose_image_is_pinned():
    """Each service image has an explicit tag that is not `latest`."""
    images = {name: service["image"] for name, service in compose_services().items()}
    assert {
        "otel-collector",
        "jaeger",
        "tempo",
        "loki",
        "prometheus",
        "alertmanager",
        "grafana",
        "dask-scheduler",
        "dask-worker-1",
        "dask-worker-2",
    } == set(images)
    unpinned = {
        name: image
        for name, image in images.items()
        if ":" not in image or image.rsplit(":", 1)[1] in ("", "latest")
    }
    assert {} == unpinned


def test_compose_runs_the_shipped_configs():
    """The compose services run the repository's collector, Jaeger, Tempo, Loki, Prometheus and
    Alertmanager configs."""
    mounted = {
        (COMPOSE_FILE.parent / volume.split(":")[0]).resolve()
        for service in compose_services().values()
        for volume in service.get("volumes", [])
    }
    shipped = {
        OTELCOL_CONFIG,
        JAEGER_CONFIG,
        COLLECTOR_CONFIG / "tempo.yaml",
        COLLECTOR_CONFIG / "loki.yaml",
        PROMETHEUS_DIR / "prometheus.yml",
        PROMETHEUS_DIR / "rules",
        ALERTMANAGER_CONFIG,
        REPO / "grafana" / "dashboards",
        REPO / "grafana" / "provisioning" / "datasources",
        REPO / "grafana" / "provisioning" / "alerting",
    }
    assert set() == {Path(p) for p in shipped} - mounted


def test_dask_cluster_is_an_opt_in_profile_whose_workers_export_to_the_collector():
    """The Dask scheduler and two workers run only with --profile dask; workers send OTLP to the collector."""
    services = compose_services()
    profiles = {name: service.get("profiles", []) for name, service in services.items()}
    dask = {name for name in services if name.startswith("dask-")}
    assert {"dask-scheduler", "dask-worker-1", "dask-worker-2"} == dask
    assert {name: ["dask"] for name in dask} == {name: profiles[name] for name in dask}
    assert {} == {name: p for name, p in profiles.items() if name not in dask and p}
    for worker in ("dask-worker-1", "dask-worker-2"):
        environment = services[worker]["environment"]
        assert "http://otel-collector:4317" == environment["OTEL_EXPORTER_OTLP_ENDPOINT"]
        assert "tcp://dask-scheduler:8786" in services[worker]["command"]
        assert "otel-collector" in services[worker]["depends_on"]
    # docker-compose 1.29 lists profiled services under `config --services` too; the profile
    # (checked above) is what keeps them out of a plain `up`. With the profile the file is valid:
    with_dask = run(
        [system_tool("docker-compose"), "-f", COMPOSE_FILE, "--profile", "dask", "config", "-q"]
    )
    assert 0 == with_dask.returncode, output(with_dask)


def test_grafana_allows_anonymous_viewers():
    """Grafana in docker-compose.yml lets anonymous users in as viewers."""
    environment = compose_services()["grafana"]["environment"]
    assert ("true", "Viewer") == (
        environment["GF_AUTH_ANONYMOUS_ENABLED"],
        environment["GF_AUTH_ANONYMOUS_ORG_ROLE"],
    )
