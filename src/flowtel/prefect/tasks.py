"""Prefect's ``@task`` (``prefect.tasks.task``) on flowtel.

A call runs the task and returns its value (``return_state=True``: its State);
``submit()`` and ``map()`` return PrefectFutures; ``wait_for=[...]`` waits for other
futures first; futures inside the arguments are replaced by their results; a returned
State sets the final state; ``with_options(...)`` gives a copy with other settings.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any

from .. import _capture, _decorators
from .._config import Flow_Run__Config
from .._context import current_flow, current_task, print_sink
from .._function_info import check_decoratable
from .._futures import map_calls, submit_async, submit_sync
from .._options import COMMON_OPTIONS, TASK_ONLY_OPTIONS
from .._state import State, StateType
from .._task import (
    Task,
    run_task,
    run_task_async,
    run_task_with_options,
    run_task_with_options_async,
)
from ..telemetry import _runtime as telemetry
from . import _console
from ._runs import Hooks, declared_tags
from .context import current_tags, run_tags
from .exceptions import UpstreamTaskError
from .futures import (
    PrefectFuture,
    PrefectFutureList,
    RunHolder,
    resolve_arguments,
    resolve_arguments_async,
)
from .states import ReturnedState, prefect_state, task_final_value

__all__ = ["task"]

TASK_KEYWORDS = (*COMMON_OPTIONS, *TASK_ONLY_OPTIONS, "on_running")


def check_keywords(kind: str, options: dict[str, Any], valid: tuple[str, ...]) -> None:
    unknown = ", ".join(repr(name) for name in options if name not in valid)
    if unknown:
        raise TypeError(
            f"flowtel.prefect.{kind}() does not support {unknown}; "
            f"supported keywords: {', '.join(valid)} (see the README's Prefect table)"
        )


def task(fn: Any = None, /, **options: Any) -> Any:
    """Prefect's ``@task``: a call runs the task; ``return_state=True`` gives its State."""
    check_keywords("task", options, TASK_KEYWORDS)
    if fn is None:
        return lambda target: _make_task(target, options)
    return _make_task(fn, options)


def _finished(run: Task) -> None:
    level = 20 if run.status == "completed" else 40
    # Checked first: the line's state and run name cost more than the task call itself.
    if level >= _console.console_level():
        _console.write_line(
            level, _console.run_label(run), f"Finished in state {prefect_state(run)}"
        )


class _ConsolePrints:
    """Prints of a ``log_prints`` task called outside any flow, as console lines of its run."""

    flow_config = Flow_Run__Config(echo_prints=False)  # read by the stdout router

    def __init__(self, run: Task) -> None:
        self.run = run
        self.buffer = ""
        self.token: Any = None

    @classmethod
    def start(cls, run: Task) -> _ConsolePrints:
        sink = cls(run)
        _capture.acquire()
        sink.token = print_sink.set(sink)
        return sink

    def _capture_print(self, text: str) -> None:
        # One console line per print() call, as Prefect shows it (see split_print_lines).
        self.buffer += text
        if text.endswith("\n"):
            message, self.buffer = self.buffer[:-1], ""
            if message:
                _console.write_line(20, _console.run_label(self.run), message)

    def stop(self) -> None:
        print_sink.reset(self.token)
        _capture.release()
        if self.buffer:
            _console.write_line(20, _console.run_label(self.run), self.buffer)


def _not_ready(name: str, error: UpstreamTaskError) -> None:
    # The task never runs; Prefect still shows the run it would have been, as NotReady.
    label = f"Task run '{name}-{os.urandom(2).hex()[:3]}'"
    _console.write_line(40, label, f"Finished in state {_not_ready_state(error)}")


def _not_ready_state(error: UpstreamTaskError) -> State:
    return State.build(StateType.PENDING, error=error, message=str(error), name="NotReady")


def _state_of_call(holder: RunHolder, error: Exception) -> State:
    if holder.run is not None:
        return prefect_state(holder.run)
    if isinstance(error, UpstreamTaskError):  # never ran: Prefect's NotReady
        return _not_ready_state(error)
    raise error


def _record_context_tags(run: Any) -> None:
    if run is not None:
        telemetry.run_tagged(run, run_tags(declared_tags(run)))


def _make_task(target: Any, options: dict[str, Any]) -> Any:
    if isinstance(target, classmethod):
        return classmethod(_make_task(target.__func__, options))
    check_decoratable("task", target)
    hooks = Hooks("task", options)

    log_prints = options.get("log_prints") is True

    def started() -> Any:
        run = current_task.get()
        if current_tags():
            _record_context_tags(run)
        hooks.running(definition.wrapper, run)
        if log_prints and run is not None and run.task_flow is None:
            return _ConsolePrints.start(run)  # no flow to log to: Prefect's console shows them
        return None

    if inspect.iscoroutinefunction(target):

        @functools.wraps(target)
        async def async_body(*args: Any, **kwargs: Any) -> Any:
            prints = started()
            try:
                return task_final_value(await target(*args, **kwargs))
            finally:
                if prints is not None:
                    prints.stop()

        body: Callable[..., Any] = async_body
    else:

        @functools.wraps(target)
        def sync_body(*args: Any, **kwargs: Any) -> Any:
            prints = started()
            try:
                return task_final_value(target(*args, **kwargs))
            finally:
                if prints is not None:
                    prints.stop()

        body = sync_body
    core = _decorators.task(**hooks.core_options(options, only_if_hooked=True))(body)
    definition = core.task_definition  # type: ignore[attr-defined]
    name = definition.task_name
    new_call = Task._for_call

    if definition.info.is_async:

        async def invoke_async(
            holder: RunHolder | None, wait_for: Any, args: tuple, kwargs: dict
        ) -> tuple[Any, Task]:
            try:
                args, kwargs = await resolve_arguments_async(args, kwargs, wait_for)
            except UpstreamTaskError as error:
                _not_ready(name, error)
                raise
            run = new_call(definition, current_flow.get())
            run._args, run._kwargs = args, kwargs
            if holder is not None:
                holder.run = run
            try:
                # Read per call: a hook added by a decorator later gives the task options.
                if definition.options is None:
                    value = await run_task_async(run, args, kwargs)
                else:
                    value = await run_task_with_options_async(run, args, kwargs)
            finally:
                _finished(run)
            return value, run

        @functools.wraps(target)
        async def async_task_call(
            *args: Any, return_state: bool = False, wait_for: Any = None, **kwargs: Any
        ) -> Any:
            holder = RunHolder()
            try:
                value, run = await invoke_async(holder, wait_for, args, kwargs)
            except ReturnedState as returned:  # as in Prefect, the call gives the State back
                return returned.state
            except Exception as error:
                if return_state:
                    return _state_of_call(holder, error)
                raise
            return prefect_state(run) if return_state else value

        def submit(*args: Any, wait_for: Any = None, **kwargs: Any) -> PrefectFuture:
            holder = RunHolder()

            async def submitted(*call_args: Any, **call_kwargs: Any) -> Any:
                value, _run = await invoke_async(holder, wait_for, call_args, call_kwargs)
                return value

            return PrefectFuture(submit_async(submitted, name, args, kwargs), holder)

        wrapper: Callable[..., Any] = async_task_call
    else:

        def invoke(
            holder: RunHolder | None, wait_for: Any, args: tuple, kwargs: dict
        ) -> tuple[Any, Task]:
            try:
                args, kwargs = resolve_arguments(args, kwargs, wait_for)
            except UpstreamTaskError as error:
                _not_ready(name, error)
                raise
            run = new_call(definition, current_flow.get())
            run._args, run._kwargs = args, kwargs
            if holder is not None:
                holder.run = run
            try:
                if definition.options is None:
                    value = run_task(run, args, kwargs)
                else:
                    value = run_task_with_options(run, args, kwargs)
            finally:
                _finished(run)
            return value, run

        @functools.wraps(target)
        def task_call(
            *args: Any, return_state: bool = False, wait_for: Any = None, **kwargs: Any
        ) -> Any:
            holder = RunHolder()
            try:
                value, run = invoke(holder, wait_for, args, kwargs)
            except ReturnedState as returned:  # as in Prefect, the call gives the State back
                return returned.state
            except Exception as error:
                if return_state:
                    return _state_of_call(holder, error)
                raise
            return prefect_state(run) if return_state else value

        def submit(*args: Any, wait_for: Any = None, **kwargs: Any) -> PrefectFuture:
            holder = RunHolder()

            def submitted(*call_args: Any, **call_kwargs: Any) -> Any:
                return invoke(holder, wait_for, call_args, call_kwargs)[0]

            return PrefectFuture(submit_sync(submitted, name, args, kwargs), holder)

        wrapper = task_call

    def map(*args: Any, wait_for: Any = None, **kwargs: Any) -> PrefectFutureList:
        def submit_one(*call_args: Any, **call_kwargs: Any) -> PrefectFuture:
            return submit(*call_args, wait_for=wait_for, **call_kwargs)

        return PrefectFutureList(map_calls(submit_one, name, args, kwargs))

    def with_options(**changes: Any) -> Any:
        """A copy of this task with some decorator keywords changed (Prefect's with_options)."""
        check_keywords("task.with_options", changes, TASK_KEYWORDS)
        return _make_task(target, {**options, **hooks.keywords(), **changes})

    submit.__doc__ = f"Run {name} concurrently; returns a PrefectFuture."
    map.__doc__ = f"Submit one {name} call per item of the iterable arguments."
    hooks.attach(wrapper, definition)
    wrapper.submit = submit  # type: ignore[attr-defined]
    wrapper.map = map  # type: ignore[attr-defined]
    wrapper.with_options = with_options  # type: ignore[attr-defined]
    wrapper.name = name  # type: ignore[attr-defined]
    wrapper.tags = set(definition.options.tags) if definition.options else set()  # type: ignore[attr-defined]
    wrapper.task_definition = definition  # type: ignore[attr-defined]
    wrapper.fn = target  # type: ignore[attr-defined]
    definition.wrapper = wrapper
    return wrapper
