"""Flow messages as span events and OTel log records; stdlib logging correlation."""

from __future__ import annotations

import logging
import warnings

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggingHandler

import flowtel
from flowtel import Flow, flow, task


def message_events(span):
    """(severity, message) of the flowtel.message events of a span, in order."""
    return [
        (event.attributes["log.severity"], event.attributes["message"])
        for event in span.events
        if event.name == "flowtel.message"
    ]


def record_for(captured, body):
    """The one captured log record (SDK LogRecord) with this body."""
    found = [r.log_record for r in captured.logs if r.log_record.body == body]
    assert 1 == len(found), f"expected one log record {body!r}, got {captured.log_bodies()}"
    return found[0]


@flow()
def levels_flow(this_flow: Flow):
    this_flow.log_debug("debug line")
    this_flow.log_info("info line")
    this_flow.log_warning("warning line")
    this_flow.log_error("error line")
    this_flow.log_critical("critical line")


def test_flow_messages_at_or_above_info_are_span_events_of_the_flow_span(flowtel_telemetry):
    """log_info/warning/error/critical in a flow body become flowtel.message events on its span."""
    levels_flow().execute()
    assert [
        ("INFO", "info line"),
        ("WARNING", "warning line"),
        ("ERROR", "error line"),
        ("CRITICAL", "critical line"),
    ] == message_events(flowtel_telemetry.span("levels_flow"))


def test_flow_messages_are_log_records_with_severity_body_and_span_ids(flowtel_telemetry):
    """Each exported message is an OTel log record: severity, body = text, the flow span's ids."""
    run = levels_flow().execute()
    span = flowtel_telemetry.span("levels_flow")
    assert ["info line", "warning line", "error line", "critical line"] == (
        flowtel_telemetry.log_bodies()
    )
    expected = {
        "info line": (SeverityNumber.INFO, "INFO"),
        "warning line": (SeverityNumber.WARN, "WARNING"),
        "error line": (SeverityNumber.ERROR, "ERROR"),
        "critical line": (SeverityNumber.FATAL, "CRITICAL"),
    }
    for body, severity in expected.items():
        record = record_for(flowtel_telemetry, body)
        assert severity == (record.severity_number, record.severity_text)
        assert (span.context.trace_id, span.context.span_id) == (record.trace_id, record.span_id)
        assert {"cicd.pipeline.name": "levels_flow", "cicd.pipeline.run.id": run.flow_id} == dict(
            record.attributes
        )


@task()
def chatty_task(this_task):
    this_task.log_warning("disk almost full")
    print("processed 3 files")
    return 3


@flow()
def chatty_flow():
    print("flow body print")
    chatty_task()


def test_task_messages_and_prints_go_to_the_task_span_and_carry_task_ids(flowtel_telemetry):
    """Messages and captured prints inside a task are events on, and records of, the task span."""
    run = chatty_flow().execute()
    task_span = flowtel_telemetry.span("chatty_task")
    (task_run,) = run.executed_tasks
    assert [("WARNING", "disk almost full"), ("INFO", "processed 3 files")] == message_events(
        task_span
    )
    for body in ("disk almost full", "processed 3 files"):
        record = record_for(flowtel_telemetry, body)
        assert (task_span.context.trace_id, task_span.context.span_id) == (
            record.trace_id,
            record.span_id,
        )
        assert {
            "cicd.pipeline.name": "chatty_flow",
            "cicd.pipeline.run.id": run.flow_id,
            "cicd.pipeline.task.name": "chatty_task",
            "cicd.pipeline.task.run.id": task_run.task_id,
        } == dict(record.attributes)
    assert SeverityNumber.INFO == record_for(flowtel_telemetry, "processed 3 files").severity_number


def test_print_in_a_flow_body_is_an_info_message_of_the_flow_span(flowtel_telemetry):
    """A captured print in the flow body is an INFO event and log record of the flow span."""
    chatty_flow().execute()
    flow_span = flowtel_telemetry.span("chatty_flow")
    assert [("INFO", "flow body print")] == message_events(flow_span)
    record = record_for(flowtel_telemetry, "flow body print")
    assert (flow_span.context.span_id, SeverityNumber.INFO) == (
        record.span_id,
        record.severity_number,
    )


@task()
def task_with_user_span(tracer, this_task):
    with tracer.start_as_current_span("parse-file"):
        this_task.log_info("inside the user span")


@flow()
def user_span_flow(tracer):
    task_with_user_span(tracer)


def test_message_is_an_event_on_the_current_span(flowtel_telemetry):
    """A message logged while a user span is current is an event of that span, with its ids."""
    tracer = flowtel_telemetry.tracer_provider.get_tracer("user-code")
    user_span_flow(tracer).execute()
    user_span = flowtel_telemetry.span("parse-file")
    assert [("INFO", "inside the user span")] == message_events(user_span)
    assert [] == message_events(flowtel_telemetry.span("task_with_user_span"))
    record = record_for(flowtel_telemetry, "inside the user span")
    assert user_span.context.span_id == record.span_id


@task()
def doubler(value):
    return value * 2


@flow()
def debug_lines_flow(this_flow: Flow):
    this_flow.log_debug("my debug detail")
    this_flow.log_info("my info line")
    return doubler(21)


def test_debug_lines_are_in_the_run_log_but_not_exported_by_default(flowtel_telemetry):
    """'Executing task', return values and log_debug stay in log_messages() but are not exported."""
    run = debug_lines_flow().execute()
    messages = run.log_messages()
    for line in ("Executing task 'doubler'", "Task return value: 42", "my debug detail"):
        assert True is (line in messages), f"{line!r} missing from {messages}"
    assert ["my info line"] == flowtel_telemetry.log_bodies()
    exported = [m for span in flowtel_telemetry.spans for _, m in message_events(span)]
    assert ["my info line"] == exported


def test_export_level_debug_exports_debug_lines(flowtel_telemetry):
    """configure(export_level='DEBUG') exports the DEBUG lines too, with severity DEBUG."""
    flowtel.configure(install_providers=False, export_level="DEBUG")
    try:
        run = debug_lines_flow().execute()
    finally:
        flowtel.configure(install_providers=False, export_level="INFO")
    bodies = flowtel_telemetry.log_bodies()
    for line in ("Executing task 'doubler'", "my debug detail"):
        assert True is (line in bodies), f"{line!r} missing from {bodies}"
    record = record_for(flowtel_telemetry, "Executing task 'doubler'")
    task_span = flowtel_telemetry.span("doubler")
    assert (SeverityNumber.DEBUG, "DEBUG", task_span.context.span_id) == (
        record.severity_number,
        record.severity_text,
        record.span_id,
    )
    hidden = "[not recorded: record_return_values is off]"
    local = [line.replace(": 42", f": {hidden}") for line in run.log_messages()]
    assert local == bodies


def test_export_level_debug_never_exports_return_values_unless_recorded(flowtel_telemetry):
    """The DEBUG return-value lines carry the value only with record_return_values, redacted."""

    @task()
    def issue_token():
        return {"user": "ann", "password2": "hunter2"}

    @flow()
    def token_flow():
        issue_token()
        return {"myPassword1": "hunter3", "rows": 2}

    flowtel.configure(install_providers=False, export_level="DEBUG")
    try:
        local = token_flow().execute().log_messages()
        hidden = flowtel_telemetry.log_bodies()
        flowtel_telemetry.clear()
        flowtel.configure(install_providers=False, record_return_values=True)
        token_flow().execute()
        recorded = flowtel_telemetry.log_bodies()
    finally:
        flowtel.configure(install_providers=False, export_level="INFO", record_return_values=False)
    assert True is ("hunter2" in " ".join(local))  # the run's own log keeps the value
    assert [
        "Task return value: [not recorded: record_return_values is off]",
        "Flow return value: [not recorded: record_return_values is off]",
    ] == [body for body in hidden if "return value" in body]
    assert [
        'Task return value: {"user": "ann", "password2": "[REDACTED]"}',
        'Flow return value: {"myPassword1": "[REDACTED]", "rows": 2}',
    ] == [body for body in recorded if "return value" in body]


def test_a_message_that_reads_like_the_return_value_line_is_exported_as_written(
    flowtel_telemetry,
):
    """A user's own message with the text of the engine's return-value template is not taken
    for a return-value line: it is exported as written."""

    @flow()
    def quoting(this_flow=None):
        this_flow.log_info("Task return value: %s")

    quoting().execute()
    assert ["Task return value: %s"] == [
        body for body in flowtel_telemetry.log_bodies() if "return value" in body
    ]


def test_export_level_warning_keeps_info_out(flowtel_telemetry):
    """configure(export_level=logging.WARNING) exports only WARNING and above."""
    flowtel.configure(install_providers=False, export_level=logging.WARNING)
    try:
        levels_flow().execute()
    finally:
        flowtel.configure(install_providers=False, export_level=logging.INFO)
    assert ["warning line", "error line", "critical line"] == flowtel_telemetry.log_bodies()
    assert ["WARNING", "ERROR", "CRITICAL"] == [
        s for s, _ in message_events(flowtel_telemetry.span("levels_flow"))
    ]


def test_bad_export_level_is_rejected_by_name():
    """An unknown export level is a ValueError that names the bad value."""
    with pytest.raises(ValueError, match="LOUD"):
        flowtel.configure(install_providers=False, export_level="LOUD")


@task(raise_on_error=False)
def failing_step():
    raise KeyError("sku-9")


@flow()
def failing_step_flow():
    failing_step()


def test_task_failure_message_is_an_error_record_of_the_task_span(flowtel_telemetry):
    """A task failure's message is an ERROR log record and event of the failed task's span."""
    failing_step_flow().execute()
    span = flowtel_telemetry.span("failing_step")
    body = "Task 'failing_step' failed: KeyError: 'sku-9'"
    assert [("ERROR", body)] == message_events(span)
    record = record_for(flowtel_telemetry, body)
    assert (SeverityNumber.ERROR, span.context.span_id) == (record.severity_number, record.span_id)


@task()
def uses_stdlib_logging(logger):
    logger.warning("stdlib warning from %s", "the task")


@flow()
def stdlib_logging_flow(logger):
    logger.warning("stdlib warning from the flow body")
    uses_stdlib_logging(logger)


def test_stdlib_logging_records_in_a_task_carry_its_trace_and_span_ids(flowtel_telemetry):
    """`logging` records made inside a task are correlated with the task span (it is current)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(logger_provider=flowtel_telemetry.logger_provider)
    logger = logging.getLogger("tests.flowtel.stdlib_correlation")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        stdlib_logging_flow(logger).execute()
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    task_span = flowtel_telemetry.span("uses_stdlib_logging")
    flow_span = flowtel_telemetry.span("stdlib_logging_flow")
    in_task = record_for(flowtel_telemetry, "stdlib warning from the task")
    in_flow = record_for(flowtel_telemetry, "stdlib warning from the flow body")
    assert (task_span.context.trace_id, task_span.context.span_id) == (
        in_task.trace_id,
        in_task.span_id,
    )
    assert (flow_span.context.trace_id, flow_span.context.span_id) == (
        in_flow.trace_id,
        in_flow.span_id,
    )


def test_messages_are_exported_even_when_the_run_keeps_no_memory_log(flowtel_telemetry):
    """log_to_memory=False empties the run's own log but still exports messages."""
    from flowtel import Flow_Run__Config

    @flow(flow_config=Flow_Run__Config(log_to_memory=False))
    def no_memory_flow(this_flow: Flow):
        this_flow.log_info("still exported")

    run = no_memory_flow().execute()
    assert ([], ["still exported"]) == (run.log_messages(), flowtel_telemetry.log_bodies())


def test_messages_reach_a_logger_provider_installed_without_a_tracer_provider():
    """With only a logger provider (no tracing), messages still become OTel log records."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    from flowtel.telemetry._runtime import RUNTIME

    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    RUNTIME.use_providers(None, provider, None)
    try:
        levels_flow().execute()
    finally:
        RUNTIME.use_providers()
    bodies = [record.log_record.body for record in exporter.get_finished_logs()]
    assert ["info line", "warning line", "error line", "critical line"] == bodies


# -- the "flow started" record (configure(flow_start_records=True)) --------------------------


def test_flow_start_records_are_off_by_default(flowtel_telemetry):
    """Without flow_start_records, a run emits no "flow started" record."""
    levels_flow().execute()
    assert "flow started" not in flowtel_telemetry.log_bodies()


def test_a_flow_start_record_is_emitted_when_the_run_starts_with_its_trace_and_run_ids(
    flowtel_telemetry,
):
    """With flow_start_records=True, "flow started" is emitted at start with name, run id, trace."""
    flowtel.configure(flow_start_records=True, install_providers=False)
    seen_in_flow = []

    @flow()
    def long_job(this_flow=None):
        seen_in_flow.extend(flowtel_telemetry.log_bodies())

    run = long_job().execute()
    assert ["flow started"] == seen_in_flow
    record = record_for(flowtel_telemetry, "flow started")
    span = flowtel_telemetry.span("long_job")
    assert (span.context.trace_id, span.context.span_id) == (record.trace_id, record.span_id)
    assert (SeverityNumber.INFO, "INFO") == (record.severity_number, record.severity_text)
    assert {"cicd.pipeline.name": "long_job", "cicd.pipeline.run.id": run.flow_id} == dict(
        record.attributes
    )


def test_flow_start_records_must_be_a_bool():
    """configure(flow_start_records=...) rejects a non-bool, naming the value."""
    with pytest.raises(TypeError, match="flow_start_records must be True or False, got 'yes'"):
        flowtel.configure(flow_start_records="yes", install_providers=False)


def test_a_task_run_by_hand_in_two_flows_logs_with_each_flows_ids(flowtel_telemetry):
    """A Task set up by hand and executed in two flow runs: each run's messages carry that run's
    flow name and run id and the task's own ids."""
    from flowtel import Task

    def noisy(this_task=None):
        this_task.log_info("one")
        this_task.log_info("two")

    by_hand = Task(task_name="by-hand").setup(noisy)

    @flow(flow_name="first-flow")
    def first():
        by_hand.execute()

    @flow(flow_name="second-flow")
    def second():
        by_hand.execute()

    runs = [first().execute(), second().execute()]
    expected = [
        (run.flow_name, run.flow_id, "by-hand", by_hand.task_id, body)
        for run in runs
        for body in ("one", "two")
    ]
    assert expected == [
        (
            r.log_record.attributes["cicd.pipeline.name"],
            r.log_record.attributes["cicd.pipeline.run.id"],
            r.log_record.attributes["cicd.pipeline.task.name"],
            r.log_record.attributes["cicd.pipeline.task.run.id"],
            r.log_record.body,
        )
        for r in flowtel_telemetry.logs
    ]
