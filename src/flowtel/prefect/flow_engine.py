"""Prefect's ``prefect.flow_engine`` error for a flow run over its timeout."""

from __future__ import annotations

from .._execution import FlowRunTimeoutError

__all__ = ["FlowRunTimeoutError"]
