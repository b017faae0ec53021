"""Prefect's ``prefect.context.tags``: tags for every run started inside a ``with`` block."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["tags"]

_context_tags: ContextVar[tuple[str, ...]] = ContextVar("flowtel.prefect.tags", default=())


@contextlib.contextmanager
def tags(*new_tags: str) -> Iterator[set[str]]:
    """Add ``new_tags`` to the runs started in the block (nested blocks add up).

    The tags are recorded on those runs' spans (``flowtel.tags``) next to the ``tags=`` of
    their decorators. Yields the set of tags now in effect.
    """
    for tag in new_tags:
        if not isinstance(tag, str):
            raise TypeError(f"tags() takes str tags, got {type(tag).__name__} {tag!r}")
    current = _context_tags.get()
    merged = current + tuple(tag for tag in new_tags if tag not in current)
    token = _context_tags.set(merged)
    try:
        yield set(merged)
    finally:
        _context_tags.reset(token)


def current_tags() -> tuple[str, ...]:
    """The tags of the enclosing ``with tags(...)`` blocks, oldest first."""
    return _context_tags.get()


def run_tags(declared: tuple[str, ...]) -> tuple[str, ...]:
    """A run's tags: its decorator's, then the context's that are not among them."""
    extra = _context_tags.get()
    if not extra:
        return declared
    return declared + tuple(tag for tag in extra if tag not in declared)
