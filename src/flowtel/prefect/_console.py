"""Prefect's console output: run messages on stderr as ``time | LEVEL | Run 'name' - text``.

Runs of flows and tasks decorated through ``flowtel.prefect`` show their messages (prints
under ``log_prints``, ``get_run_logger()`` records, flowtel's own run messages) and their
start and end the way Prefect's console handler does, at INFO and above by default
(``PREFECT_LOGGING_LEVEL`` changes the threshold; ``set_console_level(None)`` turns the
output off). The messages stay run messages, span events and log records as well.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import traceback
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._flow import Flow
    from .._task import Task

_OFF = logging.CRITICAL + 1000


def _level_from(value: str | int | None) -> int:
    if value is None:
        return _OFF
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        number = logging.getLevelName(value.strip().upper())
        if isinstance(number, int):
            return number
    raise ValueError(
        f"console level must be a logging level name (DEBUG, INFO, WARNING, ERROR, CRITICAL), "
        f"a level number or None for no output; got {value!r}"
    )


def _initial_level() -> int:
    value = os.environ.get("PREFECT_LOGGING_LEVEL", "INFO")
    try:
        return _level_from(value)
    except ValueError:  # a typo must not stop the import, nor pass unnoticed
        warnings.warn(
            f"PREFECT_LOGGING_LEVEL={value!r} is not a logging level name (DEBUG, INFO, "
            "WARNING, ERROR, CRITICAL); flowtel.prefect's console shows INFO and above",
            stacklevel=2,
        )
        return logging.INFO


_console_level = _initial_level()


def set_console_level(level: str | int | None) -> None:
    """Show run messages at ``level`` and above on stderr; None shows nothing."""
    global _console_level
    _console_level = _level_from(level)


def console_level() -> int:
    """The current threshold (above CRITICAL when the output is off)."""
    return _console_level


def flow_run_name(flow: Flow) -> str:
    """The name Prefect's output shows for a flow run: its run name, else flow name and id."""
    return flow.flow_run_name or f"{flow.flow_name}-{flow.flow_id[:6]}"


def task_run_name(task: Task) -> str:
    """The name shown for a task run: its run name, else task name and a short id.

    As in Prefect, a task called outside any flow is named after the task alone.
    """
    if task.task_run_name:
        return task.task_run_name
    # Not task_flow: a finished call kept by its flow holds it weakly, and has no task_flow
    # once that run is released; it was still called in a flow and keeps its name.
    if task._flow is None and task._flow_ref is None:
        return task.task_name
    return f"{task.task_name}-{task.task_id[:3]}"


def run_label(run: Any) -> str:
    if hasattr(run, "flow_status"):
        return f"Flow run {flow_run_name(run)!r}"
    return f"Task run {task_run_name(run)!r}"


def write_line(level: int, label: str, text: str) -> None:
    """One console line, if ``level`` is shown; never raises."""
    if level < _console_level:
        return
    try:
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now))
        millis = int(now % 1 * 1000)
        sys.stderr.write(
            f"{stamp}.{millis:03d} | {logging.getLevelName(level):<7} | {label} - {text}\n"
        )
    except Exception:  # a closed or broken stderr must not break the run
        pass


_ATTEMPT = re.compile(
    r"^Task '.*' attempt (\d+) of (\d+) failed: (\w[\w.]*)(?:: (.*))?; retrying in (\S+) s$", re.S
)


_FLOW_ATTEMPT = re.compile(
    r"^Flow '.*' attempt \d+ of \d+ failed: (\w[\w.]*)(?:: (.*))?; retrying in \S+ s$", re.S
)


def _shown(state: Any) -> str:
    """A returned state as Prefect's log shows it (its data, not flowtel's stand-in error)."""
    from .exceptions import PrefectException

    error = state.error
    result = error if error is not None and not isinstance(error, PrefectException) else state.value
    message = state.message or None
    return f"{state.name}(message={message!r}, type={state.type.value}, result={result!r})"


def with_traceback(line: str, error: BaseException | None) -> str:
    if error is None or error.__traceback__ is None:
        return line
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"{line}\n{trace.rstrip()}"


def _prefect_wording(flow: Flow, task: Task | None, level: int, text: str) -> tuple[int, str]:
    """flowtel's own failure and retry lines, worded (and levelled) as Prefect logs them."""
    if task is not None:
        if level >= logging.ERROR and text.startswith(f"Task '{task.task_name}' failed: "):
            error = task.task_error
            if task._timed_out and task.definition is not None and task.definition.options:
                seconds = task.definition.options.timeout_seconds
                return level, f"Task run exceeded timeout of {seconds} second(s)"
            options = task.definition.options if task.definition is not None else None
            exhausted = (
                " - Retries are exhausted" if options is not None and options.retries else ""
            )
            return level, with_traceback(
                f"Task run failed with exception: {error!r}{exhausted}", error
            )
        attempt = _ATTEMPT.match(text)
        if attempt is not None:
            number, total, kind, message, delay = attempt.groups()
            shown = f"{kind}({message!r})" if message is not None else f"{kind}()"
            when = "immediately" if float(delay) == 0 else f"{delay} second(s) from now"
            return logging.INFO, (
                f"Task run failed with exception: {shown} - Retry {number}/{int(total) - 1} "
                f"will start {when}"
            )
        return level, text
    attempt = _FLOW_ATTEMPT.match(text)
    if attempt is not None:
        kind, message = attempt.groups()
        shown = f"{kind}({message!r})" if message is not None else f"{kind}()"
        write_line(
            logging.ERROR, run_label(flow), f"Encountered exception during execution: {shown}"
        )
        return logging.INFO, (
            "Received non-final state 'AwaitingRetry' when proposing final state 'Failed' and "
            "will attempt to run again..."
        )
    if level >= logging.ERROR and text.startswith(f"Flow '{flow.flow_name}' failed: "):
        error = flow.flow_error
        if flow._timed_out and flow._options is not None:
            return (
                level,
                f"Flow run exceeded timeout of {flow._options.timeout_seconds} second(s)",
            )
        return level, with_traceback(f"Encountered exception during execution: {error!r}", error)
    return level, text


def write_message(flow: Flow, task: Task | None, level: int, text: str) -> None:
    """The Flow.console_writer of runs made through flowtel.prefect."""
    if level < logging.WARNING:
        if level >= _console_level:
            write_line(level, run_label(task if task is not None else flow), text)
        return
    from .states import ReturnedState, from_returned_state, not_started

    error = flow.flow_error if task is None else task.task_error
    if text.startswith("Hook ") and " raised: " in text:
        return  # the hook's own console lines said so already
    if text.startswith(("Flow '", "Task '")):
        if not_started(error):
            return  # invalid parameters: Prefect logs nothing for the run
        if isinstance(error, ReturnedState) and task is not None:
            write_line(level, run_label(task), f"Task run failed with state: {_shown(error.state)}")
            return
        if from_returned_state(error):
            return  # the run returned a failed state: Prefect shows only its final state
    level, text = _prefect_wording(flow, task, level, text)
    if level >= _console_level:
        write_line(level, run_label(task if task is not None else flow), text)
