"""The embedded default exporter: each finished root run printed as a tree on the console."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from typing import Any, TextIO

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import StatusCode

from ._runtime import (
    ARTIFACT_EVENT,
    FLOW_RUN_NAME,
    MESSAGE_EVENT,
    PIPELINE_RUN_ID,
    RESULT_EVENT,
    TASK_RUN_ID,
    TASK_RUN_NAME,
)

_MAX_BUFFERED_SPANS = 10_000


class TreeStyle:
    """The glyphs and colours one rendering of the tree uses."""

    __slots__ = ("ascii", "colour")

    def __init__(self, ascii: bool = False, colour: bool = False) -> None:
        self.ascii = ascii
        self.colour = colour


_UNICODE_GLYPHS = {
    "ok": "✔",
    "failed": "✘",
    "branch": "├── ",
    "last": "└── ",
    "pipe": "│   ",
    "pipe_detail": "│ ",
    "message": "•",
    "artifact": "◆",
    "result": "★",
    "micro": "µs",
}
# The same tree in characters every console encoding has (cp1252, ascii, latin-1, ...).
_ASCII_GLYPHS = {
    "ok": "+",
    "failed": "x",
    "branch": "|-- ",
    "last": "`-- ",
    "pipe": "|   ",
    "pipe_detail": "| ",
    "message": "-",
    "artifact": "*",
    "result": "=",
    "micro": "us",
}
_GREEN, _RED, _DIM, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[2m", "\x1b[0m"

# Characters that could move the cursor, forge tree lines or reach the terminal raw:
# C0/C1 controls (newline, ESC, ...), line/paragraph separators and bidi overrides.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped_character(match: re.Match[str]) -> str:
    character = match.group()
    named = _NAMED_ESCAPES.get(character)
    if named is not None:
        return named
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(value: Any) -> str:
    """``value`` as one printable line: control characters shown as escapes (``\\x1b``)."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escaped_character, text)


def format_duration(nanoseconds: int, micro: str = "µs") -> str:
    """A short human duration: 850 µs, 12.3 ms, 1.52 s."""
    if nanoseconds < 1_000_000:
        return f"{nanoseconds / 1000:.0f} {micro}"
    if nanoseconds < 1_000_000_000:
        return f"{nanoseconds / 1_000_000:.1f} ms"
    return f"{nanoseconds / 1_000_000_000:.2f} s"


def render_tree(spans: list[ReadableSpan], style: TreeStyle | None = None) -> str:
    """The spans of one trace as an indented tree, roots first, children by start time.

    Flow spans read ``flow <name>``, run names follow the name in parentheses, a failure's
    text appears once, on its own node. ``style`` picks ASCII glyphs and ANSI colours.
    """
    style = style or TreeStyle()
    glyphs = _ASCII_GLYPHS if style.ascii else _UNICODE_GLYPHS

    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if style.colour else text

    by_id = {span.context.span_id: span for span in spans}
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        if parent not in by_id:
            parent = None
        children.setdefault(parent, []).append(span)
    for group in children.values():
        group.sort(key=lambda s: s.start_time or 0)
    lines: list[str] = []

    def walk(span: ReadableSpan, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else (glyphs["last"] if last else glyphs["branch"])
        failed = span.status.status_code is StatusCode.ERROR
        attributes = span.attributes or {}
        is_flow = PIPELINE_RUN_ID in attributes and TASK_RUN_ID not in attributes
        mark = paint(_RED, glyphs["failed"]) if failed else paint(_GREEN, glyphs["ok"])
        duration = format_duration((span.end_time or 0) - (span.start_time or 0), glyphs["micro"])
        name = ("flow " if is_flow else "") + safe_text(span.name)
        run_name = attributes.get(FLOW_RUN_NAME if is_flow else TASK_RUN_NAME)
        if run_name:
            name += f" ({safe_text(run_name)})"
        line = f"{prefix}{branch}{mark} {paint(_RED, name) if failed else name}  "
        line += paint(_DIM, duration)
        description = span.status.description if failed else None
        if description:
            line += "  " + paint(_RED, safe_text(description))
        run_id = attributes.get(PIPELINE_RUN_ID) if is_flow else None
        if run_id:
            line += "  " + paint(_DIM, f"[run {safe_text(run_id)}]")
        lines.append(line)
        inner = prefix + ("" if root else ("    " if last else glyphs["pipe"]))
        kids = children.get(span.context.span_id, [])
        detail_prefix = inner + (glyphs["pipe_detail"] if kids else "  ")
        # flowtel's own "Task 'x' failed: ..." message repeats the status shown on the node.
        own_failure = (
            {
                f"{kind} '{span.name}' {verb}: {description}"
                for kind in ("Task", "Flow")
                for verb in ("failed", "cancelled")
            }
            if description
            else set()
        )
        for event in span.events:
            event_attributes = event.attributes or {}
            if event.name == MESSAGE_EVENT:
                message = event_attributes.get("message", "")
                if message in own_failure:
                    continue
                severity = event_attributes.get("log.severity", "")
                lines.append(
                    f"{detail_prefix}{glyphs['message']} {safe_text(severity)} {safe_text(message)}"
                )
            elif event.name == ARTIFACT_EVENT:
                lines.append(
                    f"{detail_prefix}{glyphs['artifact']} artifact "
                    f"'{safe_text(event_attributes.get('flowtel.artifact.key'))}'"
                    f" ({safe_text(event_attributes.get('flowtel.artifact.type'))}): "
                    f"{safe_text(event_attributes.get('flowtel.artifact.description'))}"
                )
            elif event.name == RESULT_EVENT:
                lines.append(
                    f"{detail_prefix}{glyphs['result']} result "
                    f"'{safe_text(event_attributes.get('flowtel.result.key'))}': "
                    f"{safe_text(event_attributes.get('flowtel.result.description'))}"
                )
        for index, kid in enumerate(kids):
            walk(kid, inner, index == len(kids) - 1, False)

    for root_span in children.get(None, []):
        walk(root_span, "", True, True)
    return "\n".join(lines)


def style_for(stream: Any) -> TreeStyle:
    """ASCII glyphs when ``stream`` cannot encode the tree's; colour on a terminal.

    Colour follows the common conventions: ``NO_COLOR`` (non-empty) turns it off,
    ``FORCE_COLOR`` (non-empty) on, ``TERM=dumb`` off, otherwise on only for a TTY.
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".join(_UNICODE_GLYPHS.values()).encode(encoding)
        ascii = False
    except (UnicodeEncodeError, LookupError):
        ascii = True
    return TreeStyle(ascii=ascii, colour=_wants_colour(stream))


def _wants_colour(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class ConsoleTreeProcessor(SpanProcessor):
    """Prints each finished root run (a span with no local parent) with all its spans.

    Called synchronously by the SDK when spans end; it only buffers and, at a root's end,
    writes one block of text, styled for the stream at that moment (``style_for``): ASCII
    when its encoding lacks the glyphs, colour on a terminal. A character the stream still
    cannot encode is written escaped; only a closed stream or pipe stops the printing.
    Traces above 10,000 buffered spans are dropped.
    """

    def __init__(self, stream: Callable[[], TextIO] | None = None) -> None:
        from .. import _capture

        self._stream = stream or _capture.console
        self._lock = threading.Lock()
        self._traces: dict[int, list[ReadableSpan]] = {}
        self._closed = False

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        trace_id = span.context.trace_id
        is_root = span.parent is None or span.parent.is_remote
        with self._lock:
            spans = self._traces.setdefault(trace_id, [])
            if len(spans) < _MAX_BUFFERED_SPANS:
                spans.append(span)
            if not is_root:
                return
            spans = self._traces.pop(trace_id)
            # Roots with a remote parent can share a trace id: print only this root's subtree.
            mine = _subtree(spans, span)
            if len(mine) < len(spans):
                kept = {id(s) for s in mine}
                self._traces[trace_id] = [s for s in spans if id(s) not in kept]
        if self._closed:
            return
        try:
            stream = self._stream()
            text = render_tree(mine, style_for(stream)) + "\n"
            try:
                stream.write(text)
            except UnicodeEncodeError:
                # A name or message outside the stream's encoding: write it escaped.
                encoding = getattr(stream, "encoding", None) or "ascii"
                stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
            stream.flush()
        except (BrokenPipeError, ValueError):
            # The reader went away (`flowtel demo | head`) or the stream was closed: stop
            # printing trees rather than report every later one as a telemetry error.
            self._closed = True

    def shutdown(self) -> None:
        with self._lock:
            self._traces.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _subtree(spans: list[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    parents = {s.context.span_id: s.parent.span_id if s.parent else None for s in spans}
    root_id = root.context.span_id
    inside: dict[int, bool] = {root_id: True}

    def is_inside(span_id: int | None, depth: int = 0) -> bool:
        if span_id is None or depth > len(spans):
            return False
        if span_id not in inside:
            inside[span_id] = is_inside(parents.get(span_id), depth + 1)
        return inside[span_id]

    return [s for s in spans if is_inside(s.context.span_id)]
