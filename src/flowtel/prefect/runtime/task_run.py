"""Prefect's ``prefect.runtime.task_run``: attributes of the current task run.

``id``, ``name``, ``task_name``, ``parameters``, ``tags`` and ``run_count`` (``api_url`` and
``ui_url`` are None: no server); outside a
task run each is None (``parameters`` {} and ``tags`` [], ``run_count`` 0), as in Prefect.
"""

from __future__ import annotations

from typing import Any

from ..._context import current_task

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

_EMPTY: dict[str, Any] = {"parameters": {}, "tags": [], "run_count": 0, "job_variables": {}}


def __getattr__(attribute: str) -> Any:
    if attribute not in __all__:
        raise AttributeError(f"flowtel.prefect.runtime.task_run has no attribute {attribute!r}")
    run = current_task.get()
    if run is None:
        empty = _EMPTY.get(attribute)
        return (
            dict(empty)
            if isinstance(empty, dict)
            else list(empty)
            if isinstance(empty, list)
            else empty
        )
    from .._runs import TaskRunView

    return getattr(TaskRunView(run), attribute)
