"""@flow and @task: analyse the function once, pick a sync or async wrapper once."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, TypeVar, overload

from ._config import Flow_Run__Config
from ._context import current_flow
from ._flow import Flow
from ._function_info import (
    FLOW_INJECTABLE,
    TASK_INJECTABLE,
    FunctionInfo,
    check_decoratable,
    check_options,
)
from ._task import Task, TaskDefinition, run_task, run_task_async

try:
    from typing import ParamSpec
except ImportError:  # Python 3.9 type checkers only; runtime needs 3.10+
    from typing_extensions import ParamSpec  # type: ignore[assignment]

P = ParamSpec("P")
R = TypeVar("R")

TASK_OPTIONS = ("task_name", "raise_on_error")
FLOW_OPTIONS = ("flow_config", "flow_name", "flow_id")


# -- @task -----------------------------------------------------------------------------


@overload
def task(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def task(
    *, task_name: str | None = None, raise_on_error: bool = True
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def task(fn: Any = None, /, **options: Any) -> Any:
    """Make a function (or method) a task: each call is a tracked task run of the current flow.

    Use as ``@task``, ``@task()`` or ``@task(task_name=..., raise_on_error=False)``.
    The call runs at once and returns the function's value (an ``async def`` task returns
    a coroutine to await). Parameters named ``this_task``, ``this_flow``, ``task_data`` or
    ``flow_data`` that the caller does not pass are injected.
    """
    check_options("task", options, TASK_OPTIONS)
    if fn is None:
        return lambda target: _make_task(target, options)
    return _make_task(fn, options)


def _make_task(target: Any, options: dict[str, Any]) -> Callable[..., Any]:
    check_decoratable("task", target)
    definition = TaskDefinition(
        FunctionInfo(target, TASK_INJECTABLE),
        task_name=options.get("task_name"),
        raise_on_error=options.get("raise_on_error", True),
    )
    new_call = Task._for_call

    if definition.info.is_async:

        @functools.wraps(target)
        async def async_task_call(*args: Any, **kwargs: Any) -> Any:
            return await run_task_async(new_call(definition, current_flow.get()), args, kwargs)

        wrapper: Callable[..., Any] = async_task_call
    else:

        @functools.wraps(target)
        def task_call(*args: Any, **kwargs: Any) -> Any:
            return run_task(new_call(definition, current_flow.get()), args, kwargs)

        wrapper = task_call
    wrapper.task_definition = definition  # type: ignore[attr-defined]
    return wrapper


# -- @flow -----------------------------------------------------------------------------


@overload
def flow(fn: Callable[P, Awaitable[Any]] | Callable[P, Any], /) -> Callable[P, Flow]: ...


@overload
def flow(
    *,
    flow_config: Flow_Run__Config | None = None,
    flow_name: str | None = None,
    flow_id: str | None = None,
) -> Callable[[Callable[P, Any]], Callable[P, Flow]]: ...


def flow(fn: Any = None, /, **options: Any) -> Any:
    """Make a function (or method) a flow: each call returns a new, set-up Flow to execute().

    Use as ``@flow``, ``@flow()`` or ``@flow(flow_config=..., flow_name=..., flow_id=...)``.
    Parameters named ``this_flow`` or ``flow_data`` that the caller does not pass are
    injected.
    """
    check_options("flow", options, FLOW_OPTIONS)
    # Validate now, at decoration time, rather than at the first call.
    Flow(**options)
    if fn is None:
        return lambda target: _make_flow(target, options)
    return _make_flow(fn, options)


def _make_flow(target: Any, options: dict[str, Any]) -> Callable[..., Flow]:
    check_decoratable("flow", target)
    info = FunctionInfo(target, FLOW_INJECTABLE)
    flow_config = options.get("flow_config")
    flow_name = options.get("flow_name") or info.function_name
    flow_id = options.get("flow_id")

    @functools.wraps(target)
    def flow_call(*args: Any, **kwargs: Any) -> Flow:
        return Flow(flow_config, flow_name, flow_id)._bind(info, args, kwargs)

    flow_call.flow_info = info  # type: ignore[attr-defined]
    return flow_call
