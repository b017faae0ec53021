"""Duration: a start/end pair in UTC, and its Schema__Duration record.

This Duration stands in for OSBot-Utils' own when osbot-utils is not installed (see
``_osbot_types``); ``duration_record`` reads either.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Any

from ._schema import Schema


@dataclass
class Schema__Duration(Schema):
    """One measured duration: UTC epoch seconds of its start and end, and its length."""

    utc: bool = True
    timestamp_start: float = 0.0
    timestamp_end: float = 0.0
    duration_seconds: float = 0.0


class Duration:
    """Measures one interval: ``start()``, ``end()``, then ``data()`` or ``seconds()``.

    The length comes from the monotonic clock, the timestamps from the wall clock. With
    ``print_result`` (the default, as in OSBot-Utils) ``end()`` prints the length; the
    stats collectors turn it off.
    """

    def __init__(self, print_result: bool = True, use_utc: bool = True) -> None:
        self.print_result = print_result
        self.use_utc = use_utc
        self.start_time: datetime.datetime | None = None
        self.end_time: datetime.datetime | None = None
        self.duration: datetime.timedelta | None = None
        self._started = 0.0

    def _now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.timezone.utc if self.use_utc else None)

    def start(self) -> Duration:
        self.start_time = self._now()
        self.end_time = self.duration = None
        self._started = time.perf_counter()
        return self

    def end(self) -> Duration:
        if self.start_time is None:
            raise ValueError("Duration.end() called before start()")
        elapsed = time.perf_counter() - self._started
        self.end_time = self._now()
        self.duration = datetime.timedelta(seconds=elapsed)
        if self.print_result:
            print(f"\nDuration: {elapsed:.3f} seconds")
        return self

    def seconds(self) -> float:
        if self.duration is None:
            raise ValueError("Duration has no length yet: call start() and end() first")
        return self.duration.total_seconds()

    def data(self) -> Schema__Duration:
        """This duration as a record; raises ValueError before end()."""
        seconds = self.seconds()
        assert self.start_time is not None and self.end_time is not None
        return Schema__Duration(
            utc=self.use_utc,
            timestamp_start=self.start_time.timestamp(),
            timestamp_end=self.end_time.timestamp(),
            duration_seconds=seconds,
        )


def duration_record(duration: Any) -> Schema__Duration:
    """The record of a finished Duration: flowtel.osbot's, or OSBot-Utils' own.

    Both keep ``use_utc``, ``start_time`` / ``end_time`` datetimes and a ``duration``
    timedelta. Read here rather than through OSBot-Utils' ``data()``, which refuses a
    zero-length duration and returns a record of its own type.
    """
    if duration.start_time is None or duration.end_time is None or duration.duration is None:
        raise ValueError("Duration has no length yet: call start() and end() first")
    return Schema__Duration(
        utc=duration.use_utc,
        timestamp_start=duration.start_time.timestamp(),
        timestamp_end=duration.end_time.timestamp(),
        duration_seconds=duration.duration.total_seconds(),
    )
