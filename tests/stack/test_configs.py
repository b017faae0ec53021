"""The shipped configs are accepted by the real tools: otelcol, jaeger, promtool, docker-compose."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from .servers import (
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
    """The compose services run the repository's collector, Jaeger, Tempo, Loki and Prometheus configs."""
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
