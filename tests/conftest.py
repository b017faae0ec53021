"""Shared test set-up: internal telemetry errors raise, and global state is reset per test.

Also the fixtures several modules use: ``events`` (a listener recording every public event) and
``delays`` (a fake clock for retry sleeps). Plain helpers are in helpers.py.
"""

from __future__ import annotations

import sys

import pytest

import flowtel._execution
from flowtel import flow_events
from flowtel.telemetry._runtime import RUNTIME


@pytest.fixture(autouse=True)
def _clean_flowtel_state():
    """Each test starts with no listeners, default telemetry options, and the real stdout."""
    RUNTIME.reset()
    RUNTIME.raise_internal_errors = True
    flow_events.reset()
    stdout = sys.stdout
    yield
    flow_events.reset()
    RUNTIME.reset()
    assert sys.stdout is stdout, "a flow left sys.stdout replaced"


@pytest.fixture
def events():
    """Every public event raised during the test."""
    recorded: list = []
    flow_events.event_listeners.append(recorded.append)
    return recorded


@pytest.fixture
def delays(monkeypatch):
    """Replace flowtel's retry sleeps (sync and async) with a fake clock; returns the requested delays."""
    requested: list[float] = []

    async def fake_async_sleep(seconds):
        requested.append(seconds)

    monkeypatch.setattr(flowtel._execution, "sleep", requested.append)
    monkeypatch.setattr(flowtel._execution, "async_sleep", fake_async_sleep)
    return requested
