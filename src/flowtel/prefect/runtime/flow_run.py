"""Prefect's ``prefect.runtime.flow_run``: attributes of the current flow run.

``id``, ``name``, ``flow_name``, ``parameters``, ``tags``, ``run_count``, ``flow_version``,
``scheduled_start_time`` (the start), ``parent_flow_run_id``, ``root_flow_run_id`` (``api_url``,
``ui_url`` and ``parent_deployment_id`` are None: no server); outside a
flow run each is None (``parameters`` {} and ``tags`` [], ``run_count`` 0), as in Prefect.
"""

from __future__ import annotations

from typing import Any

from ..._context import current_flow

# The names are served by the module __getattr__ below, read at each access.
__all__ = [  # noqa: F822, RUF022  (Prefect's order)
    "id",
    "tags",
    "scheduled_start_time",
    "name",
    "flow_name",
    "flow_version",
    "parameters",
    "parent_flow_run_id",
    "parent_deployment_id",
    "root_flow_run_id",
    "run_count",
    "api_url",
    "ui_url",
    "job_variables",
]

_EMPTY: dict[str, Any] = {"parameters": {}, "tags": [], "run_count": 0, "job_variables": {}}


def __getattr__(attribute: str) -> Any:
    if attribute not in __all__:
        raise AttributeError(f"flowtel.prefect.runtime.flow_run has no attribute {attribute!r}")
    run = current_flow.get()
    if run is None:
        empty = _EMPTY.get(attribute)
        return (
            dict(empty)
            if isinstance(empty, dict)
            else list(empty)
            if isinstance(empty, list)
            else empty
        )
    from .._runs import FlowRunView

    return getattr(FlowRunView(run), attribute)
