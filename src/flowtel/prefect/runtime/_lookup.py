"""What ``prefect.runtime.flow_run`` and ``task_run`` share: reading one attribute of a run."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

# Outside a run Prefect gives these empty values (a fresh copy each time), and None otherwise.
_EMPTY: dict[str, Any] = {"parameters": {}, "tags": [], "run_count": 0, "job_variables": {}}


def run_attribute(
    module: str, names: list[str], attribute: str, run: Any, view: Callable[[Any], Any]
) -> Any:
    """``attribute`` of the current ``run`` (through ``view``), or its empty value outside one."""
    if attribute not in names:
        raise AttributeError(f"{module} has no attribute {attribute!r}")
    if run is None:
        return copy.copy(_EMPTY.get(attribute))
    return getattr(view(run), attribute)
