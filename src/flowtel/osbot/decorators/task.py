"""``@task`` of flowtel.osbot: each call is a flowtel.osbot Task call in the current flow."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..._context import current_flow
from ..._decorators import TASK_OPTIONS, _one_name
from ..._function_info import TASK_INJECTABLE, FunctionInfo, check_decoratable, check_options
from ..._futures import TaskRunFuture, TaskRunFutureList, map_calls, submit_async, submit_sync
from ..._options import RunOptions
from ..._task import (
    TaskDefinition,
    run_task,
    run_task_async,
    run_task_with_options,
    run_task_with_options_async,
)
from ..Task import Task, flow_on_stack, with_dependencies

__all__ = ["Task", "task"]


def task(fn: Any = None, /, **options: Any) -> Any:
    """Make a function (or method) a task: a call runs at once and returns its value.

    ``@task()`` as in OSBot-Utils (``@task`` works too), with ``task_name``,
    ``raise_on_error`` and the Prefect-style keywords of ``flowtel.task``. The call joins
    the current flow; with none current, the closest Flow in a caller's local variables
    (OSBot-Utils' stack search, the slow path), else runs on its own.
    """
    check_options("task", options, TASK_OPTIONS)
    if fn is None:
        return lambda target: _make_task(target, options)
    return _make_task(fn, options)


def _make_task(target: Any, options: dict[str, Any]) -> Callable[..., Any]:
    check_decoratable("task", target)
    definition = TaskDefinition(
        FunctionInfo(target, TASK_INJECTABLE),
        task_name=_one_name("task", options, "task_name"),
        raise_on_error=options.get("raise_on_error", True),
        options=RunOptions.from_keywords("task", options),
    )
    name = definition.task_name

    def new_call(args: tuple, kwargs: dict[str, Any]) -> tuple[Task, dict[str, Any]]:
        flow = current_flow.get()
        if flow is None:
            flow = flow_on_stack(2)
        call = Task._for_call(definition, flow)
        assert isinstance(call, Task)
        call._args, call._kwargs = args, kwargs
        return call, with_dependencies(call, args, kwargs)

    if definition.info.is_async:
        run_async = run_task_async if definition.options is None else run_task_with_options_async

        @functools.wraps(target)
        async def async_task_call(*args: Any, **kwargs: Any) -> Any:
            call, call_kwargs = new_call(args, kwargs)
            return await run_async(call, args, call_kwargs)

        def submit(*args: Any, **kwargs: Any) -> TaskRunFuture:
            return submit_async(async_task_call, name, args, kwargs)

        wrapper: Callable[..., Any] = async_task_call
    else:
        run = run_task if definition.options is None else run_task_with_options

        @functools.wraps(target)
        def task_call(*args: Any, **kwargs: Any) -> Any:
            call, call_kwargs = new_call(args, kwargs)
            return run(call, args, call_kwargs)

        def submit(*args: Any, **kwargs: Any) -> TaskRunFuture:
            return submit_sync(task_call, name, args, kwargs)

        wrapper = task_call

    def map(*args: Any, **kwargs: Any) -> TaskRunFutureList:
        return map_calls(submit, name, args, kwargs, wrapper, definition.info.is_async)

    wrapper.submit = submit  # type: ignore[attr-defined]
    wrapper.map = map  # type: ignore[attr-defined]
    wrapper.task_definition = definition  # type: ignore[attr-defined]
    wrapper.name = name  # type: ignore[attr-defined]
    wrapper.fn = target  # type: ignore[attr-defined]
    definition.wrapper = wrapper
    return wrapper
