"""Plain helpers shared by the test modules (shared fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time

import pytest

from flowtel import Flow_Run__Event_Type, flow, task

T = Flow_Run__Event_Type

# -- public events ---------------------------------------------------------------------------------


def of_type(events, event_type):
    """The events of one type, in order."""
    return [e for e in events if e.event_type is event_type]


def messages(events):
    """The FLOW_MESSAGE events, in order."""
    return of_type(events, T.FLOW_MESSAGE)


def message(event):
    """The message of a FLOW_MESSAGE event, as logged."""
    return event.event_data.data["message_data"]["message"]


def message_text(event):
    """The plain text (no ANSI codes) of a FLOW_MESSAGE event."""
    return event.event_data.data["message_data"]["message_text"]


def types_of(events, flow_run_id=None, task_run_id=None):
    """The event types, only of the given flow run and/or task run when one is named."""
    return [
        e.event_type
        for e in events
        if flow_run_id in (None, e.event_data.flow_run_id)
        and task_run_id in (None, e.event_data.task_run_id)
    ]


# -- a flow whose task uses every log verb ---------------------------------------------------------


@task
def logging_task(this_task=None):
    """Logs "td", "ti", "tw" and "te" with the task's log_debug/info/warning/error verbs."""
    this_task.log_debug("td")
    this_task.log_info("ti")
    this_task.log_warning("tw")
    this_task.log_error("te")


@flow
def task_logging_flow():
    """A flow whose one task, logging_task, logs at each level."""
    logging_task()


# -- spans ---------------------------------------------------------------------------------------


def parent_id(span):
    """The span id of a span's parent, None for a root span."""
    return span.parent.span_id if span.parent is not None else None


# -- work that fails, or blocks ------------------------------------------------------------------


class Flaky:
    """Raises ValueError('failure N') on the first ``failures`` calls, then returns value.

    ``step()`` is one call; ``calls`` counts them.
    """

    def __init__(self, failures: int, value: object = "ok") -> None:
        self.failures = failures
        self.value = value
        self.calls = 0

    def step(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise ValueError(f"failure {self.calls}")
        return self.value


class Blocker:
    """Slow work: ``wait()`` blocks until ``release`` is set (5 s at most), then sets ``finished``."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.finished = threading.Event()

    def wait(self):
        self.release.wait(5)
        self.finished.set()


@contextlib.contextmanager
def raises_timeout_promptly(match=None, *, at_least=0.0):
    """The block raises TimeoutError (matching ``match``) after ``at_least`` s and within 1 s."""
    started = time.perf_counter()
    with pytest.raises(TimeoutError, match=match):
        yield
    assert at_least < time.perf_counter() - started < 1.0


def assert_times_out_promptly(run, match, blocker, *, at_least=0.0):
    """``run.execute()`` raises TimeoutError promptly (see raises_timeout_promptly) while the
    blocked work still runs; released, that work then finishes (it was not stopped)."""
    try:
        with raises_timeout_promptly(match, at_least=at_least):
            run.execute()
        assert False is blocker.finished.is_set()
    finally:
        blocker.release.set()
    assert True is blocker.finished.wait(2)


async def sleep_noting_cancellation(seen, seconds=5):
    """Sleep; append "cancelled" to ``seen`` if cancelled (and re-raise), else "finished"."""
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        seen.append("cancelled")
        raise
    seen.append("finished")


# -- flows in threads ----------------------------------------------------------------------------


@contextlib.contextmanager
def running_in_threads(make_flow, names):
    """Execute ``make_flow(name)`` for each name, each in its own thread, while the block runs.

    Yields the ``{name: finished run}`` dict, complete once the block has ended (all joined).
    """
    runs = {}

    def work(name):
        runs[name] = make_flow(name).execute()

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    try:
        yield runs
    finally:
        for thread in threads:
            thread.join()


def run_in_threads(make_flow, names):
    """Execute ``make_flow(name)`` for each name at once, one thread each; ``{name: run}``."""
    with running_in_threads(make_flow, names) as runs:
        pass
    return runs


# -- child processes -----------------------------------------------------------------------------


def child_environment(extra=None):
    """This process's environment without OTEL_*/FLOWTEL_* variables, UTF-8 I/O, plus ``extra``."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "FLOWTEL_"))
    }
    environment["PYTHONIOENCODING"] = "utf-8"
    environment.update(extra or {})
    return environment


def wait_for(condition, timeout=20.0):
    """Poll ``condition()`` until it is truthy (returned) or ``timeout`` s passed (AssertionError)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout} s: {condition}")


def require_modules(*names):
    """Import these modules; when one is missing, skip (locally) or fail (CI=true) the test."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            message = f"{name} is not installed; run: python -m pip install -e '.[test]'"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"{message} (CI=true: these tests must not skip)", pytrace=False)
            pytest.skip(message)
