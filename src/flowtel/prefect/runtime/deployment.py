"""Prefect's ``prefect.runtime.deployment``: flowtel runs have no deployment, so all None.

``id``, ``name``, ``version`` and ``flow_run_id`` are None and ``parameters`` is {}, as
in Prefect for a flow run that was not started from a deployment.
"""

from __future__ import annotations

from typing import Any

# The names are served by the module __getattr__ below.
__all__ = ["flow_run_id", "id", "name", "parameters", "version"]  # noqa: F822


def __getattr__(attribute: str) -> Any:
    if attribute not in __all__:
        raise AttributeError(f"flowtel.prefect.runtime.deployment has no attribute {attribute!r}")
    return {} if attribute == "parameters" else None
