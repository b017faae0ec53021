"""What flows and tasks share: run ids, status names, logging verbs, print capture."""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING, Any

from ._events import Flow_Run__Event, Flow_Run__Event_Data, Flow_Run__Event_Type, flow_events

if TYPE_CHECKING:
    from ._flow import Flow

STATUS_PENDING = "pending"
STATUS_RUNNING = "running"
STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"
STATUS_CANCELLED = "cancelled"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def new_run_id() -> str:
    """A random 64-bit run id as 16 hex digits."""
    return os.urandom(8).hex()


def plain_text(text: str) -> str:
    """``text`` without ANSI colour codes."""
    return _ANSI.sub("", text) if "\x1b" in text else text


def safe_str(value: Any) -> str:
    """``str(value)``, or a stand-in naming the type when its ``__str__`` raises.

    User objects reach flowtel's own messages (return values, exceptions); one whose
    ``__str__`` is broken must not stop a run from being closed and recorded.
    """
    try:
        return value if type(value) is str else str(value)
    except Exception as error:
        return f"<unprintable {type(value).__qualname__}: __str__ raised {type(error).__name__}>"


def format_message(template: str, args: tuple) -> str:
    """``template % args`` that never raises (see ``safe_str``)."""
    if not args:
        return template
    try:
        return template % args
    except Exception:
        texts = tuple(safe_str(arg) for arg in args)
        try:
            return template % texts
        except Exception:  # a template that does not fit its arguments
            return " ".join((template, *texts))


def error_text(error: BaseException) -> str:
    """``Type: message`` for an exception (just the type when the message is empty)."""
    message = safe_str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class LogEntry:
    """One message in a run's own log; formatted only when read (like ``logging``)."""

    __slots__ = ("args", "level", "task_name", "template", "timestamp")

    def __init__(
        self, level: int, template: str, args: tuple, task_name: str, timestamp: float
    ) -> None:
        self.level = level
        self.template = template
        self.args = args
        self.task_name = task_name
        self.timestamp = timestamp

    @property
    def text(self) -> str:
        return plain_text(format_message(self.template, self.args))


class RunLog:
    """A run's own log: the fields of each message kept flat in one list, oldest first.

    A run keeps every message until it is released. Kept as one tuple each, every message was
    one more object for the cycle collector to count and pass over, about 0.5 us per message
    (benchmarks/main_thread.py); flat, the list is the only one. Read back as LogEntry.
    """

    __slots__ = ("_fields",)

    _WIDTH = 5  # level, template, args, task name, timestamp

    def __init__(self) -> None:
        self._fields: list[Any] = []

    def add(self, level: int, template: str, args: tuple, task_name: str, timestamp: float) -> None:
        # One extend of a tuple is one C call: messages from threads never interleave.
        self._fields.extend((level, template, args, task_name, timestamp))

    def entries(self) -> list[LogEntry]:
        fields, width = self._fields, self._WIDTH
        return [LogEntry(*fields[start : start + width]) for start in range(0, len(fields), width)]


class RunLogging:
    """The ``log_*`` verbs and print capture, shared by Flow and Task.

    Subclasses provide ``_log_target()``: the Flow whose log receives their messages (or
    None) and the Task the messages come from (or None).
    """

    _print_buffer = ""

    def _log_target(self) -> tuple[Flow | None, Any]:
        raise NotImplementedError

    def log_debug(self, message: Any) -> None:
        """Record a DEBUG message in this run's flow log."""
        self._log(logging.DEBUG, message)

    def log_info(self, message: Any) -> None:
        """Record an INFO message in this run's flow log."""
        self._log(logging.INFO, message)

    def log_warning(self, message: Any) -> None:
        """Record a WARNING message in this run's flow log."""
        self._log(logging.WARNING, message)

    def log_error(self, message: Any) -> None:
        """Record an ERROR message in this run's flow log."""
        self._log(logging.ERROR, message)

    def log_critical(self, message: Any) -> None:
        """Record a CRITICAL message in this run's flow log."""
        self._log(logging.CRITICAL, message)

    def _log(self, level: int, message: Any, args: tuple = ()) -> None:
        flow, task = self._log_target()
        if flow is not None:
            flow._message(level, safe_str(message), args, task)

    def _capture_print(self, text: str) -> None:
        if "\n" not in text:
            self._print_buffer += text
            return
        if text == "\n":
            # print()'s end, after its text: what is buffered is one message in either mode.
            line, self._print_buffer = self._print_buffer, ""
            if line:
                self._log(logging.INFO, line)
            return
        buffered = self._print_buffer + text
        flow, _ = self._log_target()
        if flow is not None and not flow.flow_config.split_print_lines:
            # print() writes its text, then its end ("\n"): a write ending a line ends the call.
            if text.endswith("\n"):
                self._print_buffer = ""
                if buffered != "\n":
                    self._log(logging.INFO, buffered[:-1])
            else:
                self._print_buffer = buffered
            return
        *lines, self._print_buffer = buffered.split("\n")
        for line in lines:
            if line:
                self._log(logging.INFO, line)

    def _flush_prints(self) -> None:
        if self._print_buffer:
            line, self._print_buffer = self._print_buffer, ""
            self._log(logging.INFO, line)


def emit_event(
    event_type: Flow_Run__Event_Type,
    source: str,
    flow: Any,
    task: Any,
    data: dict,
    log_level: int = 0,
) -> None:
    """Build and dispatch a public event; callers check for listeners first."""
    event_data = Flow_Run__Event_Data(
        data=data,
        event_source=source,
        flow_name=flow.flow_name if flow is not None else "",
        flow_run_id=flow.flow_id if flow is not None else "",
        log_level=log_level,
        task_name=task.task_name if task is not None else "",
        task_run_id=task.task_id if task is not None else "",
    )
    flow_events.raise_event(Flow_Run__Event(event_type=event_type, event_data=event_data))
