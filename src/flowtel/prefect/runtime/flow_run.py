"""Prefect's ``prefect.runtime.flow_run``: attributes of the current flow run.

``id``, ``name``, ``flow_name``, ``parameters``, ``tags`` and ``run_count``; outside a
flow run each is None (``parameters`` {} and ``tags`` [], ``run_count`` 0), as in Prefect.
"""

from __future__ import annotations

from typing import Any

from ..._context import current_flow

# The names are served by the module __getattr__ below, read at each access.
__all__ = [  # noqa: F822
    "flow_name",
    "id",
    "name",
    "parameters",
    "run_count",
    "tags",
]

_EMPTY: dict[str, Any] = {"parameters": {}, "tags": [], "run_count": 0}


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
