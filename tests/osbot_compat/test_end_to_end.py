"""An OSBot-style pipeline (osbot_style.py) runs on flowtel: stats, events, logs and spans."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from opentelemetry.trace import StatusCode

from flowtel.osbot.actions.Flow__Stats__Collector import FLOW__ERROR_MESSAGE__TASK_FAILED
from flowtel.osbot.Flow import Flow
from flowtel.osbot.models.Flow_Run__Event_Type import Flow_Run__Event_Type
from flowtel.osbot.schemas.Schema__Flow__Status import Schema__Flow__Status

from .osbot_style import Feed_Pipeline

T = Flow_Run__Event_Type


def run_pipeline() -> Flow:
    return Feed_Pipeline().run("https://feed.example/rss").execute()


def test_pipeline_result_stats_and_captured_logs(osbot_events):
    """The run returns its value; stats fail it for the tolerated task; logs are OSBot's."""
    run = run_pipeline()
    assert (3, "completed", 1) == (run.flow_return_value, run.flow_status, run.failed_tasks)
    stats = run.flow_stats.stats
    assert (Schema__Flow__Status.FAILED, FLOW__ERROR_MESSAGE__TASK_FAILED, 3, 1) == (
        stats.status,
        stats.error_message,
        stats.total_tasks,
        stats.failed_tasks,
    )
    assert {1: "load_feed", 2: "parse_items", 3: "notify"} == {
        order: entry["task_name"]
        for order, entry in run.durations__with_tasks_status()["flow_tasks"].items()
    }
    assert [
        f"Executing flow run '{run.flow_id}'",
        "Executing task 'load_feed'",
        "loading https://feed.example/rss",
        "Task return value: ['a', 'b', 'c']",
        "Finished task 'load_feed'",
        "Executing task 'parse_items'",
        "Task return value: ['A', 'B', 'C']",
        "Finished task 'parse_items'",
        "Executing task 'notify'",
        "Task 'notify' failed: ConnectionError: mail server down",
        "Finished task 'notify'",
        "pipeline done",
        "Flow return value: 3",
        f"Finished flow run '{run.flow_id}'",
    ] == run.captured_logs()
    assert {"url": "https://feed.example/rss"} == run.data


def test_pipeline_events_bracket_each_task(osbot_events):
    """Events: FLOW_START first, FLOW_STOP last, a START/STOP pair per task, one artifact."""
    run = run_pipeline()
    kinds = [e.event_type for e in osbot_events]
    assert (T.FLOW_START, T.FLOW_STOP) == (kinds[0], kinds[-1])
    starts = [e.event_data.task_name for e in osbot_events if e.event_type is T.TASK_START]
    stops = [e.event_data.task_name for e in osbot_events if e.event_type is T.TASK_STOP]
    assert ["load_feed", "parse_items", "notify"] == starts == stops
    (artifact,) = [e for e in osbot_events if e.event_type is T.NEW_ARTIFACT]
    assert (["A", "B", "C"], run.flow_id) == (
        artifact.event_data.data["artifact_data"]["data"],
        artifact.event_data.flow_run_id,
    )


def test_pipeline_is_exported_as_a_span_tree_with_messages_and_logs(flowtel_telemetry):
    """The flow is one span, each task (hand-made too) a child span; messages are OTel logs."""
    run = run_pipeline()
    root = flowtel_telemetry.span("feed-pipeline")
    assert (None, run.flow_id) == (root.parent, root.attributes["cicd.pipeline.run.id"])
    children = flowtel_telemetry.children(root)
    assert ["load_feed", "parse_items", "notify"] == [s.name for s in children]
    assert [StatusCode.UNSET, StatusCode.UNSET, StatusCode.ERROR] == [
        s.status.status_code for s in children
    ]
    assert [t.task_id for t in run.executed_tasks] == [
        s.attributes["cicd.pipeline.task.run.id"] for s in children
    ]
    assert "success" == root.attributes["cicd.pipeline.result"]
    assert 1 == root.attributes["flowtel.flow.failed_tasks"]
    assert '["A", "B", "C"]' == root.attributes["flowtel.artifact.items.data"]
    bodies = flowtel_telemetry.log_bodies()
    assert "loading https://feed.example/rss" in bodies
    assert "pipeline done" in bodies
    assert "Task 'notify' failed: ConnectionError: mail server down" in bodies
    loading = [e for e in children[0].events if e.name == "flowtel.message"]
    assert ["loading https://feed.example/rss"] == [e.attributes["message"] for e in loading]


def test_flowtel_core_does_not_import_flowtel_osbot():
    """Importing flowtel and running a flow loads no flowtel.osbot module."""
    code = (
        "import sys, flowtel\n"
        "flowtel.flow(lambda: 1)().execute()\n"
        "print(sorted(m for m in sys.modules if m.startswith('flowtel.osbot')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert (0, "[]") == (result.returncode, result.stdout.strip())
