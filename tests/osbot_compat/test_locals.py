"""_locals: ``__locals__()`` gives what OSBot-Utils' Type_Safe.__locals__() gives for the same object.

OSBot-Utils' own implementation (``type_safe_step_default_kwargs.locals``) is the oracle.
"""

from __future__ import annotations

import functools

from osbot_utils.type_safe.type_safe_core.steps.Type_Safe__Step__Default_Kwargs import (
    type_safe_step_default_kwargs,
)

from flowtel.osbot._locals import Locals
from flowtel.osbot.actions.Flow__Stats__Collector import Flow__Stats__Collector
from flowtel.osbot.actions.Task__Stats__Collector import Task__Stats__Collector
from flowtel.osbot.models.Flow_Run__Event import Flow_Run__Event
from flowtel.osbot.schemas.Schema__Task__Stats import Schema__Task__Stats


class Base(Locals):
    inherited = "base"
    label: str

    def __init__(self) -> None:
        self.label = "set"
        self.__hidden = 1
        self._kept = 2
        self.__dunder__ = 3
        self.callback = print

    def method(self) -> None:
        return None

    @classmethod
    def maker(cls) -> Base:
        return cls()

    @staticmethod
    def helper() -> int:
        return 1

    @property
    def shown(self) -> int:
        return self._kept * 10

    @functools.cached_property
    def cached(self) -> int:
        return 7


class Child(Base):
    count: int = 5


def test_locals_follows_osbot_utils_rules_for_every_kind_of_attribute():
    """Class and annotated names along the MRO plus instance attributes; no functions or __names."""
    child = Child()
    expected = type_safe_step_default_kwargs.locals(child)
    assert expected == child.__locals__()
    assert sorted(expected) == [
        "_Base__hidden",
        "_kept",
        "cached",
        "callback",
        "count",
        "helper",
        "inherited",
        "label",
        "shown",
    ]


def test_collectors_have_exactly_osbot_utils_attributes():
    """Each stats collector's __locals__() lists OSBot-Utils' attributes and their values."""
    task_collector, flow_collector = Task__Stats__Collector(), Flow__Stats__Collector()
    assert {"duration": task_collector.duration, "stats": task_collector.stats} == (
        task_collector.__locals__()
    )
    assert {
        "duration": flow_collector.duration,
        "stats": flow_collector.stats,
        "task_execution_counter": 0,
    } == flow_collector.__locals__()
    for collector in (task_collector, flow_collector):
        assert type_safe_step_default_kwargs.locals(collector) == collector.__locals__()


def test_records_give_their_fields():
    """A record's __locals__() is its fields and their values, as OSBot-Utils computes it."""
    stats = Schema__Task__Stats(task_id="t", task_name="load")
    event = Flow_Run__Event()
    assert [
        "duration",
        "error_message",
        "execution_order",
        "parent_flow_id",
        "status",
        "task_id",
        "task_name",
    ] == sorted(stats.__locals__())
    assert ("t", "load") == (stats.__locals__()["task_id"], stats.__locals__()["task_name"])
    for record in (stats, event):
        assert type_safe_step_default_kwargs.locals(record) == record.__locals__()
