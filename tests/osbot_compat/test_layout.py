"""flowtel.osbot mirrors osbot_utils.helpers.flows: every module path and the names it gives."""

from __future__ import annotations

import importlib

import pytest

LAYOUT = {
    "Flow": ["Flow", "FLOW__RANDOM_ID__PREFIX", "FLOW__RANDOM_NAME__PREFIX", "flow_events"],
    "Task": ["Task", "TASK__RANDOM_ID__PREFIX", "Flow"],
    "decorators.flow": ["flow", "Flow"],
    "decorators.task": ["task", "Task"],
    "actions.Flow__Data": ["Flow__Data"],
    "actions.Flow__Events": ["Flow_Events", "flow_events", "Flow_Run__Event_Type"],
    "actions.Flow__Stats__Collector": [
        "Flow__Stats__Collector",
        "FLOW__ERROR_MESSAGE__TASK_FAILED",
    ],
    "actions.Task__Stats__Collector": ["Task__Stats__Collector"],
    "models.Flow_Run__Config": ["Flow_Run__Config"],
    "models.Flow_Run__Event": ["Flow_Run__Event"],
    "models.Flow_Run__Event_Data": ["Flow_Run__Event_Data"],
    "models.Flow_Run__Event_Type": ["Flow_Run__Event_Type"],
    "models.Schema__Flow__Artifact": ["Schema__Flow__Artifact"],
    "models.Schema__Flow__Result": ["Schema__Flow__Result"],
    "schemas.Schema__Flow": ["Schema__Flow"],
    "schemas.Schema__Flow__Data": ["Schema__Flow__Data"],
    "schemas.Schema__Flow__Log": ["Schema__Flow__Log"],
    "schemas.Schema__Flow__Stats": ["Schema__Flow__Stats"],
    "schemas.Schema__Flow__Status": ["Schema__Flow__Status"],
    "schemas.Schema__Flow__Task__Data": ["Schema__Flow__Task__Data"],
    "schemas.Schema__Task__Stats": ["Schema__Task__Stats"],
}


@pytest.mark.parametrize("module_path", sorted(LAYOUT))
def test_module_path_gives_osbots_names(module_path):
    """flowtel.osbot.<path> exists and has the names OSBot code imports from that path."""
    module = importlib.import_module(f"flowtel.osbot.{module_path}")
    assert [] == [name for name in LAYOUT[module_path] if not hasattr(module, name)]
    assert set(LAYOUT[module_path]) <= set(module.__all__)


def test_shared_names_are_the_same_objects_everywhere():
    """A name given by several modules (Flow, Task, flow_events) is one object."""
    from flowtel.osbot.actions.Flow__Events import flow_events
    from flowtel.osbot.decorators.flow import Flow as decorator_flow_class
    from flowtel.osbot.Flow import Flow
    from flowtel.osbot.Flow import flow_events as flow_module_events
    from flowtel.osbot.Task import Flow as task_module_flow

    assert flow_events is flow_module_events
    assert Flow is decorator_flow_class is task_module_flow
