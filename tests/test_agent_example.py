"""examples/agent_script.py under `opentelemetry-instrument` (a subprocess, a real OTLP receiver)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from helpers import child_environment, require_modules
from otlp_receiver import OtlpReceiver

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "agent_script.py"


def instrument_command():
    """The opentelemetry-instrument script of this Python, or the one on PATH."""
    beside = Path(sys.executable).parent / "opentelemetry-instrument"
    found = str(beside) if beside.exists() else shutil.which("opentelemetry-instrument")
    assert found is not None, "opentelemetry-instrument is not on PATH"
    return found


@pytest.fixture(scope="module")
def agent_run():
    """(completed process, receiver) for one run of the example under the agent."""
    require_modules(
        "opentelemetry.distro",
        "opentelemetry.instrumentation.auto_instrumentation",
        "opentelemetry.instrumentation.logging",
    )
    with OtlpReceiver("http/protobuf") as receiver:
        completed = subprocess.run(
            [instrument_command(), sys.executable, str(EXAMPLE)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=child_environment(
                {
                    "OTEL_SERVICE_NAME": "billing",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                    "FLOWTEL_RAISE_INTERNAL_ERRORS": "1",
                }
            ),
            timeout=120,
        )
        yield completed, receiver


def test_the_script_runs_under_the_agent_with_at_most_one_line_of_notice(agent_run):
    """Exit 0; configure() under the agent adds at most one line to the output."""
    completed, _receiver = agent_run
    assert 0 == completed.returncode, completed.stderr
    lines = [line for line in (completed.stdout + completed.stderr).splitlines() if line.strip()]
    assert True is (len(lines) <= 1), lines


def test_flowtel_spans_go_out_once_through_the_agents_providers(agent_run):
    """The flow and task spans are exported once each, with the agent's resource."""
    _completed, receiver = agent_run
    spans = receiver.spans()
    assert ["billing_run", "charge", "charge"] == sorted(span.name for span in spans)
    assert len(spans) == len({span.span_id for span in spans})
    assert {("billing", "flowtel")} == {(s.resource["service.name"], s.scope) for s in spans}
    [flow] = [span for span in spans if span.name == "billing_run"]
    assert [flow.span_id, flow.span_id] == [s.parent_span_id for s in spans if s.name == "charge"]


def test_logging_records_in_tasks_are_exported_once_with_the_task_span_ids(agent_run):
    """`logging` records inside tasks, and flowtel's messages, each arrive once, correlated."""
    _completed, receiver = agent_run
    records = receiver.log_records()
    charges = sorted(
        (s for s in receiver.spans() if s.name == "charge"), key=lambda s: s.start_time
    )
    [flow] = [span for span in receiver.spans() if span.name == "billing_run"]
    by_body = {record.body: record for record in records}
    assert [] == [body for body, count in Counter(r.body for r in records).items() if count > 1]
    assert [
        (charges[0].trace_id, charges[0].span_id),
        (charges[1].trace_id, charges[1].span_id),
        (flow.trace_id, flow.span_id),
    ] == [
        (by_body[body].trace_id, by_body[body].span_id)
        for body in ("charging ada", "charging grace", "charged 2 customers: 8")
    ]
    notices = [r for r in records if str(r.body).startswith("flowtel.configure():")]
    assert 1 == len(notices)
    assert {"billing"} == {record.resource["service.name"] for record in records}


def test_flowtel_metrics_go_out_through_the_agents_meter_provider(agent_run):
    """flowtel's run counter reaches the receiver through the agent's meter provider."""
    _completed, receiver = agent_run
    runs = [m for m in receiver.metrics() if m.name == "flowtel.flow.runs"]
    assert [({"cicd.pipeline.name": "billing_run", "cicd.pipeline.result": "success"}, 1)] == [
        point for metric in runs for point in metric.points
    ][-1:]
