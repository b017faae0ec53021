"""flowtel.osbot tests: each test starts and ends with no OSBot-style event listeners."""

from __future__ import annotations

import pytest

from flowtel.osbot.actions.Flow__Events import flow_events


@pytest.fixture(autouse=True)
def _clean_osbot_events():
    """No flowtel.osbot listeners leak between tests."""
    flow_events.reset()
    yield
    flow_events.reset()


@pytest.fixture
def osbot_events():
    """Every OSBot-style event raised during the test."""
    recorded: list = []
    flow_events.event_listeners.append(recorded.append)
    return recorded
