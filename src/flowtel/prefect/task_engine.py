"""Prefect's ``prefect.task_engine`` error for a task run over its timeout."""

from __future__ import annotations

from .._execution import TaskRunTimeoutError

__all__ = ["TaskRunTimeoutError"]
