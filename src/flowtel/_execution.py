"""Attempts, retry delays and timeouts for runs that have RunOptions.

The sleeps are module attributes so tests (and users' tests) can replace them with a fake
clock: ``flowtel._execution.sleep`` and ``flowtel._execution.async_sleep``.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ._options import RunOptions
from ._run import error_text
from .telemetry import _runtime as telemetry

sleep: Callable[[float], Any] = time.sleep


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async_sleep: Callable[[float], Any] = _asyncio_sleep

_WARNING = logging.WARNING


class FlowRunTimeoutError(TimeoutError):
    """A flow run went over its ``timeout_seconds`` (Prefect's name for it)."""

    __module__ = "flowtel"  # its public home, and its name in telemetry's error.type


class TaskRunTimeoutError(TimeoutError):
    """A task run went over its ``timeout_seconds`` (Prefect's name for it)."""

    __module__ = "flowtel"


def timeout_error(kind: str, name: str, seconds: float) -> TimeoutError:
    error_type = FlowRunTimeoutError if kind == "flow" else TaskRunTimeoutError
    return error_type(f"{kind} {name!r} timed out after {seconds:g} s")


def call_with_timeout(run: Any, kind: str, name: str, seconds: float, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a daemon thread in a copy of this context; give up after ``seconds``.

    Python cannot stop a thread: on timeout the caller gets TimeoutError at once, and the
    thread runs on to its end in the background; its result is dropped.
    """
    outcome: dict[str, Any] = {}
    finished = threading.Event()
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome["value"] = context.run(fn)
        except BaseException as error:
            outcome["error"] = error
        finally:
            finished.set()

    worker = threading.Thread(target=target, name=f"flowtel-timeout:{name}", daemon=True)
    worker.start()
    if not finished.wait(seconds):
        run._timed_out = True
        raise timeout_error(kind, name, seconds)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


async def await_with_timeout(run: Any, kind: str, name: str, seconds: float, awaitable: Any) -> Any:
    """Await with a deadline; on timeout the awaitable is cancelled and TimeoutError raised."""
    import asyncio

    try:
        return await asyncio.wait_for(awaitable, seconds)
    except asyncio.TimeoutError:
        # Python 3.10's asyncio.TimeoutError is not the builtin TimeoutError.
        run._timed_out = True
        raise timeout_error(kind, name, seconds) from None


def attempts_sync(
    run: Any, kind: str, name: str, options: RunOptions, call: Callable[[], Any]
) -> Any:
    """Call ``call`` until it succeeds or the retries are used up."""
    attempt = 0
    while True:
        attempt += 1
        run.attempts = attempt
        run._timed_out = False
        try:
            if options.timeout_seconds is not None:
                return call_with_timeout(run, kind, name, options.timeout_seconds, call)
            return call()
        except Exception as error:
            if attempt > options.retries:
                raise
            delay = options.delay_before(attempt)
            attempt_failed(run, kind, name, error, attempt, options.retries, delay)
            if delay:
                sleep(delay)


async def attempts_async(
    run: Any, kind: str, name: str, options: RunOptions, call: Callable[[], Any]
) -> Any:
    """Async ``attempts_sync``: ``call`` returns an awaitable (or a value for sync functions)."""
    attempt = 0
    while True:
        attempt += 1
        run.attempts = attempt
        run._timed_out = False
        try:
            if options.timeout_seconds is not None:
                return await await_with_timeout(
                    run, kind, name, options.timeout_seconds, _as_awaitable(call)
                )
            value = call()
            if inspect.iscoroutine(value):
                value = await value
            return value
        except Exception as error:
            if attempt > options.retries:
                raise
            delay = options.delay_before(attempt)
            attempt_failed(run, kind, name, error, attempt, options.retries, delay)
            if delay:
                await async_sleep(delay)


async def _as_awaitable(call: Callable[[], Any]) -> Any:
    value = call()
    if inspect.iscoroutine(value):
        value = await value
    return value


def attempt_failed(
    run: Any, kind: str, name: str, error: Exception, attempt: int, retries: int, delay: float
) -> None:
    run._log(
        _WARNING,
        "%s '%s' attempt %d of %d failed: %s; retrying in %.3g s",
        (kind.capitalize(), name, attempt, retries + 1, error_text(error), delay),
    )
    telemetry.attempt_failed(run, error, attempt, delay)
