"""Prefect 3's API on flowtel: change ``prefect`` to ``flowtel.prefect`` in the imports.

The submodules mirror Prefect's paths for what is provided (``flowtel.prefect.futures``,
``.task_runners``, ``.logging``, ``.states``, ``.context``, ``.runtime``, ``.exceptions``,
``.flows``, ``.tasks``, ``.flow_engine``, ``.task_engine``). Importing the path of a
feature that is not provided (caching, transactions, concurrency limits, deployments, the
server and client, ...) raises ImportError naming it. Runs show their messages on stderr
as Prefect's console does and are recorded as OpenTelemetry spans, events and log records.
The README's Prefect table lists what maps to what.
"""

from __future__ import annotations

from typing import Any

from .. import __version__ as _flowtel_version
from .._futures import TaskRunFuture, as_completed, unmapped, wait
from .._state import State
from ._console import set_console_level
from ._not_provided import NAMES, not_provided
from .context import tags
from .flows import flow
from .futures import PrefectFuture, allow_failure
from .logging import get_run_logger
from .task_runners import ThreadPoolTaskRunner
from .tasks import task

# flowtel's version: Prefect code that prints prefect.__version__ shows what runs it.
__version__ = _flowtel_version

__all__ = [
    "PrefectFuture",
    "State",
    "TaskRunFuture",
    "ThreadPoolTaskRunner",
    "allow_failure",
    "as_completed",
    "flow",
    "get_run_logger",
    "set_console_level",
    "tags",
    "task",
    "unmapped",
    "wait",
]


def __getattr__(name: str) -> Any:
    feature = NAMES.get(name)
    if feature is not None:
        raise not_provided(feature, f"prefect.{name}")
    raise AttributeError(f"module 'flowtel.prefect' has no attribute {name!r}")
