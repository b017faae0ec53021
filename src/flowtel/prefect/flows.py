"""Prefect's ``@flow`` (``prefect.flows.flow``) on flowtel.

Calling a flow runs it and returns its result (``return_state=True``: its State); an
async flow returns a coroutine. Parameters are validated and coerced from their
annotations when pydantic is installed (``flowtel[prefect]``), as Prefect does
(``validate_parameters=False`` turns it off). A returned State sets the final state.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from .. import _decorators
from .._config import Flow_Run__Config
from .._context import current_flow
from .._function_info import FLOW_INJECTABLE, check_decoratable
from .._options import COMMON_OPTIONS, FLOW_ONLY_OPTIONS
from ..telemetry import _runtime as telemetry
from . import _console
from ._runs import Hooks, declared_tags, parent_flow
from .context import current_tags, run_tags
from .exceptions import ParameterTypeError
from .futures import settle_returned
from .states import (
    StatesFailed,
    final_value,
    from_returned_state,
    mark_not_started,
    not_started,
    prefect_state,
)
from .task_runners import ThreadPoolTaskRunner
from .tasks import check_keywords

__all__ = ["flow"]

_PREFECT_CONFIG = Flow_Run__Config(echo_prints=False, split_print_lines=False)

FLOW_KEYWORDS = (*COMMON_OPTIONS, *FLOW_ONLY_OPTIONS, "validate_parameters", "on_running")


def flow(fn: Any = None, /, **options: Any) -> Any:
    """Prefect's ``@flow``: calling the function runs the flow and returns its result."""
    check_keywords("flow", options, FLOW_KEYWORDS)
    validate = options.get("validate_parameters", True)
    if type(validate) is not bool:
        raise TypeError(f"@flow(validate_parameters=...) must be True or False, got {validate!r}")
    if fn is None:
        return lambda target: _make_flow(target, options)
    return _make_flow(fn, options)


class _Validator:
    """Checks and coerces a flow's annotated arguments with pydantic, built on first use."""

    def __init__(self, target: Callable[..., Any]) -> None:
        self.target = target
        self.signature = inspect.signature(target)
        self.model: Any = None
        self.built = False

    def _build(self) -> None:
        self.built = True
        try:
            import pydantic
        except ImportError:  # validation is part of the optional flowtel[prefect] extra
            return
        try:
            hints = typing.get_type_hints(self.target)
        except Exception:
            hints = {}
        fields: dict[str, Any] = {}
        for index, (name, parameter) in enumerate(self.signature.parameters.items()):
            if name in FLOW_INJECTABLE or parameter.kind in (
                inspect.Parameter.VAR_POSITIONAL,
                inspect.Parameter.VAR_KEYWORD,
            ):
                continue
            if parameter.annotation is inspect.Parameter.empty:
                continue
            annotation = hints.get(name, parameter.annotation)
            if isinstance(annotation, str):
                continue  # an annotation that does not resolve is not checked
            fields[f"p{index}"] = (annotation, pydantic.Field(default=None, alias=name))
        if not fields:
            return
        try:
            self.model = pydantic.create_model(
                f"{getattr(self.target, '__name__', 'flow')}_parameters",
                __config__=pydantic.ConfigDict(arbitrary_types_allowed=True),
                **fields,
            )
        except Exception:  # a type pydantic cannot check is passed through unchecked
            self.model = None

    def __call__(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        if not self.built:
            self._build()
        model = self.model
        if model is None:
            return args, kwargs
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError:
            return args, kwargs  # the call itself reports the wrong arguments
        import pydantic

        checked = {
            field.alias: bound.arguments[field.alias]
            for field in model.model_fields.values()
            if field.alias in bound.arguments
        }
        try:
            validated = model.model_validate(checked)
        except pydantic.ValidationError as error:
            raise mark_not_started(ParameterTypeError.from_validation_error(error)) from None
        for field_name, field in model.model_fields.items():
            if field.alias in checked:
                bound.arguments[field.alias] = getattr(validated, field_name)
        return bound.args, bound.kwargs


_NOT_PROVIDED_METHODS = {
    "serve": "serving flows (deployments)",
    "deploy": "deployments",
    "from_source": "loading flows from remote sources (deployments)",
    "visualize": "flow visualisation",
    "generate_mermaid_graph": "flow visualisation",
}


def _not_provided_method(method: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"flow.{method}() ({_NOT_PROVIDED_METHODS[method]}) is not provided by "
            "flowtel.prefect: flowtel runs flows in-process and records them as OpenTelemetry "
            "traces, logs and metrics. The README's Prefect table lists what is provided."
        )

    return refuse


def _began(run: Any) -> None:
    if run is None:
        return
    kind = "flow" if parent_flow(run) is None else "subflow"
    _console.write_line(
        20,
        _console.run_label(run),
        f"Beginning {kind} run {_console.flow_run_name(run)!r} for flow {run.flow_name!r}",
    )
    if current_tags():
        telemetry.run_tagged(run, run_tags(declared_tags(run)))


def _finished(run: Any) -> None:
    if not_started(run.flow_error):
        return  # as in Prefect, a flow with invalid parameters logs nothing
    state = prefect_state(run)
    # Prefect logs a sync flow's final state at INFO, an async flow's failure at ERROR.
    failed_async = run.is_async and not state.is_completed()
    level = 40 if failed_async and not from_returned_state(run.flow_error) else 20
    _console.write_line(level, _console.run_label(run), f"Finished in state {state}")


def _make_flow(target: Any, options: dict[str, Any]) -> Any:
    if isinstance(target, classmethod):
        return classmethod(_make_flow(target.__func__, options))
    check_decoratable("flow", target)
    hooks = Hooks("flow", options)
    core_options = hooks.core_options(
        {k: v for k, v in options.items() if k != "validate_parameters"}
    )
    core_options.setdefault("log_prints", False)
    # As in Prefect, a logged print is a log line, not also stdout.
    core_options["flow_config"] = _PREFECT_CONFIG
    if core_options.get("task_runner") is None:
        core_options["task_runner"] = ThreadPoolTaskRunner()  # Prefect's: a thread per task
    if core_options.get("name") is None:
        # Prefect names a flow after its function with "_" as "-" (tasks keep the name).
        core_options["name"] = getattr(target, "__name__", "flow").replace("_", "-")
    validator = _Validator(target) if options.get("validate_parameters", True) else None

    if inspect.iscoroutinefunction(target):

        @functools.wraps(target)
        async def async_body(*args: Any, **kwargs: Any) -> Any:
            run = current_flow.get()
            if validator is not None:
                args, kwargs = validator(args, kwargs)
            _began(run)
            hooks.running(getattr(run, "_wrapper", None), run)
            value = await target(*args, **kwargs)
            await settle_returned(value)
            return final_value(value, run)

        body: Callable[..., Any] = async_body
    else:

        @functools.wraps(target)
        def sync_body(*args: Any, **kwargs: Any) -> Any:
            run = current_flow.get()
            if validator is not None:
                args, kwargs = validator(args, kwargs)
            _began(run)
            hooks.running(getattr(run, "_wrapper", None), run)
            return final_value(target(*args, **kwargs), run)

        body = sync_body
    core = _decorators.flow(**core_options)(body)

    def new_run(args: tuple, kwargs: dict, wrapper: Callable[..., Any]) -> Any:
        run = core(*args, **kwargs)
        run._wrapper = wrapper
        run.console_writer = _console.write_message
        return run

    if inspect.iscoroutinefunction(target):

        @functools.wraps(target)
        async def async_flow_call(*args: Any, return_state: bool = False, **kwargs: Any) -> Any:
            run = new_run(args, kwargs, async_flow_call)
            try:
                await run.execute_async()
            except StatesFailed as failed:  # returned states, some failed: returned all the same
                _finished(run)
                return prefect_state(run) if return_state else failed.value
            except Exception:
                _finished(run)
                if return_state:
                    return prefect_state(run)
                raise
            _finished(run)
            return prefect_state(run) if return_state else run.flow_return_value

        wrapper: Callable[..., Any] = async_flow_call
    else:

        @functools.wraps(target)
        def flow_call(*args: Any, return_state: bool = False, **kwargs: Any) -> Any:
            run = new_run(args, kwargs, flow_call)
            try:
                run.execute()
            except StatesFailed as failed:  # returned states, some failed: returned all the same
                _finished(run)
                return prefect_state(run) if return_state else failed.value
            except Exception:
                _finished(run)
                if return_state:
                    return prefect_state(run)
                raise
            _finished(run)
            return prefect_state(run) if return_state else run.flow_return_value

        wrapper = flow_call

    def with_options(**changes: Any) -> Any:
        """A copy of this flow with some decorator keywords changed (Prefect's with_options)."""
        check_keywords("flow.with_options", changes, FLOW_KEYWORDS)
        return _make_flow(target, {**options, **hooks.keywords(), **changes})

    hooks.attach(wrapper)
    for method in _NOT_PROVIDED_METHODS:
        setattr(wrapper, method, _not_provided_method(method))
    wrapper.name = core.name  # type: ignore[attr-defined]
    wrapper.fn = target  # type: ignore[attr-defined]
    wrapper.with_options = with_options  # type: ignore[attr-defined]
    wrapper.validate_parameters = validator is not None  # type: ignore[attr-defined]
    wrapper.flowtel_flow = core  # type: ignore[attr-defined]
    return wrapper
