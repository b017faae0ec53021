"""The public test kit flowtel.testing: the pytest11 fixture and capture_telemetry()."""

from __future__ import annotations

import contextvars
import logging
from importlib.metadata import entry_points

import pytest
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from flowtel import flow, task
from flowtel.telemetry._runtime import RUNTIME
from flowtel.testing import capture_telemetry

pytest_plugins = ["pytester"]


@task()
def add(a, b):
    return a + b


@flow()
def adding(this_flow):
    this_flow.log_info("adding")
    return add(1, 2)


USER_TEST_FILE = """
from flowtel import flow, task


@task()
def add(a, b):
    return a + b


@flow()
def adding(this_flow):
    this_flow.log_info("adding")
    return add(1, 2)


def test_user_flow(flowtel_telemetry):
    run = adding().execute()
    assert run.flow_return_value == 3
    root = flowtel_telemetry.span("adding")
    assert [s.name for s in flowtel_telemetry.children(root)] == ["add"]
    assert flowtel_telemetry.log_bodies() == ["adding"]
    assert [p.value for p in flowtel_telemetry.metric_points("flowtel.flow.runs")] == [1]


def test_each_test_gets_a_fresh_capture(flowtel_telemetry):
    assert flowtel_telemetry.spans == []
    adding().execute()
    assert len(flowtel_telemetry.spans) == 2


def test_missing_span_is_reported(flowtel_telemetry):
    adding().execute()
    flowtel_telemetry.span("no_such_span")
"""


def test_fixture_is_registered_through_the_pytest11_entry_point():
    """The package declares a pytest11 entry point named flowtel pointing at flowtel.testing."""
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert "flowtel.testing" == plugins.get("flowtel")


def test_user_project_can_use_the_fixture_without_any_conftest(pytester):
    """A user's test file (no conftest, no imports of the kit) gets flowtel_telemetry from the plugin."""
    pytester.makepyfile(test_user_flows=USER_TEST_FILE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*expected one span named 'no_such_span', found 0*"])


def test_capture_telemetry_collects_spans_logs_and_metrics():
    """capture_telemetry() captures a block's spans, log records and metric points in memory."""
    with capture_telemetry() as captured:
        adding().execute()
    assert ["add", "adding"] == [span.name for span in captured.spans]
    assert ["adding"] == captured.log_bodies()
    assert [1] == [point.value for point in captured.metric_points("flowtel.flow.runs")]


def test_capture_telemetry_restores_the_previous_capture():
    """A nested capture gets only its block's telemetry; the outer one resumes after it."""
    with capture_telemetry() as outer:
        adding().execute()
        with capture_telemetry() as inner:
            adding().execute()
        adding().execute()
    assert (4, 2) == (len(outer.spans), len(inner.spans))
    assert ["adding", "adding"] == outer.log_bodies()
    assert ["adding"] == inner.log_bodies()


def test_capture_telemetry_leaves_nothing_installed_after_the_block():
    """After the block flowtel emits through the global providers again, not into the capture."""
    with capture_telemetry() as captured:
        pass
    adding().execute()
    assert ([], [], None) == (captured.spans, captured.logs, RUNTIME.tracer())


def test_capture_telemetry_restores_the_internal_error_setting():
    """raise_internal_errors is on inside the block and back to its old value after it."""
    RUNTIME.raise_internal_errors = False
    with capture_telemetry():
        inside = RUNTIME.raise_internal_errors
    assert (True, False) == (inside, RUNTIME.raise_internal_errors)


def test_capture_telemetry_restores_even_when_the_block_raises():
    """An exception in the block still restores the previous providers."""
    with pytest.raises(ZeroDivisionError), capture_telemetry() as captured:
        raise ZeroDivisionError("in the block")
    adding().execute()
    assert ([], None) == (captured.spans, RUNTIME.tracer())


def test_helpers(flowtel_telemetry):
    """span() insists on exactly one match, children() is ordered, clear() forgets spans and logs."""
    adding().execute()
    adding().execute()
    with pytest.raises(AssertionError, match="expected one span named 'adding', found 2"):
        flowtel_telemetry.span("adding")
    first = flowtel_telemetry.spans_named("adding")[0]
    assert ["add"] == [span.name for span in flowtel_telemetry.children(first)]
    flowtel_telemetry.clear()
    assert ([], []) == (flowtel_telemetry.spans, flowtel_telemetry.logs)
    assert [2] == [p.value for p in flowtel_telemetry.metric_points("flowtel.flow.runs")]


class ExplodingProcessor(SpanProcessor):
    """A span processor that fails when a span named 'fragile' starts (a broken pipeline)."""

    def on_start(self, span, parent_context=None):
        if span.name == "fragile":
            raise RuntimeError("exploding span processor")


@task()
def fragile():
    return "ran"


@flow()
def fragile_flow():
    fragile()
    return fragile()


def test_internal_telemetry_errors_raise_under_the_kit():
    """Under the kit a telemetry failure inside flowtel raises instead of being logged."""
    with capture_telemetry() as captured:
        captured.tracer_provider.add_span_processor(ExplodingProcessor())
        with pytest.raises(RuntimeError, match="exploding span processor"):
            # A fresh context keeps state of the aborted task call out of this test.
            contextvars.copy_context().run(fragile_flow().execute)


def test_internal_telemetry_errors_are_logged_once_outside_the_kit(caplog):
    """Outside the kit the flow completes and the telemetry failure is logged once."""
    provider = TracerProvider()
    provider.add_span_processor(ExplodingProcessor())
    RUNTIME.use_providers(provider, None, None)
    RUNTIME.raise_internal_errors = False
    with caplog.at_level(logging.ERROR, logger="flowtel.telemetry"):
        run = fragile_flow().execute()
    reports = [r for r in caplog.records if r.name == "flowtel.telemetry"]
    assert ("completed", "ran") == (run.flow_status, run.flow_return_value)
    assert 1 == len(reports)
    assert True is ("exploding span processor" in reports[0].getMessage())
