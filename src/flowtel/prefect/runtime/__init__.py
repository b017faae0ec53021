"""Prefect's ``prefect.runtime``: ``flow_run`` and ``task_run`` read the current run."""

from __future__ import annotations

from . import deployment, flow_run, task_run

__all__ = ["deployment", "flow_run", "task_run"]
