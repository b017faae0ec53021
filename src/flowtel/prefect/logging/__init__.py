"""Prefect's ``prefect.logging``: ``get_run_logger()``."""

from __future__ import annotations

from .loggers import get_run_logger

__all__ = ["get_run_logger"]
