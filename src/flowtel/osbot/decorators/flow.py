"""``@flow`` of flowtel.osbot: calling the function returns a set-up flowtel.osbot Flow."""

from __future__ import annotations

from typing import Any

from ..._decorators import flow_decorator
from ..Flow import Flow

__all__ = ["Flow", "flow"]


def flow(fn: Any = None, /, **options: Any) -> Any:
    """Make a function (or method) a flow; each call returns a new Flow to ``execute()``.

    ``@flow()`` as in OSBot-Utils (``@flow`` works too), with flowtel's keywords:
    ``flow_config``, ``flow_name``, ``flow_id`` and the Prefect-style ones of
    ``flowtel.flow``. Bad keywords fail here, at decoration time.
    """
    return flow_decorator(fn, options, Flow)
