"""Prefect's ``prefect.task_runners``: ThreadPoolTaskRunner."""

from __future__ import annotations

from .._futures import ThreadPoolTaskRunner

__all__ = ["ThreadPoolTaskRunner"]
