"""on_failure / on_completion hooks, called once per run with Prefect's arguments."""

from __future__ import annotations

import logging
from typing import Any

from ._options import RunOptions
from ._run import STATUS_COMPLETED, STATUS_FAILED, error_text
from ._state import State

_logger = logging.getLogger("flowtel.hooks")


def run_hooks(run: Any, options: RunOptions, wrapper: Any) -> None:
    """Call the hooks for the run's final status as ``hook(flow_or_task, run, state)``.

    A hook that raises is reported (run log and ``logging``) and does not change the run.
    """
    status = run.flow_status if hasattr(run, "flow_status") else run.status
    if status == STATUS_COMPLETED:
        hooks = options.on_completion
    elif status == STATUS_FAILED:
        hooks = options.on_failure
    else:
        return
    if not hooks:
        return
    state = State.of(run)
    for hook in hooks:
        try:
            hook(wrapper, run, state)
        except Exception as error:
            name = getattr(hook, "__qualname__", repr(hook))
            run._log(logging.ERROR, "Hook %s raised: %s", (name, error_text(error)))
            _logger.exception("flowtel: hook %s raised; the run's outcome is unchanged", name)
