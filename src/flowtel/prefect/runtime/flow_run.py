"""Prefect's ``prefect.runtime.flow_run``: attributes of the current flow run.

``id``, ``name``, ``flow_name``, ``parameters``, ``tags``, ``run_count``, ``flow_version``,
``scheduled_start_time`` (the start), ``parent_flow_run_id``, ``root_flow_run_id`` (``api_url``,
``ui_url`` and ``parent_deployment_id`` are None: no server); outside a
flow run each is None (``parameters`` {} and ``tags`` [], ``run_count`` 0), as in Prefect.
"""

from __future__ import annotations

from typing import Any

from ..._context import current_flow
from ._lookup import run_attribute

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


def __getattr__(attribute: str) -> Any:
    from .._runs import FlowRunView

    return run_attribute(
        "flowtel.prefect.runtime.flow_run", __all__, attribute, current_flow.get(), FlowRunView
    )
