"""Prefect's ``prefect.futures``: PrefectFuture, PrefectFutureList, wait, as_completed.

A PrefectFuture is flowtel's TaskRunFuture plus what Prefect code reads from a future:
``state``, ``task_run_id`` and ``result(raise_on_failure=False)``. Futures given as task
arguments (also inside lists, tuples, sets, dicts and dataclasses) are replaced by their
results before the task runs; ``wait_for=[...]`` futures are waited for first.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .._futures import TaskRunFuture, TaskRunFutureList, as_completed, wait
from .._state import State, StateType
from ._console import task_run_name
from .exceptions import UpstreamTaskError

__all__ = [
    "PrefectConcurrentFuture",
    "PrefectFuture",
    "PrefectFutureList",
    "allow_failure",
    "as_completed",
    "wait",
]


class RunHolder:
    """Where a submitted call records its Task run once it starts (read by ``state``)."""

    __slots__ = ("run",)

    def __init__(self) -> None:
        self.run: Any = None


class PrefectFuture(TaskRunFuture):
    """The pending result of ``task.submit()``, with Prefect's ``state`` and ``result()``."""

    __slots__ = ("_holder",)

    def __init__(self, inner: TaskRunFuture, holder: RunHolder) -> None:
        super().__init__(inner._future, inner.task_name, inner._async_task)
        self._holder = holder

    def result(  # type: ignore[override]
        self, timeout: float | None = None, raise_on_failure: bool = True
    ) -> Any:
        """The task's value; its error is raised, or returned with ``raise_on_failure=False``."""
        if raise_on_failure:
            return super().result(timeout)
        self.wait(timeout)
        if not self.done():
            return super().result(timeout)  # raises the still-running TimeoutError
        error = self._future.exception()
        return error if error is not None else self._future.result()

    @property
    def state(self) -> State:
        """Pending, Running, or the final state of the task run."""
        from .states import prefect_state

        run = self._holder.run
        if not self.done():
            return State.build(StateType.PENDING if run is None else StateType.RUNNING)
        if run is not None and run.status in ("completed", "failed", "cancelled"):
            return prefect_state(run)
        error = self._future.exception()  # failed before its run started (e.g. upstream)
        if isinstance(error, UpstreamTaskError):  # never ran: Prefect's NotReady
            return State.build(StateType.PENDING, error=error, message=str(error), name="NotReady")
        if error is not None:
            return State.build(StateType.FAILED, error=error, message=str(error))
        return State.build(StateType.COMPLETED, value=self._future.result())

    @property
    def task_run_id(self) -> str | None:
        run = self._holder.run
        return run.task_id if run is not None else None

    def __repr__(self) -> str:
        return f"<PrefectFuture {self.task_name!r} {'done' if self.done() else 'pending'}>"


PrefectConcurrentFuture = PrefectFuture


class PrefectFutureList(TaskRunFutureList):
    """The futures from ``map()``: a list with ``result()`` and ``wait()`` over all."""

    def result(  # type: ignore[override]
        self, timeout: float | None = None, raise_on_failure: bool = True
    ) -> list[Any]:
        return [future.result(timeout, raise_on_failure) for future in self]


class allow_failure:
    """Marks an upstream future whose failure must not stop the task that depends on it.

    As an argument the task gets the upstream's result, or its exception when it failed.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


# -- resolving futures in a task's arguments -----------------------------------------

_CONTAINERS = (list, tuple, set, frozenset, dict)


class quote:
    """Pass ``value`` to the task as is, without looking inside it for futures."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def unquote(self) -> Any:
        return self.value


class opaque(quote):
    """Like ``quote``: the value is passed through untouched."""

    __slots__ = ()


def _is_quoted(value: Any) -> bool:
    return isinstance(value, quote)


_MAY_HOLD_FUTURES = (TaskRunFuture, allow_failure, quote, *_CONTAINERS)


def _may_hold_futures(value: Any) -> bool:
    return isinstance(value, _MAY_HOLD_FUTURES) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    )


def _collect(value: Any, found: list[Any], seen: set[int]) -> None:
    if _is_quoted(value):
        found.append(value)  # unwrapped when the arguments are rebuilt, not looked into
        if isinstance(value, opaque) and isinstance(value.value, TaskRunFuture):
            found.append(value.value)
        return
    if isinstance(value, TaskRunFuture):
        found.append(value)
        return
    if isinstance(value, allow_failure):
        found.append(value)
        return
    if id(value) in seen:
        return
    if isinstance(value, dict):
        seen.add(id(value))
        for key, item in value.items():
            _collect(key, found, seen)
            _collect(item, found, seen)
    elif isinstance(value, _CONTAINERS):
        seen.add(id(value))
        for item in value:
            _collect(item, found, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        seen.add(id(value))
        for field in dataclasses.fields(value):
            _collect(getattr(value, field.name, None), found, seen)


def _replace(value: Any, results: dict[int, Any]) -> Any:
    if isinstance(value, (TaskRunFuture, allow_failure)):
        return results[id(value)]
    if _is_quoted(value):
        inner = value.value
        return (
            results[id(inner)]
            if isinstance(inner, TaskRunFuture) and id(inner) in results
            else inner
        )
    if isinstance(value, dict):
        pairs = [(_replace(key, results), _replace(item, results)) for key, item in value.items()]
        if type(value) is dict:
            return dict(pairs)
        try:
            return type(value)(pairs)
        except TypeError:  # a dict subclass with another constructor (defaultdict, ...)
            return dict(pairs)
    if isinstance(value, (list, set, frozenset)):
        items = [_replace(item, results) for item in value]
        return items if type(value) is list else type(value)(items)
    if isinstance(value, tuple):
        items = [_replace(item, results) for item in value]
        if hasattr(value, "_fields"):  # a namedtuple
            return type(value)(*items)
        return tuple(items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            field.name: _replace(getattr(value, field.name), results)
            for field in dataclasses.fields(value)
            if field.init
        }
        return dataclasses.replace(value, **changes)
    return value


def _futures_in(args: tuple, kwargs: dict) -> list[Any]:
    found: list[Any] = []
    for value in (*args, *kwargs.values()):
        if _may_hold_futures(value):
            _collect(value, found, set())
    return found


def _outcome(marker: Any, future: TaskRunFuture, error: BaseException | None, value: Any) -> Any:
    if error is None:
        return value
    if isinstance(marker, allow_failure):
        return error
    raise error


def resolve_arguments(args: tuple, kwargs: dict, wait_for: Any = None) -> tuple[tuple, dict]:
    """Wait for ``wait_for``, then the arguments with futures replaced by their results."""
    if wait_for:
        check_upstream(wait_for, _waited_sync)
    found = _futures_in(args, kwargs)
    if not found:
        return args, kwargs
    results: dict[int, Any] = {}
    for marker in found:
        future = marker.value if isinstance(marker, allow_failure) else marker
        if not isinstance(future, TaskRunFuture):
            results[id(marker)] = future
            continue
        error = future.exception()
        results[id(marker)] = _outcome(marker, future, error, None if error else future.result())
    return _substituted(args, kwargs, results)


async def resolve_arguments_async(
    args: tuple, kwargs: dict, wait_for: Any = None
) -> tuple[tuple, dict]:
    """``resolve_arguments`` for async tasks: futures are awaited, not blocked on."""
    if wait_for:
        for future in _upstream_futures(wait_for):
            await _settled(future)
        check_upstream(wait_for, _already_settled)
    found = _futures_in(args, kwargs)
    if not found:
        return args, kwargs
    results: dict[int, Any] = {}
    for marker in found:
        future = marker.value if isinstance(marker, allow_failure) else marker
        if not isinstance(future, TaskRunFuture):
            results[id(marker)] = future
            continue
        try:
            results[id(marker)] = await future
        except Exception as error:
            results[id(marker)] = _outcome(marker, future, error, None)
    return _substituted(args, kwargs, results)


def _substituted(args: tuple, kwargs: dict, results: dict[int, Any]) -> tuple[tuple, dict]:
    return (
        tuple(_replace(value, results) for value in args),
        {key: _replace(value, results) for key, value in kwargs.items()},
    )


def _as_list(wait_for: Any) -> list[Any]:
    if isinstance(wait_for, (TaskRunFuture, allow_failure)):
        return [wait_for]
    try:
        return list(wait_for)
    except TypeError:
        raise TypeError(
            f"wait_for= takes a list of futures from submit()/map(), got {wait_for!r}"
        ) from None


def _waited_sync(future: TaskRunFuture) -> None:
    future.wait()


def _already_settled(future: TaskRunFuture) -> None:
    pass


def _upstream_futures(wait_for: Any) -> list[TaskRunFuture]:
    """The futures of ``wait_for``, those of a ``map()`` list among them included."""
    found: list[TaskRunFuture] = []
    for marker in _as_list(wait_for):
        future = marker.value if isinstance(marker, allow_failure) else marker
        if isinstance(future, TaskRunFutureList):
            found.extend(_upstream_futures(list(future)))
        elif isinstance(future, TaskRunFuture):
            found.append(future)
    return found


async def settle_returned(value: Any) -> None:
    """Wait, without blocking the event loop, for the futures an async flow returns.

    Alone or in a returned list, tuple, set or dict (what ``states.final_value`` reads); an
    async task's future must be awaited on its loop, not waited for.
    """
    if isinstance(value, TaskRunFuture):
        items: Any = (value,)
    elif isinstance(value, (list, tuple, set)):
        items = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return
    for item in items:
        if isinstance(item, TaskRunFuture):
            await _settled(item)


async def _settled(future: TaskRunFuture) -> None:
    """Wait until ``future`` is done, whatever its outcome (check_upstream judges it).

    Not ``await future``: its failure or cancellation would have to be caught, and this
    task's own cancellation with it (a flow over its timeout stops its waiting tasks).
    """
    import asyncio

    waited: asyncio.Future[Any] = future._async_task or asyncio.wrap_future(future._future)
    await asyncio.wait((waited,))


def check_upstream(wait_for: Any, waiter: Any) -> None:
    """Wait for each ``wait_for`` future; raise UpstreamTaskError if one did not complete."""
    for marker in _as_list(wait_for):
        allowed = isinstance(marker, allow_failure)
        future = marker.value if allowed else marker
        if isinstance(future, TaskRunFutureList):
            check_upstream([allow_failure(f) if allowed else f for f in future], waiter)
            continue
        if not isinstance(future, TaskRunFuture):
            continue  # a plain value has nothing to wait for (Prefect ignores it too)
        waiter(future)
        if not allowed and future.done() and future._future.exception() is not None:
            run = getattr(future, "_holder", None) and future._holder.run  # type: ignore[attr-defined]
            shown = task_run_name(run) if run is not None else future.task_name
            raise UpstreamTaskError(
                f"Upstream task run {shown!r} did not reach a 'COMPLETED' state."
            )
