"""``@flow`` of flowtel.osbot: calling the function returns a set-up flowtel.osbot Flow."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..._decorators import FLOW_OPTIONS, _one_name
from ..._function_info import FLOW_INJECTABLE, FunctionInfo, check_decoratable, check_options
from ..._options import RunOptions
from ..Flow import Flow

__all__ = ["Flow", "flow"]


def flow(fn: Any = None, /, **options: Any) -> Any:
    """Make a function (or method) a flow; each call returns a new Flow to ``execute()``.

    ``@flow()`` as in OSBot-Utils (``@flow`` works too), with flowtel's keywords:
    ``flow_config``, ``flow_name``, ``flow_id`` and the Prefect-style ones of
    ``flowtel.flow``. Bad keywords fail here, at decoration time.
    """
    check_options("flow", options, FLOW_OPTIONS)
    Flow(
        options.get("flow_config"), _one_name("flow", options, "flow_name"), options.get("flow_id")
    )
    RunOptions.from_keywords("flow", options)
    if fn is None:
        return lambda target: _make_flow(target, options)
    return _make_flow(fn, options)


def _make_flow(target: Any, options: dict[str, Any]) -> Callable[..., Flow]:
    check_decoratable("flow", target)
    info = FunctionInfo(target, FLOW_INJECTABLE)
    flow_config = options.get("flow_config")
    flow_name = _one_name("flow", options, "flow_name") or info.function_name
    flow_id = options.get("flow_id")
    run_options = RunOptions.from_keywords("flow", options)

    @functools.wraps(target)
    def flow_call(*args: Any, **kwargs: Any) -> Flow:
        return Flow(flow_config, flow_name, flow_id)._bind(
            info, args, kwargs, run_options, flow_call
        )

    flow_call.flow_info = info  # type: ignore[attr-defined]
    flow_call.name = flow_name  # type: ignore[attr-defined]
    flow_call.fn = target  # type: ignore[attr-defined]
    return flow_call
