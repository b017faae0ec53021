"""Task: a flowtel Task that can be made by hand the OSBot-Utils way, with stats and events."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

from .. import _capture
from .._context import current_flow
from .._flow import Flow as _CoreFlow
from .._function_info import TASK_INJECTABLE, FunctionInfo
from .._task import Task as _CoreTask
from .._task import TaskDefinition, run_task, run_task_async
from .actions.Task__Stats__Collector import Task__Stats__Collector, status_of
from .Flow import Flow
from .models.Flow_Run__Event_Data import Flow_Run__Event_Data
from .models.Flow_Run__Event_Type import Flow_Run__Event_Type

__all__ = ["TASK__RANDOM_ID__PREFIX", "Flow", "Task", "flow_on_stack"]

TASK__RANDOM_ID__PREFIX = "task_id__"

_DEBUG = logging.DEBUG


def flow_on_stack(depth: int) -> _CoreFlow | None:
    """The first Flow in the local variables of the frame ``depth`` calls above the caller,
    or of the frames that called it; None when there is none.

    OSBot-Utils' way of finding a task's flow, and flowtel's only frame walking. It is the
    slow path: flowtel.osbot uses it only when no flow is current (no running flow, no
    ``with flow:``); flowtel's core never does.
    """
    frame: FrameType | None = sys._getframe(depth + 1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, _CoreFlow):
                return value
        frame = frame.f_back
    return None


class Task(_CoreTask):
    """One task call. By hand, as in OSBot-Utils::

        with Task() as task:
            task.task_target = load
            task.task_args = (day,)
            value = task.execute__sync()      # or: await task.execute__async()

    The task joins the current flow (a running flow, or ``with flow:``), else the closest
    Flow in a caller's local variables (``find_flow()``), else runs on its own. A call
    records ``task_stats`` (a Task__Stats__Collector) and, in a flowtel.osbot Flow, an entry
    in ``flow.flow_data`` and OSBot-shaped events. Failures re-raise the task's own
    exception (OSBot-Utils wraps it in a generic Exception).
    """

    # Class-level defaults: decorated calls are made without __init__ (see Task._for_call).
    task_stats: Task__Stats__Collector | None = None
    _target: Callable[..., Any] | None = None

    def __init__(
        self,
        task_target: Callable[..., Any] | None = None,
        task_args: tuple = (),
        task_kwargs: dict[str, Any] | None = None,
        task_name: str | None = None,
        raise_on_error: bool = True,
        task_id: str | None = None,
        task_flow: _CoreFlow | None = None,
    ) -> None:
        super().__init__(task_name=task_name, raise_on_error=raise_on_error)
        self._target = task_target
        self._args = tuple(task_args)
        self._kwargs = dict(task_kwargs or {})
        if task_id is not None:
            self.task_id = task_id
        self.task_flow = task_flow
        self.task_stats = Task__Stats__Collector()

    def __enter__(self) -> Task:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    # -- OSBot-Utils' attributes -------------------------------------------------------------

    @property
    def task_id(self) -> str:
        """This call's run id (flowtel's 16 hex digits unless assigned)."""
        return _CoreTask.task_id.fget(self)  # type: ignore[attr-defined,no-any-return]

    @task_id.setter
    def task_id(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise TypeError(f"task_id must be a non-empty str, got {value!r}")
        self._task_id = value

    @property
    def task_target(self) -> Callable[..., Any] | None:
        """The task function (set by hand, or the decorated function)."""
        if self._target is not None:
            return self._target
        return self.definition.info.fn if self.definition is not None else None

    @task_target.setter
    def task_target(self, value: Callable[..., Any] | None) -> None:
        self._target = value

    @property
    def task_args(self) -> tuple:
        return self._args

    @task_args.setter
    def task_args(self, value: tuple) -> None:
        self._args = tuple(value)

    @property
    def task_kwargs(self) -> dict[str, Any]:
        return self._kwargs

    @task_kwargs.setter
    def task_kwargs(self, value: dict[str, Any]) -> None:
        self._kwargs = dict(value)

    def random_task_id(self) -> str:
        """A new id in OSBot-Utils' format (``task_id__`` and 8 hex digits)."""
        return TASK__RANDOM_ID__PREFIX + os.urandom(4).hex()

    def find_flow(self) -> _CoreFlow | None:
        """The current flow, else this task's flow, else the closest Flow on the call stack."""
        return current_flow.get() or self.task_flow or flow_on_stack(1)

    # -- by hand -----------------------------------------------------------------------------

    def execute__sync(self) -> Any:
        """Run ``task_target(*task_args, **task_kwargs)`` as a task call; returns its value."""
        definition = self._prepare("execute__sync")
        if definition.info.is_async:
            raise TypeError(
                f"task_target {definition.task_name!r} is async: use `await task.execute__async()`"
            )
        return run_task(self, self._args, self._with_dependencies(dict(self._kwargs)))

    async def execute__async(self) -> Any:
        """Run ``task_target`` (sync or async) as a task call; returns its value."""
        definition = self._prepare("execute__async")
        kwargs = self._with_dependencies(dict(self._kwargs))
        if definition.info.is_async:
            return await run_task_async(self, self._args, kwargs)
        return run_task(self, self._args, kwargs)

    def _prepare(self, verb: str) -> TaskDefinition:
        target = self.task_target
        if not callable(target):
            raise TypeError(
                f"Task.{verb}() needs task.task_target set to a function, got "
                f"{type(target).__name__} {target!r}"
            )
        # As find_flow(): the current flow, else the one given, else the closest on the stack.
        self.task_flow = current_flow.get() or self.task_flow or flow_on_stack(2)
        definition = TaskDefinition(
            FunctionInfo(target, TASK_INJECTABLE), self.task_name or None, self.raise_on_error
        )
        self.definition = definition
        self.task_name = definition.task_name
        return definition

    def _with_dependencies(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return with_dependencies(self, self._args, kwargs)

    # -- lifecycle: stats, flow_data and OSBot-shaped events around flowtel's run -------------

    def _begin(self, args: tuple = (), kwargs: dict | None = None) -> None:
        flow = self.task_flow
        osbot_flow = flow if isinstance(flow, Flow) else None
        order = osbot_flow.flow_stats.get_next_execution_order() if osbot_flow else 1
        stats = self.task_stats
        if stats is None:
            stats = self.task_stats = Task__Stats__Collector()
        stats.start(
            flow_id=flow.flow_id if flow is not None else "",
            task_id=self.task_id,
            task_name=self.task_name,
            execution_order=order,
        )
        if osbot_flow is not None:
            osbot_flow.flow_data.add_task(self.task_id, self.task_name, order)
            if osbot_flow._wants_events():
                osbot_flow._event(Flow_Run__Event_Type.TASK_START, self.task_event_data())
        super()._begin(args, kwargs)

    def _end(self, value: Any, error: BaseException | None) -> bool:
        flow = self.task_flow
        osbot_flow = flow if isinstance(flow, Flow) else None
        stats = self.task_stats
        if stats is not None:
            stats.end(error)
            if osbot_flow is not None:
                osbot_flow.flow_stats.add_task_stats(stats.stats)
        if error is not None and getattr(
            flow.flow_config if flow else None, "print_error_stack_trace", False
        ):
            _capture.console().write("".join(traceback.format_exception(error)))
        propagate = super()._end(value, error)
        if flow is not None and not propagate and flow.flow_config.print_finished_message:
            flow._message(_DEBUG, "Finished task '%s'", (self.task_name,), self)
        if osbot_flow is not None:
            status = status_of(error).value
            osbot_flow.flow_data.update_task(self.task_id, status, error, value)
            if osbot_flow._wants_events():
                osbot_flow._event(Flow_Run__Event_Type.TASK_STOP, self.task_event_data())
        return propagate

    def task_event_data(self) -> Flow_Run__Event_Data:
        flow = self.task_flow
        return Flow_Run__Event_Data(
            flow_name=flow.flow_name if flow is not None else None,
            flow_run_id=flow.flow_id if flow is not None else None,
            task_name=self.task_name,
            task_run_id=self.task_id,
        )

    def _log_target(self) -> tuple[_CoreFlow | None, Any]:
        # A Task made by hand and not run yet logs into the flow it would join.
        return self.task_flow or self.find_flow(), self


def with_dependencies(task: _CoreTask, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` plus the flow's ``task_dependencies()`` the task function asks for."""
    flow = task.task_flow
    if not isinstance(flow, Flow) or type(flow).task_dependencies is Flow.task_dependencies:
        return kwargs
    signature = task.definition.info.signature if task.definition is not None else None
    if signature is None:
        return kwargs
    names = list(signature.parameters)
    for name, value in flow.task_dependencies().items():
        if name in names and name not in kwargs and names.index(name) >= len(args):
            kwargs[name] = value
    return kwargs
