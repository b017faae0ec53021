"""The telemetry runtime: internal errors never break a flow, and fail loudly under tests."""

from __future__ import annotations

import logging

import pytest

from flowtel import flow, get_current_flow, get_current_task, task
from flowtel.telemetry._runtime import RUNTIME


class BrokenTracerProvider:
    """A tracer provider whose spans cannot start (a broken SDK or exporter set-up)."""

    def get_tracer(self, *args, **kwargs):
        return self

    def start_span(self, *args, **kwargs):
        raise RuntimeError("broken tracer")


@task
def add_one(x):
    return x + 1


@flow
def adding_flow(x):
    return add_one(add_one(x))


@pytest.fixture
def broken_tracing():
    """flowtel emits through a tracer provider that raises on every span start."""
    RUNTIME.use_providers(BrokenTracerProvider(), None, None)
    yield
    RUNTIME.use_providers()


def test_internal_errors_do_not_break_the_flow_and_are_logged_once(broken_tracing, caplog):
    """With internal errors not raised (production), flows complete and each place logs once."""
    RUNTIME.raise_internal_errors = False
    with caplog.at_level(logging.ERROR, logger="flowtel.telemetry"):
        runs = [adding_flow(1).execute() for _ in range(3)]
    assert [3, 3, 3] == [run.flow_return_value for run in runs]
    assert ["completed"] * 3 == [run.flow_status for run in runs]
    places = [r.getMessage().split(" (the flow goes on")[0] for r in caplog.records]
    assert [
        "flowtel telemetry error in flow start",
        "flowtel telemetry error in task start",
    ] == places


def test_internal_errors_raise_under_the_test_kit(broken_tracing):
    """With internal errors raised (tests), the error surfaces at the call."""
    with pytest.raises(RuntimeError, match="broken tracer"):
        add_one(1)
    with pytest.raises(RuntimeError, match="broken tracer"):
        adding_flow(1).execute()


def test_a_failing_span_start_leaves_no_current_run_behind(broken_tracing):
    """When a span start raises under the test kit, no current flow or task stays set."""
    with pytest.raises(RuntimeError):
        add_one(1)
    assert (None, None) == (get_current_flow(), get_current_task())
    with pytest.raises(RuntimeError):
        adding_flow(1).execute()
    assert (None, None) == (get_current_flow(), get_current_task())
