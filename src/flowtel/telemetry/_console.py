"""The embedded default exporter: each finished root run printed as a tree."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TextIO

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import StatusCode

from ._runtime import (
    ARTIFACT_EVENT,
    MESSAGE_EVENT,
    PIPELINE_RUN_ID,
    RESULT_EVENT,
    TASK_RUN_ID,
)

_MAX_BUFFERED_SPANS = 10_000


def format_duration(nanoseconds: int) -> str:
    """A short human duration: 850 µs, 12.3 ms, 1.52 s."""
    if nanoseconds < 1_000_000:
        return f"{nanoseconds / 1000:.0f} µs"
    if nanoseconds < 1_000_000_000:
        return f"{nanoseconds / 1_000_000:.1f} ms"
    return f"{nanoseconds / 1_000_000_000:.2f} s"


def render_tree(spans: list[ReadableSpan]) -> str:
    """The spans of one trace as an indented tree, roots first, children by start time."""
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
        branch = "" if root else ("└── " if last else "├── ")
        failed = span.status.status_code is StatusCode.ERROR
        mark = "✘" if failed else "✔"
        duration = format_duration((span.end_time or 0) - (span.start_time or 0))
        attributes = span.attributes or {}
        run_id = attributes.get(PIPELINE_RUN_ID) if root else attributes.get(TASK_RUN_ID)
        line = f"{prefix}{branch}{mark} {span.name}  {duration}"
        if failed and span.status.description:
            line += f"  {span.status.description}"
        if root and run_id:
            line += f"  [run {run_id}]"
        lines.append(line)
        inner = prefix + ("" if root else ("    " if last else "│   "))
        kids = children.get(span.context.span_id, [])
        detail_prefix = inner + ("│ " if kids else "  ")
        for event in span.events:
            event_attributes = event.attributes or {}
            if event.name == MESSAGE_EVENT:
                severity = event_attributes.get("log.severity", "")
                lines.append(f"{detail_prefix}• {severity} {event_attributes.get('message', '')}")
            elif event.name == ARTIFACT_EVENT:
                lines.append(
                    f"{detail_prefix}◆ artifact {event_attributes.get('flowtel.artifact.key')}"
                    f" ({event_attributes.get('flowtel.artifact.type')}): "
                    f"{event_attributes.get('flowtel.artifact.description')}"
                )
            elif event.name == RESULT_EVENT:
                lines.append(
                    f"{detail_prefix}= result {event_attributes.get('flowtel.result.key')}: "
                    f"{event_attributes.get('flowtel.result.description')}"
                )
        for index, kid in enumerate(kids):
            walk(kid, inner, index == len(kids) - 1, False)

    for root_span in children.get(None, []):
        walk(root_span, "", True, True)
    return "\n".join(lines)


class ConsoleTreeProcessor(SpanProcessor):
    """Prints each finished root run (a span with no local parent) with all its spans.

    Called synchronously by the SDK when spans end; it only buffers and, at a root's end,
    writes one block of text. Traces above 10,000 buffered spans are dropped.
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
        text = render_tree(mine)
        try:
            stream = self._stream()
            stream.write(text + "\n")
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
