"""Tasks that the Dask tests run on workers (workers import this module by name: tests/ is on
their path)."""

from __future__ import annotations

import asyncio
import os
import threading
import time

from flowtel import get_run_logger, task


@task()
def double(x: int, this_flow=None) -> int:
    """Log at INFO, print, add an artifact and a result; return 2x."""
    get_run_logger().info("doubling %s", x)
    print(f"printed {x}")
    this_flow.add_flow_artifact(
        key=f"item-{x}", description="input", data=[x], artifact_type="json"
    )
    this_flow.add_flow_result(key=f"double-{x}", description=str(2 * x))
    return 2 * x


@task()
def where(_item: object = None) -> int:
    """The process id of the process it runs in."""
    return os.getpid()


@task(retries=1, raise_on_error=False)
def flaky(x: int, this_task=None) -> int:
    """Logs at INFO; fails the first attempt for x == 7 and every attempt for x == 13."""
    get_run_logger().info("item %s attempt %s", x, this_task.attempts)
    if x == 13 or (x == 7 and this_task.attempts == 1):
        raise ValueError(f"item {x} failed")
    return x


@task(retries=2)
def fails_twice(this_task=None) -> int:
    """Fails its first two attempts, then returns the attempt number."""
    if this_task.attempts < 3:
        raise ConnectionError(f"attempt {this_task.attempts} failed")
    return this_task.attempts


class NotBuildable(Exception):
    """An exception that pickles but holds something that does not."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


@task()
def fails(kind: str) -> None:
    """Raise KeyError, or (kind == 'unpicklable') an exception holding a lock."""
    if kind == "unpicklable":
        raise NotBuildable("holds a lock")
    raise KeyError(kind)


@task()
def returns_lock() -> threading.Lock:
    """Return a value that cannot be pickled."""
    return threading.Lock()


@task()
def identity(value):
    """Return the value it got."""
    return value


@task(timeout_seconds=0.5)
def too_slow() -> None:
    """Sleep past its timeout."""
    time.sleep(3)


@task()
def sleeper(seconds: float) -> float:
    """Sleep and return the seconds slept."""
    time.sleep(seconds)
    return seconds


@task()
async def async_add(a: int, b: int, this_task=None) -> int:
    """An async task: logs, awaits, returns a + b."""
    this_task.log_info(f"adding {a} and {b}")
    await asyncio.sleep(0.01)
    return a + b


@task()
def submits_inner(x: int) -> int:
    """Submit ``double`` from inside a task and return its result plus one."""
    return double.submit(x).result() + 1


@task()
def reads_flow_data(flow_data=None) -> dict:
    """Return the flow_data it sees, then write to it (the write stays on the worker)."""
    seen = dict(flow_data)
    flow_data["written-on-worker"] = True
    return seen


class Unprintable:
    """A picklable value whose ``__str__`` raises."""

    def __str__(self):
        raise ValueError("no str")


@task()
def returns_unprintable() -> Unprintable:
    return Unprintable()


def _rebuild_in(pid: int) -> str:
    if os.getpid() != pid:
        raise RuntimeError("this object only unpickles in the process that made it")
    return "rebuilt"


class OnlyHere:
    """Pickles anywhere, unpickles only in the process that made it (as an object of a
    type only the workers can import)."""

    def __reduce__(self):
        return (_rebuild_in, (os.getpid(),))


@task()
def returns_only_here() -> OnlyHere:
    """Return an object the flow process cannot unpickle."""
    return OnlyHere()
