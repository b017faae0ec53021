"""Prefect-shaped views of flowtel runs: what hooks and ``prefect.runtime`` read."""

from __future__ import annotations

import contextvars
import datetime
import logging
from typing import Any

from .._function_info import FLOW_INJECTABLE, TASK_INJECTABLE
from .._options import RunOptions, _hooks
from .._run import error_text
from ._console import flow_run_name, run_label, task_run_name, write_line
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


def parent_flow(run: Any) -> Any:
    # The flow current when ``run`` began (its parent), from the token flowtel set then.
    token = getattr(run, "_flow_token", None)
    parent = token.old_value if token is not None else None
    return parent if parent is not None and parent is not contextvars.Token.MISSING else None


def declared_tags(run: Any) -> tuple[str, ...]:
    options = run._options if hasattr(run, "flow_status") else run.definition.options
    return options.tags if options is not None else ()


class _RunView:
    """What Prefect's flow-run and task-run objects share; ``run`` is the flowtel run."""

    # Prefect's API and UI addresses: flowtel has no server.
    api_url = None
    ui_url = None

    def __init__(self, run: Any) -> None:
        self.run = run

    @property
    def parameters(self) -> dict[str, Any]:
        return parameters(self.run)

    @property
    def tags(self) -> list[str]:
        return list(run_tags(declared_tags(self.run)))

    @property
    def run_count(self) -> int:
        return max(self.run.attempts, 1)


class FlowRunView(_RunView):
    """A flow run as Prefect's hooks see it: ``name``, ``id``, ``parameters``, ``tags``..."""

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
        parent = parent_flow(self.run)
        return parent.flow_id if parent is not None else None

    @property
    def root_flow_run_id(self) -> str:
        run = self.run
        while (parent := parent_flow(run)) is not None:
            run = parent
        return run.flow_id

    # Deployments: flowtel has none.
    parent_deployment_id = None

    @property
    def job_variables(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"FlowRun(id={self.id!r}, name={self.name!r}, flow_name={self.flow_name!r})"


class TaskRunView(_RunView):
    """A task run as Prefect's hooks see it: ``name``, ``id``, ``task_name``, ``tags``..."""

    def __init__(self, run: Any) -> None:
        super().__init__(run)
        # Read now: a finished run holds its flow weakly, so a view kept by a hook outlives it.
        flow = run.task_flow
        self.flow_run_id: str | None = flow.flow_id if flow is not None else None

    @property
    def id(self) -> str:
        return self.run.task_id

    @property
    def name(self) -> str:
        return task_run_name(self.run)

    @property
    def task_name(self) -> str:
        return self.run.task_name

    def __repr__(self) -> str:
        return f"TaskRun(id={self.id!r}, name={self.name!r}, task_name={self.task_name!r})"


def hook_name(hook: Any) -> str:
    """The name Prefect's log uses for a hook (a partial's function name)."""
    target = getattr(hook, "func", hook)
    return getattr(target, "__name__", None) or repr(hook)


def call_hook(hook: Any, owner: Any, run: Any, state: Any) -> None:
    """Call ``hook(owner, run_view, state)``, logging it on the console as Prefect does.

    An error is shown and raised again, for the core to record on the run.
    """
    label = run_label(run)
    name = hook_name(hook)
    write_line(
        logging.INFO, label, f"Running hook {name!r} in response to entering state {state.name!r}"
    )
    view = FlowRunView(run) if hasattr(run, "flow_status") else TaskRunView(run)
    try:
        hook(owner, view, state)
    except Exception:
        write_line(logging.ERROR, label, f"An error was encountered while running hook {name!r}")
        raise
    write_line(logging.INFO, label, f"Hook {name!r} finished running successfully")


class Hooks:
    """A flow's or task's hooks, Prefect's way; ``@my_task.on_failure`` adds one later.

    The core calls ``on_failure`` / ``on_completion`` as ``(wrapper, run, state)``; these
    call each hook as ``hook(flow_or_task, run_view, state)`` with Prefect's console lines.
    A hook that raises is recorded on the run (as the core does) and the next one runs.
    """

    def __init__(self, kind: str, options: dict[str, Any]) -> None:
        self.on_running = _hook_list(kind, "on_running", options.get("on_running"))
        self.on_failure = _hook_list(kind, "on_failure", options.get("on_failure"))
        self.on_completion = _hook_list(kind, "on_completion", options.get("on_completion"))

    def core_options(self, options: dict[str, Any], only_if_hooked: bool = False) -> dict[str, Any]:
        """``options`` for the core decorator, with these hooks in place of the user's.

        With ``only_if_hooked`` (tasks, where every call would pay for the dispatch) a kind
        of hook none is given for is left out; ``attach`` puts it in when one is added.
        """
        adapted = {key: value for key, value in options.items() if key not in _HOOK_KEYWORDS}
        for name in ("on_failure", "on_completion"):
            hooks = getattr(self, name)
            if hooks or not only_if_hooked:
                adapted[name] = [self._dispatch(hooks)]
        return adapted

    @staticmethod
    def _dispatch(hooks: list[Any]) -> Any:
        def dispatch(wrapper: Any, run: Any, _state: Any) -> None:
            if hooks:
                from .states import prefect_state

                call_hooks(hooks, wrapper, run, prefect_state(run))

        return dispatch

    def running(self, owner: Any, run: Any) -> None:
        """Call the on_running hooks as a run (or a retry of it) starts."""
        if self.on_running and run is not None:
            from .._state import State, StateType

            call_hooks(self.on_running, owner, run, State.build(StateType.RUNNING, run=run))

    def attach(self, target: Any, definition: Any = None) -> None:
        """Give ``target`` Prefect's hook decorators: ``@target.on_failure`` and the like.

        ``definition``: the task definition made with ``core_options(only_if_hooked=True)``.
        """
        for name in _HOOK_KEYWORDS:
            hooks = getattr(self, name)

            def register(hook: Any, hooks: list[Any] = hooks, name: str = name) -> Any:
                hooks.extend(_hook_list("hook", name, hook))
                if definition is not None and name != "on_running":
                    self._install(definition, name)
                return hook

            setattr(target, name, register)

    def _install(self, definition: Any, name: str) -> None:
        options = definition.options
        if options is None:  # a task without options runs on the core's fast path until now
            options = definition.options = RunOptions("task", {})
        if not getattr(options, name):
            setattr(options, name, (self._dispatch(getattr(self, name)),))

    def keywords(self) -> dict[str, list[Any]]:
        """The hooks as decorator keywords, those added by decorators included."""
        return {name: list(getattr(self, name)) for name in _HOOK_KEYWORDS}


_HOOK_KEYWORDS = ("on_running", "on_failure", "on_completion")


def call_hooks(hooks: list[Any], owner: Any, run: Any, state: Any) -> None:
    for hook in hooks:
        try:
            call_hook(hook, owner, run, state)
        except Exception as error:
            run._log(logging.ERROR, "Hook %s raised: %s", (hook_name(hook), error_text(error)))


def _hook_list(kind: str, name: str, value: Any) -> list[Any]:
    # The core's check of hook keywords; a list, since decorator hooks are added later.
    return list(_hooks(kind, name, value))
