"""get_run_logger(): a logging logger whose records become the current run's messages."""

from __future__ import annotations

import asyncio
import logging

import pytest
from helpers import message, messages
from opentelemetry._logs import SeverityNumber

from flowtel import flow, get_run_logger, task


def message_events(events):
    return [(e.event_data.task_name, e.event_data.log_level, message(e)) for e in messages(events)]


def test_run_logger_in_a_task_writes_that_tasks_messages(flowtel_telemetry, events):
    """Records of get_run_logger() in a task are the task's messages: log, event, OTel log."""

    @task()
    def load(table):
        logger = get_run_logger()
        logger.info("loading %s", table)
        logger.warning("table %s is large", table)

    @flow()
    def etl():
        load("orders")

    run = etl().execute()
    entries = [
        (e.level, e.task_name, e.text)
        for e in run.log_entries()
        if "table" in e.text or "loading" in e.text
    ]
    assert [
        (logging.INFO, "load", "loading orders"),
        (logging.WARNING, "load", "table orders is large"),
    ] == entries
    assert [
        ("load", logging.INFO, "loading orders"),
        ("load", logging.WARNING, "table orders is large"),
    ] == [m for m in message_events(events) if "orders" in m[2]]

    task_span = flowtel_telemetry.span("load")
    records = [r.log_record for r in flowtel_telemetry.logs]
    assert ["loading orders", "table orders is large"] == [r.body for r in records]
    assert [(SeverityNumber.INFO, "INFO"), (SeverityNumber.WARN, "WARNING")] == [
        (r.severity_number, r.severity_text) for r in records
    ]
    for record in records:
        assert (task_span.context.span_id, task_span.context.trace_id) == (
            record.span_id,
            record.trace_id,
        )
        assert "load" == record.attributes["cicd.pipeline.task.name"]
        assert run.executed_tasks[0].task_id == record.attributes["cicd.pipeline.task.run.id"]
        assert run.flow_id == record.attributes["cicd.pipeline.run.id"]
    assert ["loading orders", "table orders is large"] == [
        e.attributes["message"] for e in task_span.events if e.name == "flowtel.message"
    ]


def test_run_logger_in_a_flow_body_writes_flow_messages(flowtel_telemetry, events):
    """In a flow body the logger is bound to the flow run: no task name, the flow's span."""

    @flow()
    def etl():
        get_run_logger().error("flow level %d", 7)

    run = etl().execute()
    assert 1 == run.log_messages().count("flow level 7")
    assert [("", logging.ERROR, "flow level 7")] == [
        m for m in message_events(events) if m[2] == "flow level 7"
    ]
    flow_span = flowtel_telemetry.span("etl")
    [record] = [r.log_record for r in flowtel_telemetry.logs]
    assert ("flow level 7", SeverityNumber.ERROR, flow_span.context.span_id) == (
        record.body,
        record.severity_number,
        record.span_id,
    )
    assert "cicd.pipeline.task.name" not in record.attributes


def test_debug_records_stay_in_the_run_below_the_export_level(flowtel_telemetry):
    """A DEBUG record is kept in the run's log but not exported (export level INFO)."""

    @task()
    def step():
        get_run_logger().debug("fine detail")

    @flow()
    def etl():
        step()

    run = etl().execute()
    assert 1 == run.log_messages().count("fine detail")
    assert [] == flowtel_telemetry.logs


def test_run_logger_is_logging_compatible():
    """The run logger offers the logging.Logger verbs (log, isEnabledFor, exception...)."""
    seen = {}

    @task()
    def step():
        logger = get_run_logger()
        seen["kind"] = isinstance(logger, (logging.Logger, logging.LoggerAdapter))
        seen["enabled"] = logger.isEnabledFor(logging.DEBUG)
        logger.log(logging.CRITICAL, "via log(%s)", "level")
        logger.info("with extra", extra={"user_key": 1})

    @flow()
    def etl():
        step()

    run = etl().execute()
    assert {"kind": True, "enabled": True} == seen
    assert ["via log(level)", "with extra"] == [
        e.text for e in run.log_entries() if e.task_name == "step" and e.level >= logging.INFO
    ]


def test_exception_includes_the_traceback(flowtel_telemetry):
    """logger.exception() in an except block records the message with the traceback."""

    def parse(text):
        return int(text)

    @task()
    def step():
        try:
            parse("not a number")
        except ValueError:
            get_run_logger().exception("could not parse")

    @flow()
    def etl():
        step()

    run = etl().execute()
    [text] = [m for m in run.log_messages() if m.startswith("could not parse")]
    assert "Traceback (most recent call last):" in text
    assert "in parse" in text
    assert "ValueError: invalid literal for int() with base 10: 'not a number'" in text
    [record] = [r.log_record for r in flowtel_telemetry.logs]
    assert (text, SeverityNumber.ERROR) == (record.body, record.severity_number)


def test_run_logger_in_async_and_submitted_tasks_is_bound_to_each_run(flowtel_telemetry):
    """Async tasks and tasks on worker threads log into their own run."""

    @task()
    async def fetch(n):
        await asyncio.sleep(0)
        get_run_logger().info("fetched %d", n)

    @task()
    def work(n):
        get_run_logger().info("worked %d", n)

    @flow()
    async def crawl():
        await asyncio.gather(fetch(1), fetch(2))
        for future in work.map([3, 4]):
            future.wait()

    run = crawl().execute()
    by_task = sorted((e.task_name, e.text) for e in run.log_entries() if e.level == logging.INFO)
    assert [
        ("fetch", "fetched 1"),
        ("fetch", "fetched 2"),
        ("work", "worked 3"),
        ("work", "worked 4"),
    ] == by_task
    records = [r.log_record for r in flowtel_telemetry.logs]
    assert 4 == len(records)
    for record in records:
        [span] = [
            s
            for s in flowtel_telemetry.spans
            if s.attributes.get("cicd.pipeline.task.run.id")
            == record.attributes["cicd.pipeline.task.run.id"]
        ]
        assert span.context.span_id == record.span_id
        assert {"fetched": "fetch", "worked": "work"}[record.body.split()[0]] == span.name


def test_outside_any_run_it_is_a_plain_logger(caplog):
    """Outside any flow or task run get_run_logger() returns a plain logging.Logger."""
    logger = get_run_logger()
    assert logging.Logger is type(logger)
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("no run here")
    assert ["no run here"] == [r.getMessage() for r in caplog.records if r.name == logger.name]


def test_logger_kept_past_its_run_does_not_leak_into_other_runs():
    """A run logger bound to one run keeps writing to that run, not to a later one."""
    kept = []

    @task()
    def first():
        kept.append(get_run_logger())

    @flow()
    def one():
        first()

    @flow()
    def two():
        kept[0].info("late record")

    run_one = one().execute()
    run_two = two().execute()
    assert 0 == run_two.log_messages().count("late record")
    assert 1 == run_one.log_messages().count("late record")


@pytest.mark.asyncio
async def test_run_logger_in_async_flow_body(flowtel_telemetry):
    """In an async flow body the logger writes flow messages exported on the flow span."""

    @flow()
    async def crawl():
        get_run_logger().info("async flow says hi")

    run = await crawl().execute_async()
    assert 1 == run.log_messages().count("async flow says hi")
    [record] = [r.log_record for r in flowtel_telemetry.logs]
    assert flowtel_telemetry.span("crawl").context.span_id == record.span_id
