"""The trace shapes the README's "Running in production" section shows, as Jaeger stores them:
the FastAPI example (request > flow > tasks; a detached background flow with a link) and a
`flowtel run` batch job, each exporting OTLP/HTTP straight to a real Jaeger."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from helpers import child_environment, require_modules, wait_for

from .servers import Jaeger, free_port, get_json, http_get

ROOT = Path(__file__).resolve().parent.parent.parent


def jaeger_environment(jaeger: Jaeger, service: str, **more: str) -> dict[str, str]:
    """A child's environment sending ``service``'s traces to ``jaeger`` over OTLP/HTTP."""
    return child_environment(
        {
            "OTEL_SERVICE_NAME": service,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{jaeger.otlp_http}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_LOGS_EXPORTER": "none",  # Jaeger takes traces only
            "OTEL_METRICS_EXPORTER": "none",
            **more,
        }
    )


def jaeger_traces(jaeger: Jaeger, service: str, complete: Callable[[list[dict]], bool]) -> list:
    """The traces Jaeger stores for ``service``, once ``complete(traces)`` says all arrived."""
    query = urllib.parse.urlencode({"service": service, "limit": 50, "lookback": "1h"})

    def stored():
        traces = get_json(f"{jaeger.query_url}/api/traces?{query}")["data"] or []
        return traces if complete(traces) else None

    return wait_for(stored, timeout=30)


def spans_at_least(count: int) -> Callable[[list[dict]], bool]:
    """A ``complete`` test: the traces hold at least ``count`` spans."""
    return lambda traces: sum(len(t["spans"]) for t in traces) >= count


def root_name(trace: dict) -> str:
    """The operation of a trace's root span (without a CHILD_OF parent); "" until it arrived."""
    roots = [
        s["operationName"]
        for s in trace["spans"]
        if not any(r["refType"] == "CHILD_OF" for r in s["references"])
    ]
    return roots[0] if len(roots) == 1 else ""


def shape(trace: dict) -> list[tuple[str, str]]:
    """(operation, parent operation or "") for each span of a Jaeger trace, sorted."""
    names = {span["spanID"]: span["operationName"] for span in trace["spans"]}
    found = []
    for span in trace["spans"]:
        parents = [r["spanID"] for r in span["references"] if r["refType"] == "CHILD_OF"]
        found.append((span["operationName"], names.get(parents[0], "?") if parents else ""))
    return sorted(found)


def test_the_web_service_traces_have_the_documented_shape_in_jaeger(jaeger: Jaeger, tmp_path):
    """A request's trace is server span > quote > tasks; the background report is its own trace
    whose root span references the request's server span (FOLLOWS_FROM, a span link)."""
    require_modules("fastapi", "uvicorn", "httpx", "opentelemetry.instrumentation.fastapi")
    port = free_port()
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "web_service.py")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=jaeger_environment(
                jaeger, "shop-jaeger", PORT=str(port), OTEL_BSP_SCHEDULE_DELAY="200"
            ),
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: server.poll() is None and _answers(f"{base}/openapi.json"), 30)
            import httpx

            assert 200 == httpx.get(f"{base}/quotes/3", timeout=30).status_code
            assert 202 == httpx.post(f"{base}/reports/2026-11-30", timeout=30).status_code
            expected = {"GET /quotes/{order_id}": 7, "POST /reports/{day}": 1, "report": 2}
            traces = jaeger_traces(
                jaeger,
                "shop-jaeger",
                lambda found: all(
                    any(root_name(t) == root and len(t["spans"]) >= n for t in found)
                    for root, n in expected.items()
                ),
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    by_root = {root_name(trace): trace for trace in traces}
    assert {
        "GET /quotes/{order_id}": [
            ("GET /quotes/{order_id}", ""),
            ("GET /quotes/{order_id} http send", "GET /quotes/{order_id}"),
            ("GET /quotes/{order_id} http send", "GET /quotes/{order_id}"),
            ("load_order", "quote"),
            ("notify", "quote"),
            ("price", "quote"),
            ("quote", "GET /quotes/{order_id}"),
        ],
        "report": [("render", "report"), ("report", "")],
    } == {root: shape(by_root[root]) for root in ("GET /quotes/{order_id}", "report")}
    request_trace = by_root["POST /reports/{day}"]
    [request] = [s for s in request_trace["spans"] if s["operationName"] == "POST /reports/{day}"]
    [report] = [s for s in by_root["report"]["spans"] if s["operationName"] == "report"]
    assert [
        {"refType": "FOLLOWS_FROM", "traceID": request["traceID"], "spanID": request["spanID"]}
    ] == [
        {key: ref[key] for key in ("refType", "traceID", "spanID")} for ref in report["references"]
    ]


def _answers(url: str) -> bool:
    try:
        return 200 == http_get(url, timeout=2)[0]
    except OSError:
        return False


def test_a_batch_job_trace_has_the_documented_shape_in_jaeger(jaeger: Jaeger):
    """`flowtel run examples/batch_job.py:nightly_load`: one trace, flow span > three tasks."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowtel",
            "run",
            "examples/batch_job.py:nightly_load",
            "--param",
            "day=2026-11-30",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=jaeger_environment(jaeger, "nightly-load-jaeger"),
    )
    assert 0 == completed.returncode, completed.stderr
    [trace] = jaeger_traces(jaeger, "nightly-load-jaeger", spans_at_least(4))
    assert [
        ("extract", "nightly_load"),
        ("load", "nightly_load"),
        ("nightly_load", ""),
        ("transform", "nightly_load"),
    ] == shape(trace)


def test_the_agent_script_trace_has_the_documented_shape_in_jaeger(jaeger: Jaeger):
    """examples/agent_script.py under opentelemetry-instrument: billing_run > charge, charge."""
    require_modules("opentelemetry.distro", "opentelemetry.instrumentation.auto_instrumentation")
    beside = Path(sys.executable).parent / "opentelemetry-instrument"
    completed = subprocess.run(
        [str(beside), sys.executable, str(ROOT / "examples" / "agent_script.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=jaeger_environment(jaeger, "billing-jaeger"),
    )
    assert 0 == completed.returncode, completed.stderr
    [trace] = jaeger_traces(jaeger, "billing-jaeger", spans_at_least(3))
    assert [("billing_run", ""), ("charge", "billing_run"), ("charge", "billing_run")] == shape(
        trace
    )
