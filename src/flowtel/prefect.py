"""Prefect's calling convention on flowtel: change ``from prefect import ...`` to this module.

Calling a flow runs it and returns its result (``return_state=True`` returns a State with
``is_completed()``, ``is_failed()`` and ``result()``); an async flow returns a coroutine.
Tasks behave as in flowtel (and as in Prefect): a call runs at once and returns the value,
``submit()`` and ``map()`` return futures. Prints are not captured unless
``log_prints=True``, as in Prefect. The README lists what maps to what.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from . import _decorators
from ._context import current_flow
from ._function_info import unknown_options
from ._futures import TaskRunFuture, ThreadPoolTaskRunner, as_completed, unmapped, wait
from ._options import COMMON_OPTIONS, FLOW_ONLY_OPTIONS, TASK_ONLY_OPTIONS
from ._run_logger import get_run_logger
from ._state import State
from ._task import (
    Task,
    run_task,
    run_task_async,
    run_task_with_options,
    run_task_with_options_async,
)

__all__ = [
    "State",
    "TaskRunFuture",
    "ThreadPoolTaskRunner",
    "as_completed",
    "flow",
    "get_run_logger",
    "task",
    "unmapped",
    "wait",
]

FLOW_KEYWORDS = (*COMMON_OPTIONS, *FLOW_ONLY_OPTIONS)
TASK_KEYWORDS = (*COMMON_OPTIONS, *TASK_ONLY_OPTIONS)


def _check(kind: str, options: dict[str, Any], valid: tuple[str, ...]) -> None:
    unknown = unknown_options(options, valid)
    if unknown:
        raise TypeError(
            f"flowtel.prefect.{kind}() does not support {unknown}; "
            f"supported keywords: {', '.join(valid)} (see the README's Prefect table)"
        )


def flow(fn: Any = None, /, **options: Any) -> Any:
    """Prefect's ``@flow``: calling the function runs the flow and returns its result."""
    _check("flow", options, FLOW_KEYWORDS)
    options.setdefault("log_prints", False)
    if fn is None:
        return lambda target: _make_flow(target, options)
    return _make_flow(fn, options)


def _make_flow(target: Any, options: dict[str, Any]) -> Callable[..., Any]:
    core = _decorators.flow(**options)(target)
    info = core.flow_info  # type: ignore[attr-defined]

    if info.is_async:

        @functools.wraps(target)
        async def async_flow_call(*args: Any, return_state: bool = False, **kwargs: Any) -> Any:
            run = core(*args, **kwargs)
            run._wrapper = async_flow_call
            try:
                await run.execute_async()
            except Exception:
                if return_state:
                    return run.state
                raise
            return run.state if return_state else run.flow_return_value

        wrapper: Callable[..., Any] = async_flow_call
    else:

        @functools.wraps(target)
        def flow_call(*args: Any, return_state: bool = False, **kwargs: Any) -> Any:
            run = core(*args, **kwargs)
            run._wrapper = flow_call
            try:
                run.execute()
            except Exception:
                if return_state:
                    return run.state
                raise
            return run.state if return_state else run.flow_return_value

        wrapper = flow_call
    wrapper.name = core.name  # type: ignore[attr-defined]
    wrapper.fn = target  # type: ignore[attr-defined]
    wrapper.flowtel_flow = core  # type: ignore[attr-defined]
    return wrapper


def task(fn: Any = None, /, **options: Any) -> Any:
    """Prefect's ``@task``: a call runs the task; ``return_state=True`` gives its State."""
    _check("task", options, TASK_KEYWORDS)
    if fn is None:
        return lambda target: _make_task(target, options)
    return _make_task(fn, options)


def _make_task(target: Any, options: dict[str, Any]) -> Callable[..., Any]:
    core = _decorators.task(**options)(target)
    definition = core.task_definition  # type: ignore[attr-defined]
    new_call = Task._for_call

    if definition.info.is_async:
        run_async = (
            run_task_with_options_async if definition.options is not None else run_task_async
        )

        @functools.wraps(target)
        async def async_task_call(*args: Any, return_state: bool = False, **kwargs: Any) -> Any:
            run = new_call(definition, current_flow.get())
            try:
                value = await run_async(run, args, kwargs)
            except Exception:
                if return_state:
                    return run.state
                raise
            return run.state if return_state else value

        wrapper: Callable[..., Any] = async_task_call
    else:
        run_sync = run_task_with_options if definition.options is not None else run_task

        @functools.wraps(target)
        def task_call(*args: Any, return_state: bool = False, **kwargs: Any) -> Any:
            run = new_call(definition, current_flow.get())
            try:
                value = run_sync(run, args, kwargs)
            except Exception:
                if return_state:
                    return run.state
                raise
            return run.state if return_state else value

        wrapper = task_call
    wrapper.submit = core.submit  # type: ignore[attr-defined]
    wrapper.map = core.map  # type: ignore[attr-defined]
    wrapper.name = core.name  # type: ignore[attr-defined]
    wrapper.task_definition = definition  # type: ignore[attr-defined]
    wrapper.fn = target  # type: ignore[attr-defined]
    definition.wrapper = wrapper
    return wrapper
