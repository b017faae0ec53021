"""examples/web_service.py for real: uvicorn in a subprocess, an HTTP client, a real OTLP receiver."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import child_environment, require_modules, wait_for
from otlp_receiver import OtlpReceiver

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "web_service.py"
IO_SECONDS = 1.5  # each request's flow takes this long, so concurrent requests overlap
SERVER_KIND = 2  # OTLP Span.SPAN_KIND_SERVER
STATUS_UNSET, STATUS_ERROR = 0, 2
SYNC_REQUESTS, ASYNC_REQUESTS = 25, 35


def free_port():
    """A free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """(base URL, receiver): the example served by uvicorn, exporting OTLP/HTTP to the receiver."""
    require_modules("fastapi", "uvicorn", "httpx", "opentelemetry.instrumentation.fastapi")
    import httpx

    output = tmp_path_factory.mktemp("web_service") / "server.log"
    with OtlpReceiver("http/protobuf") as receiver, output.open("wb") as log:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, str(EXAMPLE)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_environment(
                {
                    "PORT": str(port),
                    "EXAMPLE_IO_SECONDS": str(IO_SECONDS),
                    "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                    "OTEL_SERVICE_NAME": "shop",
                    "OTEL_BSP_SCHEDULE_DELAY": "200",
                    "OTEL_BLRP_SCHEDULE_DELAY": "200",
                }
            ),
            cwd=EXAMPLE.parent.parent,
        )
        base = f"http://127.0.0.1:{port}"

        def ready():
            assert None is server.poll(), output.read_text(encoding="utf-8", errors="replace")
            try:
                return 200 == httpx.get(f"{base}/openapi.json", timeout=2).status_code
            except httpx.TransportError:
                return False

        try:
            wait_for(ready, timeout=30)
            yield base, receiver
        finally:
            server.terminate()
            server.wait(timeout=30)


def spans_of_trace(receiver, trace_id):
    """The receiver's spans of one trace."""
    return [span for span in receiver.spans() if span.trace_id == trace_id]


def flow_span(receiver, run_id):
    """The flow span of run ``run_id`` (waits until it arrived, with its server span)."""

    def arrived():
        found = [
            span
            for span in receiver.spans()
            if span.attributes.get("cicd.pipeline.run.id") == run_id
            and "cicd.pipeline.result" in span.attributes
        ]
        if found and any(
            s.kind == SERVER_KIND for s in spans_of_trace(receiver, found[0].trace_id)
        ):
            return found
        return None

    [span] = wait_for(arrived)
    return span


def server_span(receiver, trace_id):
    """The one SERVER span of a trace."""
    [span] = [s for s in spans_of_trace(receiver, trace_id) if s.kind == SERVER_KIND]
    return span


def most_overlapping(spans):
    """The largest number of ``spans`` running at the same instant."""
    edges = sorted([(s.start_time, 1) for s in spans] + [(s.end_time, -1) for s in spans])
    running = peak = 0
    for _time, change in edges:
        running += change
        peak = max(peak, running)
    return peak


def test_concurrent_requests_give_one_trace_each_with_their_own_spans_and_logs(service):
    """60 requests in flight at once (sync and async flows): one trace per request, server span >
    flow span > task spans, that run's spans only, and the flow's log record in that trace."""
    import httpx

    base, receiver = service
    paths = [f"/quotes/{2 * n}" for n in range(1, SYNC_REQUESTS + 1)] + [
        f"/stock/item{n}" for n in range(ASYNC_REQUESTS)
    ]

    async def send_all():
        limits = httpx.Limits(max_connections=len(paths))
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
            return await asyncio.gather(*(client.get(path) for path in paths))

    responses = asyncio.run(send_all())
    assert [200] * len(paths) == [response.status_code for response in responses]
    run_ids = [response.json()["run_id"] for response in responses]
    flows = [flow_span(receiver, run_id) for run_id in run_ids]
    assert len(paths) == len({span.trace_id for span in flows})
    servers = []
    for path, run_id, flow in zip(paths, run_ids, flows, strict=True):
        trace = spans_of_trace(receiver, flow.trace_id)
        server = server_span(receiver, flow.trace_id)
        servers.append(server)
        tasks = [s for s in trace if s.parent_span_id == flow.span_id]
        expected_tasks = ["load_order", "price", "notify"] if "quotes" in path else ["count_stock"]
        assert (path, server.span_id) == (server.attributes["http.target"], flow.parent_span_id)
        assert expected_tasks == [s.name for s in sorted(tasks, key=lambda s: s.start_time)]
        assert {run_id} == {
            s.attributes["cicd.pipeline.run.id"]
            for s in trace
            if "cicd.pipeline.run.id" in s.attributes
        }
        [record] = [
            r
            for r in receiver.log_records()
            if r.attributes.get("cicd.pipeline.run.id") == run_id and r.span_id == flow.span_id
        ]
        assert flow.trace_id == record.trace_id
        assert path.rsplit("/", 1)[1] in record.body
    assert True is (most_overlapping(servers) >= 50), most_overlapping(servers)


def test_a_failing_flow_makes_its_span_and_the_server_span_errors(service):
    """A flow raising in a request: HTTP 500, and both the flow span and server span are errors."""
    import httpx

    base, receiver = service
    response = httpx.get(f"{base}/quotes/0", timeout=60)
    assert 500 == response.status_code

    def failed_flow():
        return [
            s
            for s in receiver.spans()
            if s.name == "quote" and s.attributes.get("cicd.pipeline.result") == "failure"
        ]

    [flow] = wait_for(failed_flow)
    server = wait_for(lambda: server_span(receiver, flow.trace_id))
    assert (STATUS_ERROR, "LookupError: no order 0") == (flow.status_code, flow.status_message)
    assert (STATUS_ERROR, 500, "/quotes/0", flow.parent_span_id) == (
        server.status_code,
        server.attributes["http.status_code"],
        server.attributes["http.target"],
        server.span_id,
    )


def test_a_tolerated_task_failure_leaves_the_request_a_success(service):
    """A task failure the flow tolerates: HTTP 200, task span error, flow and server spans not."""
    import httpx

    base, receiver = service
    response = httpx.get(f"{base}/quotes/3", timeout=60)
    assert (200, 1.5) == (response.status_code, response.json()["total"])
    flow = flow_span(receiver, response.json()["run_id"])
    [notify] = [s for s in spans_of_trace(receiver, flow.trace_id) if s.name == "notify"]
    server = server_span(receiver, flow.trace_id)
    assert (STATUS_ERROR, STATUS_UNSET, STATUS_UNSET) == (
        notify.status_code,
        flow.status_code,
        server.status_code,
    )
    assert 1 == flow.attributes["flowtel.flow.failed_tasks"]


def test_a_background_flow_starts_its_own_trace_linked_to_the_request(service):
    """A detached flow run from BackgroundTasks is the root of a new trace with a link to the
    request's server span; its task spans are in that new trace."""
    import httpx

    base, receiver = service
    response = httpx.post(f"{base}/reports/2026-11-30", timeout=60)
    assert 202 == response.status_code
    run_id = response.json()["run_id"]

    def report_and_request():
        found = [
            s
            for s in receiver.spans()
            if s.name == "report" and s.attributes.get("cicd.pipeline.run.id") == run_id
        ]
        requests = [
            s
            for s in receiver.spans()
            if s.kind == SERVER_KIND and s.attributes.get("http.target") == "/reports/2026-11-30"
        ]
        return (found, requests) if found and requests else None

    [report], [request] = wait_for(report_and_request)
    assert ("", [(request.trace_id, request.span_id)]) == (report.parent_span_id, report.links)
    assert request.trace_id != report.trace_id
    assert ["render"] == [
        s.name
        for s in spans_of_trace(receiver, report.trace_id)
        if s.parent_span_id == report.span_id
    ]
    assert "report for 2026-11-30" == report.attributes["flowtel.artifact.report.description"]
