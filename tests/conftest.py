"""Shared test set-up: internal telemetry errors raise, and global state is reset per test."""

from __future__ import annotations

import sys

import pytest

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
