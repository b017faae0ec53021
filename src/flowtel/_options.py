"""Execution options shared by @flow and @task (Prefect's names), validated at decoration."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

Hook = Callable[..., Any]

# Keywords with Prefect's names, accepted by both decorators.
COMMON_OPTIONS = (
    "name",
    "description",
    "tags",
    "retries",
    "retry_delay_seconds",
    "retry_jitter_factor",
    "timeout_seconds",
    "log_prints",
    "on_failure",
    "on_completion",
)
FLOW_ONLY_OPTIONS = ("version", "flow_run_name", "task_runner")
TASK_ONLY_OPTIONS = ("task_run_name",)


class RunOptions:
    """Retries, timeout, hooks, print capture and descriptive metadata of a flow or task.

    A definition without any of these runs on the fast path; ``RunOptions.from_keywords``
    returns None then.
    """

    __slots__ = (
        "description",
        "log_prints",
        "on_completion",
        "on_failure",
        "retries",
        "retry_delays",
        "retry_jitter_factor",
        "run_name",
        "span_attributes",
        "tags",
        "task_runner",
        "timeout_seconds",
        "version",
    )

    def __init__(self, kind: str, keywords: dict[str, Any]) -> None:
        self.retries = _non_negative_int(kind, "retries", keywords.get("retries", 0))
        self.retry_delays = _delays(kind, keywords.get("retry_delay_seconds"), self.retries)
        self.retry_jitter_factor = _non_negative_number(
            kind, "retry_jitter_factor", keywords.get("retry_jitter_factor")
        )
        self.timeout_seconds = _positive_number(
            kind, "timeout_seconds", keywords.get("timeout_seconds")
        )
        log_prints = keywords.get("log_prints")
        if log_prints is not None and type(log_prints) is not bool:
            raise TypeError(
                f"@{kind}(log_prints=...) must be True, False or None, got {log_prints!r}"
            )
        self.log_prints: bool | None = log_prints
        self.on_failure = _hooks(kind, "on_failure", keywords.get("on_failure"))
        self.on_completion = _hooks(kind, "on_completion", keywords.get("on_completion"))
        self.description = _optional_str(kind, "description", keywords.get("description"))
        self.version = _optional_str(kind, "version", keywords.get("version"))
        self.tags = _tags(kind, keywords.get("tags"))
        run_name_key = "flow_run_name" if kind == "flow" else "task_run_name"
        run_name = keywords.get(run_name_key)
        if run_name is not None and not (isinstance(run_name, str) or callable(run_name)):
            raise TypeError(
                f"@{kind}({run_name_key}=...) must be a str template like 'load-{{day}}' or a "
                f"callable returning a str, got {type(run_name).__name__} {run_name!r}"
            )
        self.run_name: str | Callable[..., str] | None = run_name
        self.task_runner = keywords.get("task_runner")
        if self.task_runner is not None:
            from ._futures import TaskRunner

            if not isinstance(self.task_runner, TaskRunner):
                raise TypeError(
                    "@flow(task_runner=...) must be a flowtel task runner, e.g. "
                    "ThreadPoolTaskRunner(max_workers=8) or flowtel.dask.DaskTaskRunner(); "
                    f"got {self.task_runner!r}"
                )
        attributes: dict[str, Any] = {}
        if self.description:
            attributes["flowtel.description"] = self.description
        if self.tags:
            attributes["flowtel.tags"] = self.tags
        if self.version:
            attributes["flowtel.flow.version"] = self.version
        self.span_attributes = attributes

    @classmethod
    def from_keywords(cls, kind: str, keywords: dict[str, Any]) -> RunOptions | None:
        if not any(
            keywords.get(name) is not None
            for name in (*COMMON_OPTIONS, *FLOW_ONLY_OPTIONS, *TASK_ONLY_OPTIONS)
            if name != "name"
        ):
            return None
        return cls(kind, keywords)

    def delay_before(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based), jitter included."""
        if not self.retry_delays:
            return 0.0
        delay = self.retry_delays[min(retry_number, len(self.retry_delays)) - 1]
        if self.retry_jitter_factor:
            delay += random.uniform(0, delay * self.retry_jitter_factor)
        return delay

    def run_name_for(self, signature: Any, args: tuple, kwargs: dict) -> str | None:
        """The run name, from the template filled with this call's arguments."""
        template = self.run_name
        if template is None:
            return None
        if callable(template):
            return str(template())
        values: dict[str, Any] = {}
        if signature is not None:
            try:
                bound = signature.bind_partial(*args, **kwargs)
                bound.apply_defaults()
                values = dict(bound.arguments)
            except TypeError:
                values = dict(kwargs)
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"run name template {template!r} could not be filled from the call's "
                f"arguments {sorted(values)}: {error!r}"
            ) from None


def _non_negative_int(kind: str, name: str, value: Any) -> int:
    if value is None:
        return 0
    if type(value) is not int or value < 0:
        raise ValueError(f"@{kind}({name}=...) must be a whole number >= 0, got {value!r}")
    return value


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _non_negative_number(kind: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    if not _number(value) or value < 0:
        raise ValueError(f"@{kind}({name}=...) must be a number >= 0, got {value!r}")
    return float(value)


def _positive_number(kind: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    if not _number(value) or value <= 0:
        raise ValueError(f"@{kind}({name}=...) must be a number of seconds > 0, got {value!r}")
    return float(value)


def _delays(kind: str, value: Any, retries: int) -> tuple[float, ...]:
    if value is None:
        return ()
    if _number(value):
        if value < 0:
            raise ValueError(f"@{kind}(retry_delay_seconds=...) must be >= 0, got {value!r}")
        return (float(value),)
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        delays = list(value)
        if len(delays) != retries:
            raise ValueError(
                f"@{kind}(retry_delay_seconds=[...]) has {len(delays)} delays for retries="
                f"{retries}; give one delay per retry, or a single number for all"
            )
        for delay in delays:
            if not _number(delay) or delay < 0:
                raise ValueError(
                    f"@{kind}(retry_delay_seconds=...) delays must be numbers >= 0, got {delay!r}"
                )
        return tuple(float(delay) for delay in delays)
    raise TypeError(
        f"@{kind}(retry_delay_seconds=...) must be a number or a list of numbers, got {value!r}"
    )


def _hooks(kind: str, name: str, value: Any) -> tuple[Hook, ...]:
    if value is None:
        return ()
    hooks = list(value) if isinstance(value, (list, tuple)) else [value]
    for hook in hooks:
        if not callable(hook):
            raise TypeError(
                f"@{kind}({name}=...) must be a callable or a list of callables, got "
                f"{type(hook).__name__} {hook!r}"
            )
    return tuple(hooks)


def _optional_str(kind: str, name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"@{kind}({name}=...) must be a str, got {type(value).__name__} {value!r}")
    return value


def _tags(kind: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError(f"@{kind}(tags=...) must be a list of str, got {value!r}")
    tags = tuple(sorted(value)) if isinstance(value, (set, frozenset)) else tuple(value)
    for tag in tags:
        if not isinstance(tag, str):
            raise TypeError(f"@{kind}(tags=...) must contain only str, got {tag!r}")
    return tags
