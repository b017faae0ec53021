"""Concurrent task runs: task runners, futures, submit/map, wait and as_completed.

A submitted task runs in a copy of the submitting context, so its flow, its parent span and
``flow_data`` are the ones current at ``submit()``: its span is a child of the submitting
span and its messages belong to its own run.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextvars
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from ._context import current_flow

if TYPE_CHECKING:
    import asyncio

R = TypeVar("R")

__all__ = [
    "DoneAndNotDoneFutures",
    "TaskRunFuture",
    "TaskRunFutureList",
    "TaskRunner",
    "ThreadPoolTaskRunner",
    "as_completed",
    "unmapped",
    "wait",
]


class TaskRunner:
    """Where a flow run's submitted task calls run; one instance per flow run.

    ``duplicate()`` gives the instance for a new flow run; ``shutdown(wait)`` ends it when
    the run ends (``wait=False``: the run timed out or was cancelled). A local runner's
    ``submit(fn, *args)`` runs ``fn`` (a call in a copy of the submitting context) and
    returns a ``concurrent.futures.Future``; a runner whose ``remote`` is True runs calls
    in other processes: ``submit_task`` gets each task call and returns its future. Called
    from the threads that submit, so implementations are thread-safe.

    A runner whose ``starts_with_run`` is True gets ``start()`` once, when the flow run starts
    (before its body runs: a temporary cluster to start); the others start on their first
    submission, so a run that submits nothing costs nothing.
    """

    remote = False
    starts_with_run = False

    def start(self) -> None:
        """Make this run's runner ready (called when the run starts if ``starts_with_run``)."""

    def duplicate(self) -> TaskRunner:
        raise NotImplementedError

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        raise NotImplementedError

    def submit_task(
        self, call: Callable[..., Any], task_name: str, args: tuple, kwargs: dict, is_async: bool
    ) -> TaskRunFuture:
        raise NotImplementedError

    def submit_tasks(
        self,
        call: Callable[..., Any],
        task_name: str,
        calls: list[tuple[tuple, dict]],
        is_async: bool,
    ) -> list[TaskRunFuture]:
        """Submit many calls of one task (``map``); remote runners may send them at once."""
        return [self.submit_task(call, task_name, a, k, is_async) for a, k in calls]

    def shutdown(self, wait: bool = True) -> None:
        raise NotImplementedError


class ThreadPoolTaskRunner(TaskRunner):
    """Runs submitted sync tasks on a pool of threads (async tasks run on the event loop).

    Pass one to ``@flow(task_runner=ThreadPoolTaskRunner(max_workers=8))``; each flow run
    gets its own pool with these settings, and the run waits for its submitted tasks before
    it ends. Tasks submitted outside any flow share one process-wide pool.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and (type(max_workers) is not int or max_workers < 1):
            raise ValueError(f"max_workers must be a whole number >= 1, got {max_workers!r}")
        self.max_workers = max_workers
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def duplicate(self) -> ThreadPoolTaskRunner:
        """A new runner with the same settings (one per flow run)."""
        return type(self)(self.max_workers)

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        executor = self._executor
        if executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = concurrent.futures.ThreadPoolExecutor(
                        max_workers=self.max_workers, thread_name_prefix="flowtel-task"
                    )
                executor = self._executor
        return executor.submit(fn, *args)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool; with ``wait=False`` queued calls are cancelled, running ones go on."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=not wait)

    def __repr__(self) -> str:
        return f"ThreadPoolTaskRunner(max_workers={self.max_workers})"


_shared_runner = ThreadPoolTaskRunner()
atexit.register(_shared_runner.shutdown)


class TaskRunFuture(Generic[R]):
    """The pending result of a submitted task call.

    ``result(timeout=)`` waits and returns the value (or raises the task's error);
    ``wait(timeout=)`` waits without raising; ``done()`` tells; async code can ``await``
    it. A future of an async task that runs on this thread's event loop must be awaited:
    blocking on it from the loop's own thread would never finish, so ``result()`` raises.
    """

    __slots__ = ("_async_task", "_future", "task_name")

    def __init__(
        self,
        future: concurrent.futures.Future,
        task_name: str,
        async_task: asyncio.Task | None = None,
    ) -> None:
        self._future = future
        self._async_task = async_task
        self.task_name = task_name

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> R:
        self._check_not_loop_thread()
        try:
            return self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            if self._future.done():  # the task itself raised TimeoutError
                raise
            raise self._still_running(timeout) from None

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._check_not_loop_thread()
        try:
            return self._future.exception(timeout)
        except concurrent.futures.TimeoutError:
            raise self._still_running(timeout) from None

    def _still_running(self, timeout: float | None) -> TimeoutError:
        # The builtin TimeoutError on every Python (3.10's concurrent.futures has its own).
        return TimeoutError(f"task {self.task_name!r} still running after {timeout} s")

    def wait(self, timeout: float | None = None) -> None:
        self._check_not_loop_thread()
        concurrent.futures.wait([self._future], timeout=timeout)

    def add_done_callback(self, fn: Callable[[TaskRunFuture[R]], Any]) -> None:
        self._future.add_done_callback(lambda _: fn(self))

    def __await__(self) -> Any:
        import asyncio

        if self._async_task is not None:
            return self._async_task.__await__()
        return asyncio.wrap_future(self._future).__await__()

    def _check_not_loop_thread(self) -> None:
        task = self._async_task
        if task is None or self._future.done():
            return
        import asyncio

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return
        if running is task.get_loop():
            raise RuntimeError(
                f"the future of async task {self.task_name!r} runs on this event loop: "
                "'await' it instead of calling result()/wait()"
            )

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"<TaskRunFuture {self.task_name!r} {state}>"


class TaskRunFutureList(list):
    """The futures from ``map()``: a list, plus ``result()`` and ``wait()`` over all of them."""

    def result(self, timeout: float | None = None) -> list[Any]:
        """Every future's result, in order (raises the first error met)."""
        return [future.result(timeout) for future in self]

    def wait(self, timeout: float | None = None) -> None:
        """Wait until every future is done (or ``timeout`` passes)."""
        wait(self, timeout)


class unmapped:
    """Marks a ``map()`` argument to pass whole to every call instead of iterating it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class DoneAndNotDoneFutures(NamedTuple):
    done: set[TaskRunFuture]
    not_done: set[TaskRunFuture]


def wait(futures: Iterable[TaskRunFuture], timeout: float | None = None) -> DoneAndNotDoneFutures:
    """Wait until all futures are done (or ``timeout`` passes); returns (done, not_done)."""
    by_inner = _by_inner(futures)
    done, not_done = concurrent.futures.wait(list(by_inner), timeout=timeout)
    return DoneAndNotDoneFutures({by_inner[f] for f in done}, {by_inner[f] for f in not_done})


def as_completed(
    futures: Iterable[TaskRunFuture], timeout: float | None = None
) -> Iterator[TaskRunFuture]:
    """Yield futures as they finish (TimeoutError if ``timeout`` passes first)."""
    by_inner = _by_inner(futures)
    try:
        for inner in concurrent.futures.as_completed(list(by_inner), timeout=timeout):
            yield by_inner[inner]
    except concurrent.futures.TimeoutError:
        pending = sum(not inner.done() for inner in by_inner)
        raise TimeoutError(
            f"{pending} of {len(by_inner)} futures unfinished after {timeout} s"
        ) from None


def _by_inner(futures: Iterable[TaskRunFuture]) -> dict[concurrent.futures.Future, TaskRunFuture]:
    by_inner = {}
    for future in futures:
        if not isinstance(future, TaskRunFuture):
            raise TypeError(f"expected TaskRunFuture objects from submit()/map(), got {future!r}")
        by_inner[future._future] = future
    return by_inner


# -- submit / map ----------------------------------------------------------------------


def submit_sync(
    call: Callable[..., Any], task_name: str, args: tuple, kwargs: dict
) -> TaskRunFuture:
    flow = current_flow.get()
    runner = flow._task_runner() if flow is not None else _shared_runner
    if runner.remote:
        future = runner.submit_task(call, task_name, args, kwargs, False)
    else:
        context = contextvars.copy_context()
        future = TaskRunFuture(
            runner.submit(context.run, _call_with, call, args, kwargs), task_name
        )
    if flow is not None:
        flow._pending_futures.append(future)
    return future


def submit_async(
    call: Callable[..., Any], task_name: str, args: tuple, kwargs: dict
) -> TaskRunFuture:
    import asyncio

    flow = current_flow.get()
    remote = _remote_runner(flow)
    if remote is not None:
        future: TaskRunFuture = remote.submit_task(call, task_name, args, kwargs, True)
        flow._pending_futures.append(future)  # type: ignore[union-attr]
        return future
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        runner = flow._task_runner() if flow is not None else _shared_runner
        context = contextvars.copy_context()
        inner = runner.submit(context.run, _run_coroutine, call, args, kwargs)
        future = TaskRunFuture(inner, task_name)
    else:
        async_task = loop.create_task(_call_async_with(call, args, kwargs))
        bridge: concurrent.futures.Future = concurrent.futures.Future()
        async_task.add_done_callback(lambda done: _settle(bridge, done))
        future = TaskRunFuture(bridge, task_name, async_task)
    if flow is not None:
        flow._pending_futures.append(future)
    return future


def _remote_runner(flow: Any) -> TaskRunner | None:
    """The flow run's runner if its task runner runs tasks in other processes, else None
    (without making a local runner that the call may not need)."""
    options = flow._options if flow is not None else None
    prototype = options.task_runner if options is not None else None
    if prototype is None or not prototype.remote:
        return None
    return flow._task_runner()  # type: ignore[no-any-return]


def _call_with(call: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    args, kwargs = _resolved(args, kwargs)
    return call(*args, **kwargs)


def _run_coroutine(call: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    import asyncio

    args, kwargs = _resolved(args, kwargs)
    return asyncio.run(call(*args, **kwargs))


async def _call_async_with(call: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    if any(isinstance(value, TaskRunFuture) for value in (*args, *kwargs.values())):
        args = tuple([await v if isinstance(v, TaskRunFuture) else v for v in args])
        kwargs = {k: await v if isinstance(v, TaskRunFuture) else v for k, v in kwargs.items()}
    return await call(*args, **kwargs)


def _resolved(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Arguments with submitted futures replaced by their results (waiting for them)."""
    if not any(isinstance(value, TaskRunFuture) for value in (*args, *kwargs.values())):
        return args, kwargs
    return (
        tuple(v.result() if isinstance(v, TaskRunFuture) else v for v in args),
        {k: v.result() if isinstance(v, TaskRunFuture) else v for k, v in kwargs.items()},
    )


def _settle(bridge: concurrent.futures.Future, done: asyncio.Task) -> None:
    if done.cancelled():
        bridge.cancel()
        bridge.set_running_or_notify_cancel()
        return
    error = done.exception()
    if error is not None:
        bridge.set_exception(error)
    else:
        bridge.set_result(done.result())


def map_calls(
    submit: Callable[..., TaskRunFuture],
    task_name: str,
    args: tuple,
    kwargs: dict,
    call: Callable[..., Any] | None = None,
    is_async: bool = False,
) -> TaskRunFutureList:
    """Submit one call per item of the iterable arguments (zipped); ``unmapped`` ones stay.

    A remote runner gets all the calls at once (``submit_tasks``: one message to a cluster
    rather than one per call).
    """
    columns: list[tuple[str | int, list[Any]]] = []
    static_args: dict[int, Any] = {}
    static_kwargs: dict[str, Any] = {}
    for position, value in enumerate(args):
        if _mappable(value):
            columns.append((position, list(value)))
        else:
            static_args[position] = value.value if isinstance(value, unmapped) else value
    for name, value in kwargs.items():
        if _mappable(value):
            columns.append((name, list(value)))
        else:
            static_kwargs[name] = value.value if isinstance(value, unmapped) else value
    if not columns:
        raise ValueError(
            f"{task_name}.map() needs at least one iterable argument (a list, tuple, range, "
            "generator, ...) to map over; wrap constants in unmapped(...)"
        )
    lengths = {len(values) for _, values in columns}
    if len(lengths) > 1:
        shown = ", ".join(f"{key!r}: {len(values)}" for key, values in columns)
        raise ValueError(f"{task_name}.map() got iterables of different lengths ({shown})")
    calls = []
    for index in range(lengths.pop()):
        call_args = dict(static_args)
        call_kwargs = dict(static_kwargs)
        for key, values in columns:
            if isinstance(key, int):
                call_args[key] = values[index]
            else:
                call_kwargs[key] = values[index]
        calls.append((tuple(call_args[i] for i in range(len(args))), call_kwargs))
    flow = current_flow.get()
    remote = _remote_runner(flow) if call is not None else None
    if remote is not None:
        submitted = remote.submit_tasks(call, task_name, calls, is_async)  # type: ignore[arg-type]
        flow._pending_futures.extend(submitted)  # type: ignore[union-attr]
        return TaskRunFutureList(submitted)
    return TaskRunFutureList([submit(*positional, **named) for positional, named in calls])


def _mappable(value: Any) -> bool:
    if isinstance(value, (unmapped, str, bytes, bytearray, dict)):
        return False
    return isinstance(value, Iterable)
