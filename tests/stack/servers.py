"""Real telemetry servers for the stack tests, run as local processes on free 127.0.0.1 ports.

The fixtures are registered in conftest.py.

- ``collector``: the OpenTelemetry Collector built by ``.ci/servers/install.sh``, running the shipped
  ``collector-config/otelcol.yaml`` with its ``${env:...}`` addresses pointed at the servers below;
- ``jaeger``: Jaeger v2 with in-memory storage, running the shipped ``collector-config/jaeger.yaml``;
- ``sink``: a second collector standing in for Tempo and Loki (``tests/stack/sink-collector.yaml``);
- ``prometheus``: Prometheus (Debian package) scraping the collector with the shipped
  ``collector-config/prometheus/prometheus.yml`` and rules, intervals shortened to 1s, exemplar
  storage on (test_alerting.py runs a second one that sends alerts to Alertmanager).

Servers start once per session, are waited on until ready, and are stopped by pid at teardown (also
when a test or a start-up fails). A missing binary skips the tests locally, with the command that
installs it; under CI (``CI=true``) it fails them.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
STACK_TESTS = Path(__file__).resolve().parent
COLLECTOR_CONFIG = REPO / "collector-config"
OTELCOL_CONFIG = COLLECTOR_CONFIG / "otelcol.yaml"
JAEGER_CONFIG = COLLECTOR_CONFIG / "jaeger.yaml"
PROMETHEUS_DIR = COLLECTOR_CONFIG / "prometheus"
ALERTMANAGER_CONFIG = COLLECTOR_CONFIG / "alertmanager" / "alertmanager.yml"
SINK_CONFIG = STACK_TESTS / "sink-collector.yaml"
FLOW_SCENARIOS = STACK_TESTS / "flow_scenarios.py"
SERVERS = REPO / ".ci" / "servers"
INSTALL_HINT = "run: bash .ci/servers/install.sh"

READY_TIMEOUT = 60.0


# --- locating binaries -------------------------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def missing(what: str) -> None:
    """Skip (locally) or fail (CI=true) because a server binary is not installed."""
    message = f"{what} is not installed; {INSTALL_HINT}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: stack tests must not skip)", pytrace=False)
    pytest.skip(message)


def cache_dir() -> Path:
    return Path(os.environ.get("FLOWTEL_CACHE") or Path.home() / ".cache" / "flowtel")


def module_key(module_dir: Path, pinned_module: str) -> str:
    """``<version>-<hash>`` of a wrapper module, the same key install.sh puts in binary names."""
    version = ""
    for line in (module_dir / "go.mod").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == pinned_module:
            version = parts[1]
            break
    digest = hashlib.sha256()
    for name in ["go.mod", "go.sum", *sorted(p.name for p in module_dir.glob("*.go"))]:
        digest.update((module_dir / name).read_bytes())
    return f"{version}-{digest.hexdigest()[:12]}"


def _executable(env_var: str, default: Path, what: str) -> Path:
    path = Path(os.environ.get(env_var) or default)
    if not (path.is_file() and os.access(path, os.X_OK)):
        missing(f"{what} ({path}; or set {env_var})")
    return path


def otelcol_binary() -> Path:
    key = module_key(SERVERS / "otelcol", "go.opentelemetry.io/collector/otelcol")
    default = cache_dir() / "bin" / f"otelcol-flowtel-{key}"
    return _executable("FLOWTEL_OTELCOL_BIN", default, "the OpenTelemetry Collector build")


def jaeger_binary() -> Path:
    key = module_key(SERVERS / "jaeger", "github.com/jaegertracing/jaeger")
    default = cache_dir() / "bin" / f"jaeger-{key}"
    return _executable("FLOWTEL_JAEGER_BIN", default, "the Jaeger v2 build")


def system_tool(name: str) -> Path:
    found = shutil.which(name)
    if not found:
        missing(f"{name} (Debian package)")
    return Path(found)


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get_json(url: str, timeout: float = 5.0) -> Any:
    status, body = http_get(url, timeout)
    assert 200 == status, f"GET {url}: {status} {body[:500]!r}"
    return json.loads(body)


_RUNNING: list[Server] = []


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when pytest dies, even by SIGKILL (Linux prctl)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Server:
    """One server process, its output in a log file; stopped by pid."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    proc: subprocess.Popen | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.log_dir / f"{self.name}.log"

    def start(self) -> Server:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        _RUNNING.append(self)
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_until(
        self, ready: Callable[[], bool], what: str, timeout: float = READY_TIMEOUT
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before {what}; "
                    f"log {self.log_path}:\n{self.tail()}"
                )
            with contextlib.suppress(OSError, ValueError):
                if ready():
                    return
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name}: no {what} after {timeout}s; log {self.log_path}:\n{self.tail()}"
        )

    def wait_http_ok(self, url: str, timeout: float = READY_TIMEOUT) -> None:
        self.wait_until(lambda: http_get(url, timeout=2)[0] == 200, f"200 from {url}", timeout)

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        if self in _RUNNING:
            _RUNNING.remove(self)


@atexit.register
def _stop_leftovers() -> None:
    """Safety net: servers still running when the interpreter exits are stopped by pid."""
    for server in list(_RUNNING):
        server.stop()


def server_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "OTELCOL_", "JAEGER_", "TEMPO_", "LOKI_", "SINK_"))
    }
    # No server's own telemetry goes to a default endpoint such as localhost:4317.
    env["OTEL_TRACES_EXPORTER"] = "none"
    env.update(extra)
    return env


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- the servers -----------------------------------------------------------------------------


@dataclass
class Jaeger:
    server: Server
    otlp_grpc: str  # host:port
    query_url: str  # http://host:port
    otlp_http: str = ""  # host:port


@dataclass
class Sink:
    server: Server
    tempo_grpc: str
    loki_http: str


@dataclass
class Collector:
    server: Server
    grpc_endpoint: str  # http://127.0.0.1:port, for OTEL_EXPORTER_OTLP_ENDPOINT with grpc
    http_endpoint: str  # http://127.0.0.1:port, for http/protobuf
    exporter_url: str  # the prometheus exporter's scrape URL
    exporter_target: str
    telemetry_target: str
    env: dict[str, str]


@dataclass
class Prometheus:
    server: Server
    url: str
    config_path: Path

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        reply = get_json(url)
        assert "success" == reply["status"], reply
        return reply["data"]["result"]

    def wait_for(self, promql: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The first non-empty result of an instant query, polled until ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.5)


@pytest.fixture(scope="session")
def stack_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack-servers")


@pytest.fixture(scope="session")
def jaeger(stack_logs: Path) -> Iterator[Jaeger]:
    binary = jaeger_binary()
    ports = {name: free_port() for name in ("grpc", "http", "query", "query_grpc", "health")}
    env = server_env(
        JAEGER_OTLP_GRPC_LISTEN=f"127.0.0.1:{ports['grpc']}",
        JAEGER_OTLP_HTTP_LISTEN=f"127.0.0.1:{ports['http']}",
        JAEGER_QUERY_HTTP_LISTEN=f"127.0.0.1:{ports['query']}",
        JAEGER_QUERY_GRPC_LISTEN=f"127.0.0.1:{ports['query_grpc']}",
        JAEGER_HEALTH_LISTEN=f"127.0.0.1:{ports['health']}",
        JAEGER_LOG_LEVEL="warn",
    )
    server = Server("jaeger", [str(binary), f"--config={JAEGER_CONFIG}"], env, stack_logs)
    with running(server):
        query_url = f"http://127.0.0.1:{ports['query']}"
        server.wait_http_ok(f"{query_url}/api/services")
        server.wait_http_ok(f"http://127.0.0.1:{ports['health']}/status")
        yield Jaeger(server, f"127.0.0.1:{ports['grpc']}", query_url, f"127.0.0.1:{ports['http']}")


@pytest.fixture(scope="session")
def sink(stack_logs: Path) -> Iterator[Sink]:
    binary = otelcol_binary()
    grpc, http = free_port(), free_port()
    env = server_env(
        SINK_TEMPO_GRPC_ENDPOINT=f"127.0.0.1:{grpc}",
        SINK_LOKI_HTTP_ENDPOINT=f"127.0.0.1:{http}",
    )
    server = Server("sink-collector", [str(binary), f"--config={SINK_CONFIG}"], env, stack_logs)
    with running(server):
        server.wait_until(
            lambda: "Everything is ready" in server.output(), "'Everything is ready' in its log"
        )
        yield Sink(server, f"127.0.0.1:{grpc}", f"http://127.0.0.1:{http}")


def collector_env(jaeger_grpc: str, tempo_grpc: str, loki_http: str) -> dict[str, str]:
    """The env that points the shipped collector config at free local ports."""
    ports = {name: free_port() for name in ("grpc", "http", "prom", "telemetry", "health")}
    return server_env(
        OTELCOL_OTLP_GRPC_ENDPOINT=f"127.0.0.1:{ports['grpc']}",
        OTELCOL_OTLP_HTTP_ENDPOINT=f"127.0.0.1:{ports['http']}",
        OTELCOL_PROMETHEUS_ENDPOINT=f"127.0.0.1:{ports['prom']}",
        OTELCOL_HEALTH_ENDPOINT=f"127.0.0.1:{ports['health']}",
        OTELCOL_TELEMETRY_HOST="127.0.0.1",
        OTELCOL_TELEMETRY_PORT=str(ports["telemetry"]),
        OTELCOL_BATCH_TIMEOUT="200ms",
        OTELCOL_SPANMETRICS_FLUSH_INTERVAL="1s",
        JAEGER_OTLP_GRPC_ENDPOINT=jaeger_grpc,
        TEMPO_OTLP_GRPC_ENDPOINT=tempo_grpc,
        LOKI_OTLP_ENDPOINT=f"{loki_http}/otlp",
    )


@pytest.fixture(scope="session")
def collector(jaeger: Jaeger, sink: Sink, stack_logs: Path) -> Iterator[Collector]:
    binary = otelcol_binary()
    env = collector_env(jaeger.otlp_grpc, sink.tempo_grpc, sink.loki_http)
    server = Server("otelcol", [str(binary), f"--config={OTELCOL_CONFIG}"], env, stack_logs)
    with running(server):
        server.wait_http_ok(f"http://{env['OTELCOL_HEALTH_ENDPOINT']}/")
        yield Collector(
            server=server,
            grpc_endpoint=f"http://{env['OTELCOL_OTLP_GRPC_ENDPOINT']}",
            http_endpoint=f"http://{env['OTELCOL_OTLP_HTTP_ENDPOINT']}",
            exporter_url=f"http://{env['OTELCOL_PROMETHEUS_ENDPOINT']}/metrics",
            exporter_target=env["OTELCOL_PROMETHEUS_ENDPOINT"],
            telemetry_target=f"127.0.0.1:{env['OTELCOL_TELEMETRY_PORT']}",
            env=env,
        )


def prometheus_test_config(
    collector: Collector,
    directory: Path,
    *,
    name: str = "prometheus-test.yml",
    rule_files: list[Path] | None = None,
    alertmanager: str | None = None,
    keep_job: str | None = None,
) -> Path:
    """The shipped prometheus.yml with 1s intervals, local targets and absolute rule paths.

    ``rule_files`` replaces the shipped rules; ``alertmanager`` (host:port) is where alerts go
    (without it the config sends none); ``keep_job`` keeps only that service's flowtel series.
    """
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    if rule_files is None:
        config["rule_files"] = [str(PROMETHEUS_DIR / pattern) for pattern in config["rule_files"]]
    else:
        config["rule_files"] = [str(path) for path in rule_files]
    if alertmanager is None:
        del config["alerting"]
    else:
        config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
    targets = {"flowtel": collector.exporter_target, "otel-collector": collector.telemetry_target}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
        if keep_job is not None and job["job_name"] == "flowtel":
            job["metric_relabel_configs"] = [
                {"source_labels": ["job"], "regex": re.escape(keep_job), "action": "keep"}
            ]
    path = directory / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextlib.contextmanager
def running_prometheus(config: Path, directory: Path, name: str) -> Iterator[Prometheus]:
    """A Prometheus (exemplar storage on) with this config, data under ``directory / name``."""
    binary = system_tool("prometheus")
    port = free_port()
    argv = [
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={directory / (name + '-data')}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1h",
        "--enable-feature=exemplar-storage",
        "--log.level=warn",
    ]
    server = Server(name, argv, server_env(), directory)
    with running(server):
        url = f"http://127.0.0.1:{port}"
        server.wait_http_ok(f"{url}/-/ready")
        yield Prometheus(server, url, config)


@pytest.fixture(scope="session")
def prometheus(collector: Collector, stack_logs: Path) -> Iterator[Prometheus]:
    config = prometheus_test_config(collector, stack_logs)
    with running_prometheus(config, stack_logs, "prometheus") as server:
        yield server


@dataclass
class Alertmanager:
    server: Server
    url: str  # http://host:port
    target: str  # host:port, for Prometheus' alerting config


@contextlib.contextmanager
def running_alertmanager(config: Path, directory: Path) -> Iterator[Alertmanager]:
    """Alertmanager (Debian's prometheus-alertmanager) with this config, clustering off."""
    binary = system_tool("prometheus-alertmanager")
    port = free_port()
    argv = [
        str(binary),
        f"--config.file={config}",
        f"--storage.path={directory / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # one instance: no gossip port on every interface
        "--log.level=warn",
    ]
    server = Server("alertmanager", argv, server_env(), directory)
    with running(server):
        url = f"http://127.0.0.1:{port}"
        server.wait_http_ok(f"{url}/-/ready")
        yield Alertmanager(server, url, f"127.0.0.1:{port}")


# --- running flows ---------------------------------------------------------------------------


def flowtel_env(endpoint: str, protocol: str, service: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        OTEL_SERVICE_NAME=service,
        OTEL_METRIC_EXPORT_INTERVAL="1000",
        OTEL_BSP_SCHEDULE_DELAY="200",
        OTEL_BLRP_SCHEDULE_DELAY="200",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_flowtel_demo(collector: Collector, service: str) -> None:
    """`flowtel demo` as ``service``, sent to ``collector`` over OTLP gRPC; it must exit 0."""
    done = subprocess.run(
        [sys.executable, "-m", "flowtel", "demo", "--service-name", service],
        env=flowtel_env(collector.grpc_endpoint, "grpc", service),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert 0 == done.returncode, done.stdout + done.stderr


def endpoint_for(collector: Collector, protocol: str) -> str:
    return collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint


@pytest.fixture(scope="session")
def run_flows(collector: Collector) -> Callable[..., dict[str, dict[str, Any]]]:
    """Runs named scenarios of flow_scenarios.py in a subprocess; returns their reports by name."""

    def run(service: str, protocol: str, *scenarios: str) -> dict[str, dict[str, Any]]:
        env = flowtel_env(endpoint_for(collector, protocol), protocol, service)
        done = subprocess.run(
            [sys.executable, str(FLOW_SCENARIOS), *scenarios],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        assert 0 == done.returncode, f"flow_scenarios.py failed:\n{done.stdout}\n{done.stderr}"
        reports = {}
        for line in done.stdout.splitlines():
            if line.startswith("SCENARIO "):
                report = json.loads(line[len("SCENARIO ") :])
                reports[report["scenario"]] = report
        assert sorted(scenarios) == sorted(reports), done.stdout + done.stderr
        return reports

    return run
