"""Sent straight to Jaeger, which accepts OTLP traces only: the refused logs and metrics cost no
span, also for a process that lives past the log and metric export intervals (issue 9, item 11).
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from helpers import child_environment

from .servers import Jaeger, get_json

FLOWS = 200
TASKS = 5

CHILD = """
import sys, time
import flowtel
from flowtel import flow, task


@task()
def step(number):
    return number


@flow(flow_name="jaeger_only_job")
def jaeger_only_job(this_flow=None):
    this_flow.log_info("a message Jaeger cannot take")
    for number in range(int(sys.argv[2])):
        step(number)


flowtel.configure(service_name=sys.argv[3])
for _ in range(int(sys.argv[1])):
    jaeger_only_job().execute()
time.sleep(1.0)  # past OTEL_BLRP_SCHEDULE_DELAY and OTEL_METRIC_EXPORT_INTERVAL
"""


def run_child(endpoint: str, protocol: str, service: str) -> subprocess.CompletedProcess:
    environment = child_environment(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_BLRP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "300",
        }
    )
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(FLOWS), str(TASKS), service],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


def span_count(jaeger: Jaeger, service: str, timeout: float = 30.0) -> int:
    """The spans Jaeger stores for ``service``, polled until all arrived or ``timeout``."""
    query = urllib.parse.urlencode({"service": service, "limit": FLOWS * 2, "lookback": "1h"})
    deadline = time.monotonic() + timeout
    while True:
        traces = get_json(f"{jaeger.query_url}/api/traces?{query}")["data"] or []
        count = sum(len(trace["spans"]) for trace in traces)
        if count >= FLOWS * (TASKS + 1) or time.monotonic() > deadline:
            return count
        time.sleep(0.5)


def test_every_span_reaches_a_traces_only_jaeger(jaeger: Jaeger):
    """200 flows of 5 tasks, over gRPC and HTTP, straight to Jaeger: all 1,200 spans are
    stored; flowtel names the refused signals and drops no span."""
    cases = {
        "grpc": (f"http://{jaeger.otlp_grpc}", "grpc", "flowtel-jaeger-only-grpc"),
        "http/protobuf": (
            f"http://{jaeger.otlp_http}",
            "http/protobuf",
            "flowtel-jaeger-only-http",
        ),
    }
    with ThreadPoolExecutor(2) as pool:
        results = dict(
            zip(cases, pool.map(lambda case: run_child(*case), cases.values()), strict=True)
        )
    for protocol, (_, _, service) in cases.items():
        result = results[protocol]
        assert 0 == result.returncode, result.stderr
        assert (protocol, FLOWS * (TASKS + 1)) == (protocol, span_count(jaeger, service))
        lines = [line for line in result.stderr.splitlines() if line.startswith("flowtel")]
        assert True is any("does not accept OTLP logs" in line for line in lines), result.stderr
        assert [] == [line for line in lines if "spans (" in line and "Dropped 0 spans" not in line]
