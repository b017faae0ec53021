"""Prefect-shaped views of flowtel runs: what hooks and ``prefect.runtime`` read."""

from __future__ import annotations

import contextvars
import datetime
from typing import Any

from .._function_info import FLOW_INJECTABLE, TASK_INJECTABLE
from ._console import flow_run_name, task_run_name
from .context import run_tags


def parameters(run: Any) -> dict[str, Any]:
    """The run's call arguments by parameter name, defaults filled in."""
    is_flow = hasattr(run, "flow_status")
    info = run._info if is_flow else run.definition.info if run.definition else None
    if info is None or info.signature is None:
        return {}
    args, kwargs = run._args, run._kwargs
    try:
        bound = info.signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()
    except TypeError:
        return dict(kwargs)
    injected = FLOW_INJECTABLE if is_flow else TASK_INJECTABLE
    return {name: value for name, value in bound.arguments.items() if name not in injected}


def _parent_flow(run: Any) -> Any:
    # The flow current when ``run`` began (its parent), from the token flowtel set then.
    token = getattr(run, "_flow_token", None)
    parent = token.old_value if token is not None else None
    return parent if parent is not None and parent is not contextvars.Token.MISSING else None


def declared_tags(run: Any) -> tuple[str, ...]:
    options = run._options if hasattr(run, "flow_status") else run.definition.options
    return options.tags if options is not None else ()


class FlowRunView:
    """A flow run as Prefect's hooks see it: ``name``, ``id``, ``parameters``, ``tags``..."""

    def __init__(self, run: Any) -> None:
        self.run = run

    @property
    def id(self) -> str:
        return self.run.flow_id

    @property
    def name(self) -> str:
        return flow_run_name(self.run)

    @property
    def flow_name(self) -> str:
        return self.run.flow_name

    @property
    def parameters(self) -> dict[str, Any]:
        return parameters(self.run)

    @property
    def tags(self) -> list[str]:
        return list(run_tags(declared_tags(self.run)))

    @property
    def run_count(self) -> int:
        return max(self.run.attempts, 1)

    @property
    def flow_version(self) -> str | None:
        options = self.run._options
        return options.version if options is not None else None

    @property
    def scheduled_start_time(self) -> datetime.datetime | None:
        started = self.run.started_at
        if started is None:
            return None
        return datetime.datetime.fromtimestamp(started, tz=datetime.timezone.utc)

    @property
    def parent_flow_run_id(self) -> str | None:
        parent = _parent_flow(self.run)
        return parent.flow_id if parent is not None else None

    @property
    def root_flow_run_id(self) -> str:
        run = self.run
        while (parent := _parent_flow(run)) is not None:
            run = parent
        return run.flow_id

    # Prefect's API and UI addresses, and deployment job variables: flowtel has neither.
    api_url = None
    ui_url = None
    parent_deployment_id = None

    @property
    def job_variables(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"FlowRun(id={self.id!r}, name={self.name!r}, flow_name={self.flow_name!r})"


class TaskRunView:
    """A task run as Prefect's hooks see it: ``name``, ``id``, ``task_name``, ``tags``..."""

    def __init__(self, run: Any) -> None:
        self.run = run

    @property
    def id(self) -> str:
        return self.run.task_id

    @property
    def name(self) -> str:
        return task_run_name(self.run)

    @property
    def task_name(self) -> str:
        return self.run.task_name

    @property
    def flow_run_id(self) -> str | None:
        flow = self.run.task_flow
        return flow.flow_id if flow is not None else None

    @property
    def parameters(self) -> dict[str, Any]:
        return parameters(self.run)

    @property
    def tags(self) -> list[str]:
        return list(run_tags(declared_tags(self.run)))

    @property
    def run_count(self) -> int:
        return max(self.run.attempts, 1)

    api_url = None
    ui_url = None

    def __repr__(self) -> str:
        return f"TaskRun(id={self.id!r}, name={self.name!r}, task_name={self.task_name!r})"


def adapt_hooks(options: dict[str, Any]) -> dict[str, Any]:
    """Options whose hooks are called Prefect's way: ``hook(flow_or_task, run_view, state)``."""
    from .states import prefect_state

    adapted = dict(options)
    for key in ("on_failure", "on_completion"):
        hooks = options.get(key)
        if hooks is None:
            continue
        if not isinstance(hooks, (list, tuple)):
            hooks = [hooks]

        def prefect_call(hook: Any) -> Any:
            if not callable(hook):
                return hook  # the core names the bad value

            def call(wrapper: Any, run: Any, _state: Any) -> Any:
                view = FlowRunView(run) if hasattr(run, "flow_status") else TaskRunView(run)
                return hook(wrapper, view, prefect_state(run))

            call.__qualname__ = getattr(hook, "__qualname__", repr(hook))
            return call

        adapted[key] = [prefect_call(hook) for hook in hooks]
    return adapted
