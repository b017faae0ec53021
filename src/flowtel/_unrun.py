"""Warnings for runs that were built but never ran, like Python's "coroutine never awaited".

Calling a ``@flow`` function only builds a Flow, and calling an ``async def`` task only
builds a coroutine: both are easy to forget (``nightly("s3://...")`` without
``.execute()``; ``price(order)`` without ``await`` in a sync flow) and then nothing runs,
silently. Both warnings are RuntimeWarnings raised when the object is collected unrun.
"""

from __future__ import annotations

import inspect
import types
import warnings
import weakref
from collections.abc import Callable
from typing import Any


def warn_flow_never_ran(flow_name: str, function_name: str) -> None:
    """Warn that a Flow built by calling ``function_name(...)`` was collected without running."""
    warnings.warn(
        f"flow {flow_name!r} was never run: calling {function_name}(...) only builds the run; "
        f"call .execute() on it (run = {function_name}(...).execute()), or "
        f"'await {function_name}(...).execute_async()' in async code",
        RuntimeWarning,
        stacklevel=3,
    )


def named_copy(fn: Callable[..., Any], name: str, qualname: str) -> Callable[..., Any]:
    """A copy of the function ``fn`` named ``name``: the coroutines it makes carry that name,
    which is what Python's own "coroutine ... was never awaited" warning shows."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)  # type: ignore[attr-defined]
    copy.__qualname__ = qualname
    copy.__kwdefaults__ = fn.__kwdefaults__  # type: ignore[attr-defined]
    return copy


class AwaitWatch:
    """Notes whether one async task call's coroutine started; warns if collected unstarted.

    Made only for calls without a running event loop (a sync flow, plain sync code), where
    a forgotten ``await`` is likely and the extra cost does not touch the async hot path.
    """

    __slots__ = ("__weakref__", "flow_name", "started", "task_name")

    def __init__(self, task_name: str, flow_name: str | None) -> None:
        self.task_name = task_name
        self.flow_name = flow_name
        self.started = False

    def watch(self, coroutine: Any) -> Any:
        weakref.finalize(coroutine, self._collected)
        return coroutine

    def _collected(self) -> None:
        if self.started:
            return
        where = f"in sync flow {self.flow_name!r} " if self.flow_name is not None else ""
        warnings.warn(
            f"async task {self.task_name!r} was called {where}without await, so it never ran: "
            f"await it inside an async flow (or asyncio.run() it), or make {self.task_name!r} "
            "a plain def task",
            RuntimeWarning,
            stacklevel=3,  # the code that dropped the coroutine, as Python's own warning
        )


def mark_coroutine_function(wrapper: Any) -> None:
    """Let introspection see ``wrapper`` (a def returning a coroutine) as ``async def``."""
    mark = getattr(inspect, "markcoroutinefunction", None)
    if mark is not None:  # Python 3.12+
        mark(wrapper)
    else:  # Python 3.10, 3.11: asyncio.iscoroutinefunction reads this marker
        import asyncio.coroutines

        wrapper._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]
