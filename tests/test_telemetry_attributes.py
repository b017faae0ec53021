"""Span attributes and events of runs: semconv names, failures, artifacts, results, capture."""

from __future__ import annotations

import asyncio
import datetime
import inspect
import json

import pytest
from opentelemetry.trace import StatusCode

import flowtel
from flowtel import Flow, Flow_Run__Config, flow, task


class QuotaExceeded(Exception):
    """A user exception defined in this module (its qualified type names this module)."""


def unwrapped_line(decorated):
    """The first line of the function under a flowtel decorator, as Python records it."""
    return inspect.unwrap(decorated).__code__.co_firstlineno


def all_telemetry_text(captured):
    """Every attribute value, event attribute value and log body captured, as strings."""
    texts = []
    for span in captured.spans:
        texts.extend(str(value) for value in (span.attributes or {}).values())
        for event in span.events:
            texts.extend(str(value) for value in (event.attributes or {}).values())
    for record in captured.logs:
        texts.append(str(record.log_record.body))
        texts.extend(str(value) for value in (record.log_record.attributes or {}).values())
    return texts


# -- cicd.* / code.* on flow and task spans ----------------------------------------------


@task()
def count_rows(rows):
    return len(rows)


@flow()
def report_flow(rows):
    count_rows(rows)


def test_flow_span_has_pipeline_and_code_attributes(flowtel_telemetry):
    """The flow span carries cicd.pipeline.name/run.id/result and code.function/file/line."""
    run = report_flow([1, 2]).execute()
    attributes = dict(flowtel_telemetry.span("report_flow").attributes)
    assert {
        "cicd.pipeline.name": "report_flow",
        "cicd.pipeline.run.id": run.flow_id,
        "cicd.pipeline.result": "success",
        "code.function.name": "report_flow",
        "code.file.path": __file__,
        "code.line.number": unwrapped_line(report_flow),
        "flowtel.flow.failed_tasks": 0,
    } == attributes


def test_task_span_has_task_and_code_attributes(flowtel_telemetry):
    """A task span carries cicd.pipeline.task.name/run.id/run.result, its flow's ids and code.*."""
    run = report_flow([1, 2]).execute()
    (task_run,) = run.executed_tasks
    attributes = dict(flowtel_telemetry.span("count_rows").attributes)
    assert {
        "cicd.pipeline.task.name": "count_rows",
        "cicd.pipeline.task.run.id": task_run.task_id,
        "cicd.pipeline.task.run.result": "success",
        "cicd.pipeline.name": "report_flow",
        "cicd.pipeline.run.id": run.flow_id,
        "code.function.name": "count_rows",
        "code.file.path": __file__,
        "code.line.number": unwrapped_line(count_rows),
    } == attributes


def test_task_in_a_with_block_of_a_flow_that_is_not_running_carries_its_ids(flowtel_telemetry):
    """A task called inside ``with run:`` of a flow that is not running (a finished one here)
    carries that flow's name and run id, and so do its messages."""

    @task
    def tidy(this_task=None):
        this_task.log_info("tidied")

    run = report_flow([1]).execute()
    with run:
        tidy()
    (task_span,) = [s for s in flowtel_telemetry.spans if s.name == "tidy"]
    (record,) = [r.log_record for r in flowtel_telemetry.logs if r.log_record.body == "tidied"]
    expected = ("report_flow", run.flow_id)
    assert [expected, expected] == [
        (task_span.attributes["cicd.pipeline.name"], task_span.attributes["cicd.pipeline.run.id"]),
        (record.attributes["cicd.pipeline.name"], record.attributes["cicd.pipeline.run.id"]),
    ]


class Warehouse:
    @task(task_name="restock")
    def restock(self, item):
        return item

    @flow(flow_name="warehouse-run")
    def run(self):
        self.restock("bolts")


def test_method_flows_use_the_qualified_name_and_custom_names(flowtel_telemetry):
    """Methods report code.function.name as Class.method; custom names become pipeline names."""
    Warehouse().run().execute()
    flow_span = flowtel_telemetry.span("warehouse-run")
    task_span = flowtel_telemetry.span("restock")
    assert ("warehouse-run", "Warehouse.run") == (
        flow_span.attributes["cicd.pipeline.name"],
        flow_span.attributes["code.function.name"],
    )
    assert ("restock", "Warehouse.restock") == (
        task_span.attributes["cicd.pipeline.task.name"],
        task_span.attributes["code.function.name"],
    )


def test_successful_run_has_unset_status_and_no_error_attributes(flowtel_telemetry):
    """A successful run leaves status UNSET, with no error.type and no exception event."""
    report_flow([1]).execute()
    for span in flowtel_telemetry.spans:
        assert StatusCode.UNSET == span.status.status_code
        assert "error.type" not in span.attributes
        assert [] == [event.name for event in span.events if event.name == "exception"]


# -- failure ---------------------------------------------------------------------------


@flow()
def quota_flow():
    count_rows([1])
    raise QuotaExceeded("daily quota of 100 reached")


def test_failed_flow_span_has_error_status_exception_event_and_error_type(flowtel_telemetry):
    """A failing flow: status ERROR 'Type: message', an exception event, fully qualified error.type."""
    with pytest.raises(QuotaExceeded) as raised:
        quota_flow().execute()
    span = flowtel_telemetry.span("quota_flow")
    qualified = f"{QuotaExceeded.__module__}.QuotaExceeded"
    assert StatusCode.ERROR == span.status.status_code
    assert "QuotaExceeded: daily quota of 100 reached" == span.status.description
    assert qualified == span.attributes["error.type"]
    assert "failure" == span.attributes["cicd.pipeline.result"]
    (event,) = [event for event in span.events if event.name == "exception"]
    assert qualified == event.attributes["exception.type"]
    assert "daily quota of 100 reached" == event.attributes["exception.message"]
    stacktrace = event.attributes["exception.stacktrace"]
    assert True is ("in quota_flow" in stacktrace and "QuotaExceeded" in stacktrace)
    assert "daily quota of 100 reached" == str(raised.value)


@task()
def parse_amount(text):
    return int(text)


@flow()
def parse_flow():
    parse_amount("12")
    parse_amount("twelve")


def test_failed_task_marks_task_and_flow_spans_with_builtin_error_type(flowtel_telemetry):
    """A task raising ValueError: task and flow spans ERROR with error.type builtins.ValueError."""
    with pytest.raises(ValueError):
        parse_flow().execute()
    ok, failed = sorted(flowtel_telemetry.spans_named("parse_amount"), key=lambda s: s.start_time)
    flow_span = flowtel_telemetry.span("parse_flow")
    message = "ValueError: invalid literal for int() with base 10: 'twelve'"
    assert ("success", StatusCode.UNSET) == (
        ok.attributes["cicd.pipeline.task.run.result"],
        ok.status.status_code,
    )
    assert ("failure", StatusCode.ERROR, message, "builtins.ValueError") == (
        failed.attributes["cicd.pipeline.task.run.result"],
        failed.status.status_code,
        failed.status.description,
        failed.attributes["error.type"],
    )
    assert ("failure", StatusCode.ERROR, message, "builtins.ValueError") == (
        flow_span.attributes["cicd.pipeline.result"],
        flow_span.status.status_code,
        flow_span.status.description,
        flow_span.attributes["error.type"],
    )
    (event,) = [event for event in failed.events if event.name == "exception"]
    assert (
        "invalid literal for int() with base 10: 'twelve'" == event.attributes["exception.message"]
    )


def test_user_error_propagates_as_the_same_object(flowtel_telemetry):
    """Telemetry does not wrap or replace a user's exception: the same object reaches the caller."""
    error = QuotaExceeded("the very object")

    @flow()
    def raising_flow():
        raise error

    with pytest.raises(QuotaExceeded) as raised:
        raising_flow().execute()
    assert error is raised.value


@flow(flow_config=Flow_Run__Config(raise_flow_error=False))
def quiet_failing_flow():
    raise QuotaExceeded("over quota")


def test_flow_failure_without_raise_is_still_an_error_span(flowtel_telemetry):
    """With raise_flow_error=False the run returns, but its span is still ERROR with result failure."""
    run = quiet_failing_flow().execute()
    span = flowtel_telemetry.span("quiet_failing_flow")
    assert "failed" == run.flow_status
    assert (StatusCode.ERROR, "QuotaExceeded: over quota", "failure") == (
        span.status.status_code,
        span.status.description,
        span.attributes["cicd.pipeline.result"],
    )


# -- tolerated failure -----------------------------------------------------------------


@task(raise_on_error=False)
def flaky_upload(name):
    raise ConnectionError(f"upload of {name} refused")


@flow()
def tolerant_flow():
    flaky_upload("a.csv")
    count_rows([1, 2, 3])
    flaky_upload("b.csv")
    return "done"


def test_tolerated_task_failure_marks_only_the_task_span(flowtel_telemetry):
    """raise_on_error=False: the task spans are ERROR, the flow span is not, failed_tasks counts them."""
    run = tolerant_flow().execute()
    assert "completed" == run.flow_status
    for span in flowtel_telemetry.spans_named("flaky_upload"):
        assert (StatusCode.ERROR, "failure", "builtins.ConnectionError") == (
            span.status.status_code,
            span.attributes["cicd.pipeline.task.run.result"],
            span.attributes["error.type"],
        )
    descriptions = sorted(
        s.status.description for s in flowtel_telemetry.spans_named("flaky_upload")
    )
    assert [
        "ConnectionError: upload of a.csv refused",
        "ConnectionError: upload of b.csv refused",
    ] == descriptions
    flow_span = flowtel_telemetry.span("tolerant_flow")
    assert (StatusCode.UNSET, "success", 2) == (
        flow_span.status.status_code,
        flow_span.attributes["cicd.pipeline.result"],
        flow_span.attributes["flowtel.flow.failed_tasks"],
    )
    assert "error.type" not in flow_span.attributes
    assert [] == [event.name for event in flow_span.events if event.name == "exception"]


# -- cancellation ----------------------------------------------------------------------


@task()
async def wait_forever():
    await asyncio.sleep(60)


@flow()
async def cancels_its_task():
    pending = asyncio.create_task(wait_forever())
    await asyncio.sleep(0.01)
    pending.cancel()
    try:
        await pending
    except asyncio.CancelledError:
        pass
    return "carried on"


@flow()
async def waiting_flow():
    await wait_forever()


def test_cancelled_task_has_result_cancellation(flowtel_telemetry):
    """A task whose asyncio task is cancelled ends with result 'cancellation'."""
    run = asyncio.run(cancels_its_task().execute_async())
    span = flowtel_telemetry.span("wait_forever")
    assert "carried on" == run.flow_return_value
    assert ("cancellation", "asyncio.exceptions.CancelledError") == (
        span.attributes["cicd.pipeline.task.run.result"],
        span.attributes["error.type"],
    )


def test_cancelled_flow_has_result_cancellation_and_the_cancel_propagates(flowtel_telemetry):
    """Cancelling a running flow: CancelledError reaches the caller; flow and task say 'cancellation'."""
    run = waiting_flow()

    async def cancel_it():
        running = asyncio.create_task(run.execute_async())
        await asyncio.sleep(0.01)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    asyncio.run(cancel_it())
    flow_span = flowtel_telemetry.span("waiting_flow")
    task_span = flowtel_telemetry.span("wait_forever")
    assert "cancellation" == flow_span.attributes["cicd.pipeline.result"]
    assert "cancellation" == task_span.attributes["cicd.pipeline.task.run.result"]
    assert "cancelled" == run.flow_status


# -- artifacts and results -------------------------------------------------------------


@task()
def build_report(this_flow: Flow):
    this_flow.add_flow_artifact(
        key="report",
        description="Order totals",
        data={"total": 42.5, "orders": [1, 2]},
        artifact_type="json",
    )


@flow()
def artifact_flow(this_flow: Flow):
    build_report()
    this_flow.add_flow_result(key="orders", description="2 orders priced")


def test_artifacts_and_results_are_flow_span_attributes(flowtel_telemetry):
    """Artifacts become flowtel.artifact.<key>.* and results flowtel.result.<key> on the flow span."""
    artifact_flow().execute()
    attributes = flowtel_telemetry.span("artifact_flow").attributes
    assert "json" == attributes["flowtel.artifact.report.type"]
    assert "Order totals" == attributes["flowtel.artifact.report.description"]
    assert {"total": 42.5, "orders": [1, 2]} == json.loads(
        attributes["flowtel.artifact.report.data"]
    )
    assert "2 orders priced" == attributes["flowtel.result.orders"]
    task_attributes = flowtel_telemetry.span("build_report").attributes
    assert [] == [key for key in task_attributes if key.startswith("flowtel.artifact.")]


def test_artifacts_and_results_are_also_span_events(flowtel_telemetry):
    """Each artifact and each result adds one span event to the flow span."""
    artifact_flow().execute()
    events = {
        event.name: dict(event.attributes)
        for event in flowtel_telemetry.span("artifact_flow").events
        if event.name in ("flowtel.artifact", "flowtel.result")
    }
    assert {
        "flowtel.artifact": {
            "flowtel.artifact.key": "report",
            "flowtel.artifact.type": "json",
            "flowtel.artifact.description": "Order totals",
        },
        "flowtel.result": {
            "flowtel.result.key": "orders",
            "flowtel.result.description": "2 orders priced",
        },
    } == events


class Unjsonable:
    def __repr__(self):
        return "Unjsonable(id=7)"


class ExplodingRepr:
    def __repr__(self):
        raise RuntimeError("repr exploded")


def artifact_data_attribute(captured, data):
    """Run a flow that stores ``data`` as artifact 'x'; return the span attribute it became."""

    @flow()
    def one_artifact(this_flow: Flow):
        this_flow.add_flow_artifact(key="x", data=data, artifact_type="t", description="d")

    run = one_artifact().execute()
    assert "completed" == run.flow_status
    return captured.spans_named("one_artifact")[-1].attributes["flowtel.artifact.x.data"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"a": [1, 2], "b": None}, '{"a": [1, 2], "b": null}'),
        ([1, "two", 3.5], '[1, "two", 3.5]'),
        ((1, 2), "[1, 2]"),
        ({"when": datetime.date(2024, 1, 2)}, '{"when": "datetime.date(2024, 1, 2)"}'),
        (Unjsonable(), "Unjsonable(id=7)"),
        ({1, 2}, "{1, 2}"),
        ("plain text", "plain text"),
        (17, 17),
        (2.5, 2.5),
        (True, True),
        (2**70, str(2**70)),
        (None, "None"),
    ],
)
def test_artifact_values_are_made_otlp_safe(flowtel_telemetry, data, expected):
    """Structures become JSON, anything else its repr; OTLP scalars stay as they are."""
    assert expected == artifact_data_attribute(flowtel_telemetry, data)


def test_artifact_whose_repr_raises_never_raises(flowtel_telemetry):
    """An artifact object whose repr raises still gives a string attribute and a finished flow."""
    value = artifact_data_attribute(flowtel_telemetry, ExplodingRepr())
    assert (str, True) == (type(value), "ExplodingRepr" in value)
    nested = artifact_data_attribute(flowtel_telemetry, {"bad": ExplodingRepr()})
    assert str is type(nested)


def test_attribute_values_are_cut_to_the_flowtel_default(flowtel_telemetry, monkeypatch):
    """Without OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, values are cut to 4096 with a marker at the end."""
    monkeypatch.delenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", raising=False)
    marker = "…[cut 5921 chars]"
    assert "y" * (4096 - len(marker)) + marker == artifact_data_attribute(
        flowtel_telemetry, "y" * 10_000
    )
    structure = artifact_data_attribute(flowtel_telemetry, {"rows": list(range(5000))})
    assert ('{"rows": [0, 1, 2', 4096, True) == (
        structure[:17],
        len(structure),
        structure.endswith(" chars]"),
    )


def test_attribute_values_are_cut_to_otel_attribute_value_length_limit(
    flowtel_telemetry, monkeypatch
):
    """OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, when set, bounds artifact data, descriptions and results."""
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100")

    @flow()
    def long_values(this_flow: Flow):
        this_flow.add_flow_artifact(key="big", data=["x" * 50] * 20, description="d" * 300)
        this_flow.add_flow_result(key="summary", description="s" * 300)

    long_values().execute()
    attributes = flowtel_telemetry.span("long_values").attributes
    assert (100, 100, 100) == (
        len(attributes["flowtel.artifact.big.data"]),
        len(attributes["flowtel.artifact.big.description"]),
        len(attributes["flowtel.result.summary"]),
    )
    assert '["xxxx' == attributes["flowtel.artifact.big.data"][:6]
    assert "s" * 84 + "…[cut 216 chars]" == attributes["flowtel.result.summary"]


def test_configured_attribute_value_limit_applies_unless_the_env_sets_one(
    flowtel_telemetry, monkeypatch
):
    """configure(attribute_value_limit=...) sets flowtel's default; OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT wins."""
    monkeypatch.delenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", raising=False)
    flowtel.configure(install_providers=False, attribute_value_limit=50)
    try:
        assert 50 == len(artifact_data_attribute(flowtel_telemetry, "z" * 500))
        monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "120")
        assert 120 == len(artifact_data_attribute(flowtel_telemetry, "z" * 500))
    finally:
        flowtel.configure(install_providers=False, attribute_value_limit=4096)


# -- arguments and return values -------------------------------------------------------


@task()
def login(user, password, options=None, headers=None, flow_data=None):
    return {"user": user, "access_token": "tok-SECRET-9", "expires_in": 3600}


@flow()
def login_flow(account, api_token, this_flow: Flow):
    login(
        account,
        "hunter2",
        options={"api_key": "k-123", "depth": 2},
        headers={"Authorization": "Bearer abc.def"},
    )
    return {"account": account, "rows_marker": 3}


def test_arguments_and_return_values_are_not_recorded_by_default(flowtel_telemetry):
    """By default no argument or return value reaches span attributes, events or log records."""
    login_flow("ann", "tk-777").execute()
    keys = {key for span in flowtel_telemetry.spans for key in span.attributes}
    assert set() == keys & {"flowtel.arguments", "flowtel.return_value"}
    assert [] == [key for key in keys if key.startswith("flowtel.result.")]
    leaked = [
        text
        for text in all_telemetry_text(flowtel_telemetry)
        if any(
            secret in text
            for secret in ("hunter2", "tk-777", "k-123", "tok-SECRET-9", "rows_marker")
        )
    ]
    assert [] == leaked


@pytest.fixture
def capture_values():
    """Opt in to argument and return-value capture for one test, then opt out again."""
    flowtel.configure(install_providers=False, record_arguments=True, record_return_values=True)
    yield
    flowtel.configure(install_providers=False, record_arguments=False, record_return_values=False)


def test_opt_in_records_arguments_with_secret_keys_redacted(flowtel_telemetry, capture_values):
    """With record_arguments=True, arguments are recorded as JSON, secret-looking keys redacted."""
    login_flow("ann", "tk-777").execute()
    task_arguments = json.loads(flowtel_telemetry.span("login").attributes["flowtel.arguments"])
    flow_arguments = json.loads(
        flowtel_telemetry.span("login_flow").attributes["flowtel.arguments"]
    )
    assert {
        "user": "ann",
        "password": "[REDACTED]",
        "options": {"api_key": "[REDACTED]", "depth": 2},
        "headers": {"Authorization": "[REDACTED]"},
    } == task_arguments
    assert {"account": "ann", "api_token": "[REDACTED]"} == flow_arguments


def test_opt_in_records_return_values(flowtel_telemetry, capture_values):
    """With record_return_values=True, task and flow return values are span attributes (JSON)."""
    login_flow("ann", "tk-777").execute()
    flow_value = flowtel_telemetry.span("login_flow").attributes["flowtel.return_value"]
    assert {"account": "ann", "rows_marker": 3} == json.loads(flow_value)
    task_value = json.loads(flowtel_telemetry.span("login").attributes["flowtel.return_value"])
    assert ("ann", 3600) == (task_value["user"], task_value["expires_in"])


def test_opt_in_return_values_redact_secret_keys(flowtel_telemetry, capture_values):
    """Recorded return values redact secret-looking keys too (a returned access_token stays hidden)."""
    login_flow("ann", "tk-777").execute()
    task_value = json.loads(flowtel_telemetry.span("login").attributes["flowtel.return_value"])
    assert {"user": "ann", "access_token": "[REDACTED]", "expires_in": 3600} == task_value


def test_opt_in_capture_never_exports_secret_values(flowtel_telemetry, capture_values):
    """With capture on, no secret argument value appears anywhere in exported spans or logs."""
    login_flow("ann", "tk-777").execute()
    leaked = [
        text
        for text in all_telemetry_text(flowtel_telemetry)
        if any(secret in text for secret in ("hunter2", "tk-777", "k-123", "Bearer abc.def"))
    ]
    assert [] == leaked


def test_injected_parameters_are_not_recorded_as_arguments(flowtel_telemetry, capture_values):
    """this_flow / flow_data injected by flowtel are not part of the recorded arguments."""
    login_flow("ann", "tk-777").execute()
    task_arguments = json.loads(flowtel_telemetry.span("login").attributes["flowtel.arguments"])
    flow_arguments = json.loads(
        flowtel_telemetry.span("login_flow").attributes["flowtel.arguments"]
    )
    assert set() == (set(task_arguments) | set(flow_arguments)) & {"this_flow", "flow_data"}


def test_record_options_must_be_booleans():
    """configure(record_arguments=...) rejects non-bool values with a TypeError naming the option."""
    with pytest.raises(TypeError, match="record_arguments"):
        flowtel.configure(install_providers=False, record_arguments="yes")


# -- timeout ---------------------------------------------------------------------------


@task(timeout_seconds=0.05, raise_on_error=False)
async def slow_call():
    await asyncio.sleep(5)


@flow()
async def timeout_task_flow():
    await slow_call()


@flow(timeout_seconds=0.05)
async def slow_flow():
    await asyncio.sleep(5)


def test_task_that_hits_its_timeout_has_result_timeout(flowtel_telemetry):
    """A task stopped by its timeout_seconds ends with result 'timeout', status ERROR."""
    timeout_task_flow().execute()
    span = flowtel_telemetry.span("slow_call")
    assert (
        "timeout",
        StatusCode.ERROR,
        "TaskRunTimeoutError: task 'slow_call' timed out after 0.05 s",
        "flowtel.TaskRunTimeoutError",
    ) == (
        span.attributes["cicd.pipeline.task.run.result"],
        span.status.status_code,
        span.status.description,
        span.attributes["error.type"],
    )


def test_flow_that_hits_its_timeout_has_result_timeout(flowtel_telemetry):
    """A flow stopped by its timeout_seconds raises TimeoutError and its span says 'timeout'."""
    with pytest.raises(TimeoutError):
        slow_flow().execute()
    span = flowtel_telemetry.span("slow_flow")
    assert ("timeout", StatusCode.ERROR, "flowtel.FlowRunTimeoutError") == (
        span.attributes["cicd.pipeline.result"],
        span.status.status_code,
        span.attributes["error.type"],
    )


@task(raise_on_error=False)
def raises_timeout_itself():
    raise TimeoutError("socket read timed out")


@flow()
def own_timeout_flow():
    raises_timeout_itself()


def test_user_raised_timeout_error_is_a_failure_not_a_timeout(flowtel_telemetry):
    """A TimeoutError raised by user code (no timeout_seconds hit) is result 'failure'."""
    own_timeout_flow().execute()
    span = flowtel_telemetry.span("raises_timeout_itself")
    assert "failure" == span.attributes["cicd.pipeline.task.run.result"]
