"""print() capture for running flows, without a stdout swap left behind.

While at least one run captures, ``sys.stdout`` is a router that sends text written in a
capturing context to that run and everything else to the stdout it replaced. Captured text
is also echoed to that stdout unless the run's config turns ``echo_prints`` off (or shows it
already, as a ``log_to_console`` line): adding ``@flow`` must not hide a program's output.
When the last capturing run ends the original stdout is put back (unless someone replaced
the router meanwhile, in which case theirs is left alone). A router idle while nobody
captures passes everything through, and the next run's start or end removes it.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from ._context import print_sink

_lock = threading.Lock()
_users = 0
_router: _StdoutRouter | None = None


class _StdoutRouter:
    def __init__(self, original: TextIO) -> None:
        self.original = original

    def write(self, text: str) -> int:
        sink = print_sink.get()
        if sink is None:
            return self.original.write(text)
        sink._capture_print(text)
        config = sink.flow_config
        if config.echo_prints and not (config.log_to_console and config.logging_enabled):
            self.original.write(text)
        return len(text)

    def flush(self) -> None:
        self.original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


def acquire() -> None:
    """Start routing stdout (reference counted)."""
    global _users, _router
    with _lock:
        _users += 1
        if _users == 1:
            current = sys.stdout
            # A router left behind by code that swapped stdout while a run ended (see
            # release) is unwrapped here rather than stacked.
            _router = _StdoutRouter(_unwrap(current))
            sys.stdout = _router


def release() -> None:
    """Stop routing when the last capturing run has ended."""
    global _users, _router
    with _lock:
        _users -= 1
        if _users == 0 and _router is not None:
            if isinstance(sys.stdout, _StdoutRouter):
                sys.stdout = _unwrap(sys.stdout)
            _router = None


def _unwrap(stream: Any) -> TextIO:
    while isinstance(stream, _StdoutRouter):
        stream = stream.original
    return stream


def console() -> TextIO:
    """The real stdout, for flowtel's own console output."""
    router = _router
    if router is not None:
        return router.original
    stdout = sys.stdout
    return stdout.original if isinstance(stdout, _StdoutRouter) else stdout
