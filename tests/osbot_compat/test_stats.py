"""Flow__Stats__Collector and Task__Stats__Collector: timing, statuses, durations, JSON."""

from __future__ import annotations

from flowtel.osbot.actions.Flow__Stats__Collector import (
    FLOW__ERROR_MESSAGE__TASK_FAILED,
    Flow__Stats__Collector,
)
from flowtel.osbot.actions.Task__Stats__Collector import Task__Stats__Collector
from flowtel.osbot.schemas.Schema__Flow__Stats import Schema__Flow__Stats
from flowtel.osbot.schemas.Schema__Flow__Status import Schema__Flow__Status
from flowtel.osbot.schemas.Schema__Task__Stats import Schema__Task__Stats

S = Schema__Flow__Status


def finished_task(task_id: str, name: str, order: int, error=None) -> Schema__Task__Stats:
    collector = Task__Stats__Collector()
    collector.start(flow_id="flow-1", task_id=task_id, task_name=name, execution_order=order)
    collector.end(task_error=error)
    return collector.stats


def test_task_collector_records_start_then_outcome():
    """start() marks the task RUNNING with its ids; end() sets COMPLETED and a duration."""
    with Task__Stats__Collector() as collector:
        collector.start(flow_id="f", task_id="t", task_name="load", execution_order=3)
        assert (S.RUNNING, "f", 3) == (
            collector.stats.status,
            collector.stats.parent_flow_id,
            collector.stats.execution_order,
        )
        collector.end(task_error=None)
    assert (S.COMPLETED, None) == (collector.stats.status, collector.stats.error_message)
    assert collector.stats.duration.duration_seconds >= 0.0
    assert collector.stats.json() == collector.json()


def test_task_collector_records_failure_and_cancellation():
    """An Exception makes the task FAILED with its message; a KeyboardInterrupt STOPPED."""
    failed = finished_task("t1", "a", 1, ValueError("bad row"))
    stopped = finished_task("t2", "b", 2, KeyboardInterrupt())
    assert (S.FAILED, "bad row") == (failed.status, failed.error_message)
    assert S.STOPPED == stopped.status


def test_flow_collector_counts_orders_and_fails_on_a_failed_task():
    """Execution orders count from 1; a failed task makes the flow FAILED with the set message."""
    collector = Flow__Stats__Collector()
    collector.start(flow_id="flow-1", flow_name="nightly")
    assert [1, 2] == [collector.get_next_execution_order() for _ in range(2)]
    collector.add_task_stats(finished_task("t1", "load", 1))
    collector.add_task_stats(finished_task("t2", "save", 2, OSError("disk full")))
    collector.end(flow_error=None)
    stats = collector.stats
    assert (S.FAILED, FLOW__ERROR_MESSAGE__TASK_FAILED, 2, 1) == (
        stats.status,
        stats.error_message,
        stats.total_tasks,
        stats.failed_tasks,
    )


def test_flow_collector_error_and_success():
    """A flow error gives FAILED with its text; no errors give COMPLETED."""
    failed = Flow__Stats__Collector().start("f", "n").end(RuntimeError("boom"))
    completed = Flow__Stats__Collector().start("f", "n").end(None)
    assert (S.FAILED, "boom") == (failed.stats.status, failed.stats.error_message)
    assert (S.COMPLETED, None) == (completed.stats.status, completed.stats.error_message)


def test_flow_collector_durations_by_name_and_by_order():
    """durations() keys tasks by name; durations__with_tasks_status() by order, with status."""
    collector = Flow__Stats__Collector()
    assert {} == collector.durations()
    collector.start(flow_id="flow-1", flow_name="nightly")
    load = finished_task("t1", "load", 1)
    save = finished_task("t2", "save", 2, OSError("disk full"))
    collector.add_task_stats(load).add_task_stats(save)
    collector.end(None)
    flow_seconds = collector.stats.duration.duration_seconds
    assert {
        "flow_name": "nightly",
        "flow_duration": flow_seconds,
        "flow_status": "failed",
        "flow_tasks": {
            "load": load.duration.duration_seconds,
            "save": save.duration.duration_seconds,
        },
    } == collector.durations()
    assert {
        "flow_name": "nightly",
        "flow_duration": flow_seconds,
        "flow_status": "failed",
        "flow_tasks": {
            1: {
                "task_name": "load",
                "task_duration": load.duration.duration_seconds,
                "task_status": "completed",
            },
            2: {
                "task_name": "save",
                "task_duration": save.duration.duration_seconds,
                "task_status": "failed",
            },
        },
    } == collector.durations__with_tasks_status()


def test_flow_stats_json_round_trips():
    """Schema__Flow__Stats.from_json(json) rebuilds nested task stats and enum statuses."""
    collector = Flow__Stats__Collector().start("f", "n")
    collector.add_task_stats(finished_task("t1", "load", 1))
    collector.end(None)
    rebuilt = Schema__Flow__Stats.from_json(collector.json())
    assert collector.stats == rebuilt
    assert S.COMPLETED is rebuilt.tasks_stats["t1"].status


def test_flow_stats_include_submitted_tasks_the_run_waited_for():
    """A task a sync flow submitted and did not wait for is in its stats (the run waits for it)."""
    import time

    from flowtel.osbot.decorators.flow import flow
    from flowtel.osbot.decorators.task import task

    @task()
    def slow():
        time.sleep(0.2)
        return "late"

    @flow()
    def pipeline():
        slow.submit()

    run = pipeline().execute()
    assert (1, Schema__Flow__Status.COMPLETED) == (
        run.flow_stats.stats.total_tasks,
        run.flow_stats.stats.status,
    )
