"""Prefect's ``prefect.runtime.task_run``: attributes of the current task run.

``id``, ``name``, ``task_name``, ``parameters``, ``tags`` and ``run_count`` (``api_url`` and
``ui_url`` are None: no server); outside a
task run each is None (``parameters`` {} and ``tags`` [], ``run_count`` 0), as in Prefect.
"""

from __future__ import annotations

from typing import Any

from ..._context import current_task
from ._lookup import run_attribute

# The names are served by the module __getattr__ below, read at each access.
__all__ = [  # noqa: F822, RUF022  (Prefect's order)
    "id",
    "tags",
    "name",
    "parameters",
    "run_count",
    "task_name",
    "api_url",
    "ui_url",
]


def __getattr__(attribute: str) -> Any:
    from .._runs import TaskRunView

    return run_attribute(
        "flowtel.prefect.runtime.task_run", __all__, attribute, current_task.get(), TaskRunView
    )
