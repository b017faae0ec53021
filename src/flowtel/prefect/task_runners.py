"""Prefect's ``prefect.task_runners``: ThreadPoolTaskRunner."""

from __future__ import annotations

import sys

from .._futures import ThreadPoolTaskRunner as _CoreThreadPoolTaskRunner

__all__ = ["ThreadPoolTaskRunner"]


class ThreadPoolTaskRunner(_CoreThreadPoolTaskRunner):
    """flowtel's thread-pool runner with Prefect's default: no limit on ``max_workers``.

    As in Prefect, every submitted task gets a thread as soon as it is submitted unless
    ``max_workers`` says otherwise; flows of ``flowtel.prefect`` use one by default.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__(max_workers)
        self._unbounded = max_workers is None
        if max_workers is None:
            self.max_workers = sys.maxsize  # threads are still made only as tasks need them

    def duplicate(self) -> ThreadPoolTaskRunner:
        return type(self)(None if self._unbounded else self.max_workers)

    def __repr__(self) -> str:
        shown = None if self._unbounded else self.max_workers
        return f"ThreadPoolTaskRunner(max_workers={shown})"
