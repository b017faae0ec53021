"""@flow and @task: analyse the function once, pick a sync or async wrapper once."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar, overload

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
from ._futures import (
    TaskRunFuture,
    TaskRunFutureList,
    TaskRunner,
    map_calls,
    submit_async,
    submit_sync,
)
from ._options import COMMON_OPTIONS, FLOW_ONLY_OPTIONS, TASK_ONLY_OPTIONS, Hook, RunOptions
from ._task import (
    Task,
    TaskDefinition,
    run_task,
    run_task_async,
    run_task_with_options,
    run_task_with_options_async,
)
from ._unrun import AwaitWatch, mark_coroutine_function, named_copy

try:
    from typing import ParamSpec
except ImportError:  # Python 3.9 type checkers only; runtime needs 3.10+
    from typing_extensions import ParamSpec  # type: ignore[assignment]

P = ParamSpec("P")
R = TypeVar("R")

TASK_OPTIONS = ("task_name", "raise_on_error", *COMMON_OPTIONS, *TASK_ONLY_OPTIONS)
FLOW_OPTIONS = ("flow_config", "flow_name", "flow_id", *COMMON_OPTIONS, *FLOW_ONLY_OPTIONS)


# -- @task -----------------------------------------------------------------------------


@overload
def task(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def task(
    *,
    task_name: str | None = None,
    raise_on_error: bool = True,
    name: str | None = None,
    description: str | None = None,
    tags: Iterable[str] | None = None,
    retries: int | None = None,
    retry_delay_seconds: float | Sequence[float] | None = None,
    retry_jitter_factor: float | None = None,
    timeout_seconds: float | None = None,
    log_prints: bool | None = None,
    on_failure: Hook | Sequence[Hook] | None = None,
    on_completion: Hook | Sequence[Hook] | None = None,
    task_run_name: str | Callable[[], str] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def task(fn: Any = None, /, **options: Any) -> Any:
    """Make a function (or method) a task: each call is a tracked task run of the current flow.

    Use as ``@task``, ``@task()`` or ``@task(task_name=..., raise_on_error=False)``, with
    Prefect's keywords too (name, description, tags, retries, retry_delay_seconds,
    retry_jitter_factor, timeout_seconds, log_prints, on_failure, on_completion,
    task_run_name). The call runs at once and returns the function's value (an
    ``async def`` task returns a coroutine to await, and warns if that coroutine is
    dropped unstarted after a call made outside a running event loop); ``fn.submit(...)`` and
    ``fn.map(...)`` run calls concurrently and return futures. Parameters named
    ``this_task``, ``this_flow``, ``task_data`` or ``flow_data`` that the caller does not
    pass are injected.
    """
    check_options("task", options, TASK_OPTIONS)
    if fn is None:
        return lambda target: _make_task(target, options)
    return _make_task(fn, options)


def _make_task(target: Any, options: dict[str, Any]) -> Any:
    if isinstance(target, classmethod):
        # @task over @classmethod: decorate the function, bind it to the class as before.
        return classmethod(_make_task(target.__func__, options))
    check_decoratable("task", target)
    definition = TaskDefinition(
        FunctionInfo(target, TASK_INJECTABLE),
        task_name=_one_name("task", options, "task_name"),
        raise_on_error=options.get("raise_on_error", True),
        options=RunOptions.from_keywords("task", options),
    )
    new_call = Task._for_call
    name = definition.task_name

    if definition.info.is_async:
        run_async = run_task_async if definition.options is None else run_task_with_options_async

        # Python's own "never awaited" warning names the coroutine, after the function that
        # made it: copies of the runner named like the task make coroutines named like it.
        coroutine_name = getattr(target, "__name__", name)
        coroutine_qualname = getattr(target, "__qualname__", name)
        run_named = named_copy(run_async, coroutine_name, coroutine_qualname)

        async def run_call(args: tuple, kwargs: dict, watch: AwaitWatch | None) -> Any:
            if watch is not None:
                watch.started = True
            return await run_named(new_call(definition, current_flow.get()), args, kwargs)

        run_call.__name__ = coroutine_name
        run_call.__qualname__ = coroutine_qualname

        # A def returning the coroutine (not an async def) so that a call made without a
        # running loop, where a missing ``await`` is likely, can be watched at call time.
        # Imported here, not at flowtel's import: an async task needs asyncio to run anyway.
        from asyncio.events import _get_running_loop as running_loop

        @functools.wraps(target)
        def async_task_call(*args: Any, **kwargs: Any) -> Any:
            if running_loop() is not None:
                # The common case, without run_call's extra coroutine frame per call: the
                # call belongs to the flow current where it is made.
                return run_named(new_call(definition, current_flow.get()), args, kwargs)
            flow = current_flow.get()
            watch = AwaitWatch(name, flow.flow_name if flow is not None else None)
            return watch.watch(run_call(args, kwargs, watch))

        mark_coroutine_function(async_task_call)

        def submit(*args: Any, **kwargs: Any) -> TaskRunFuture:
            return submit_async(async_task_call, name, args, kwargs)

        wrapper: Callable[..., Any] = async_task_call
    else:
        run = run_task if definition.options is None else run_task_with_options

        @functools.wraps(target)
        def task_call(*args: Any, **kwargs: Any) -> Any:
            return run(new_call(definition, current_flow.get()), args, kwargs)

        def submit(*args: Any, **kwargs: Any) -> TaskRunFuture:
            return submit_sync(task_call, name, args, kwargs)

        wrapper = task_call

    def map(*args: Any, **kwargs: Any) -> TaskRunFutureList:
        return map_calls(submit, name, args, kwargs, wrapper, definition.info.is_async)

    submit.__doc__ = f"Run {name} concurrently; returns a TaskRunFuture."
    map.__doc__ = f"Submit one {name} call per item of the iterable arguments."
    wrapper.submit = submit  # type: ignore[attr-defined]
    wrapper.map = map  # type: ignore[attr-defined]
    wrapper.task_definition = definition  # type: ignore[attr-defined]
    wrapper.name = name  # type: ignore[attr-defined]
    wrapper.fn = target  # type: ignore[attr-defined]
    definition.wrapper = wrapper
    return wrapper


def _one_name(kind: str, options: dict[str, Any], seed_keyword: str) -> str | None:
    seed_name = options.get(seed_keyword)
    prefect_name = options.get("name")
    if seed_name is not None and prefect_name is not None and seed_name != prefect_name:
        raise TypeError(
            f"@{kind}() got both {seed_keyword}={seed_name!r} and name={prefect_name!r}; "
            "give one of them"
        )
    return seed_name if seed_name is not None else prefect_name


# -- @flow -----------------------------------------------------------------------------


@overload
def flow(fn: Callable[P, Awaitable[Any]] | Callable[P, Any], /) -> Callable[P, Flow]: ...


@overload
def flow(
    *,
    flow_config: Flow_Run__Config | None = None,
    flow_name: str | None = None,
    flow_id: str | None = None,
    name: str | None = None,
    description: str | None = None,
    tags: Iterable[str] | None = None,
    version: str | None = None,
    retries: int | None = None,
    retry_delay_seconds: float | Sequence[float] | None = None,
    retry_jitter_factor: float | None = None,
    timeout_seconds: float | None = None,
    log_prints: bool | None = None,
    on_failure: Hook | Sequence[Hook] | None = None,
    on_completion: Hook | Sequence[Hook] | None = None,
    flow_run_name: str | Callable[[], str] | None = None,
    task_runner: TaskRunner | None = None,
) -> Callable[[Callable[P, Any]], Callable[P, Flow]]: ...


def flow(fn: Any = None, /, **options: Any) -> Any:
    """Make a function (or method) a flow: each call returns a new, set-up Flow to execute().

    Use as ``@flow``, ``@flow()`` or ``@flow(flow_config=..., flow_name=..., flow_id=...)``,
    with Prefect's keywords too (name, description, tags, version, retries,
    retry_delay_seconds, retry_jitter_factor, timeout_seconds, log_prints, on_failure,
    on_completion, flow_run_name, task_runner). Parameters named ``this_flow`` or
    ``flow_data`` that the caller does not pass are injected.
    """
    return flow_decorator(fn, options, Flow)


def flow_decorator(fn: Any, options: dict[str, Any], flow_class: type[Flow]) -> Any:
    """``@flow`` whose calls build ``flow_class`` runs (a Flow subclass of a compatibility layer)."""
    check_options("flow", options, FLOW_OPTIONS)
    # Validate now, at decoration time, rather than at the first call.
    flow_class(
        options.get("flow_config"), _one_name("flow", options, "flow_name"), options.get("flow_id")
    )
    RunOptions.from_keywords("flow", options)
    if fn is None:
        return lambda target: _make_flow(target, options, flow_class)
    return _make_flow(fn, options, flow_class)


def _make_flow(target: Any, options: dict[str, Any], flow_class: type[Flow] = Flow) -> Any:
    if isinstance(target, classmethod):
        # @flow over @classmethod: decorate the function, bind it to the class as before.
        return classmethod(_make_flow(target.__func__, options, flow_class))
    check_decoratable("flow", target)
    info = FunctionInfo(target, FLOW_INJECTABLE)
    flow_config = options.get("flow_config")
    flow_name = _one_name("flow", options, "flow_name") or info.function_name
    flow_id = options.get("flow_id")
    run_options = RunOptions.from_keywords("flow", options)

    @functools.wraps(target)
    def flow_call(*args: Any, **kwargs: Any) -> Flow:
        return flow_class(flow_config, flow_name, flow_id)._bind(
            info, args, kwargs, run_options, flow_call
        )

    flow_call.flow_info = info  # type: ignore[attr-defined]
    flow_call.name = flow_name  # type: ignore[attr-defined]
    flow_call.fn = target  # type: ignore[attr-defined]
    return flow_call
