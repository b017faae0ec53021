"""What flowtel learns about a user function once, at decoration time."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

TASK_INJECTABLE = ("this_task", "this_flow", "task_data", "flow_data")
FLOW_INJECTABLE = ("this_flow", "flow_data")

_INJECTABLE_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class FunctionInfo:
    """A function's sync/async kind, its injection plan and its code location."""

    __slots__ = (
        "code_attributes",
        "file_path",
        "fn",
        "function_name",
        "injections",
        "is_async",
        "line_number",
        "qualified_name",
        "signature",
    )

    def __init__(self, fn: Callable[..., Any], injectable: tuple[str, ...]) -> None:
        if not callable(fn):
            raise TypeError(f"expected a function or method, got {type(fn).__name__} {fn!r}")
        self.fn = fn
        self.is_async = is_coroutine_function(fn)
        try:
            self.signature: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):
            self.signature = None
        # (name, position or None): inject `name` unless the caller passed it by keyword or
        # passed at least position+1 positional arguments.
        self.injections: tuple[tuple[str, int | None], ...] = ()
        if self.signature is not None:
            plan = []
            for position, (name, parameter) in enumerate(self.signature.parameters.items()):
                if name in injectable and parameter.kind in _INJECTABLE_KINDS:
                    keyword_only = parameter.kind is inspect.Parameter.KEYWORD_ONLY
                    plan.append((name, None if keyword_only else position))
            self.injections = tuple(plan)
        unwrapped = inspect.unwrap(fn)
        code = getattr(unwrapped, "__code__", None)
        self.function_name: str = getattr(fn, "__name__", type(fn).__name__)
        self.qualified_name: str = getattr(fn, "__qualname__", self.function_name)
        self.file_path: str = code.co_filename if code is not None else ""
        self.line_number: int = code.co_firstlineno if code is not None else 0
        # The code location as telemetry attributes, made by the telemetry on first use.
        self.code_attributes: dict[str, Any] | None = None

    def inject(self, args: tuple, kwargs: dict, value_of: Callable[[str], Any]) -> dict:
        """``kwargs`` with the injectable values the caller did not pass.

        ``value_of(name)`` is asked only for the parameters injected, so values nobody asks
        for (a task's own ``task_data`` dict) are never made.
        """
        for name, position in self.injections:
            if name in kwargs or (position is not None and len(args) > position):
                continue
            kwargs[name] = value_of(name)
        return kwargs


def is_coroutine_function(fn: Any) -> bool:
    """True for an ``async def`` function, also for an async ``@task`` wrapper.

    Those wrappers are plain functions returning the coroutine (so that a missing ``await``
    can be reported); on Python 3.10 and 3.11 only asyncio's marker says they are async.
    """
    return inspect.iscoroutinefunction(fn) or getattr(fn, "_is_coroutine", None) is not None


def unknown_options(options: dict[str, Any], valid: tuple[str, ...]) -> str:
    """The keywords in ``options`` that are not ``valid``, quoted and comma-separated."""
    return ", ".join(repr(name) for name in options if name not in valid)


def check_options(decorator: str, options: dict[str, Any], valid: tuple[str, ...]) -> None:
    """Raise TypeError for decorator keywords that do not exist, naming the valid ones."""
    unknown = unknown_options(options, valid)
    if unknown:
        raise TypeError(
            f"@{decorator}() got unknown keyword argument(s) {unknown}; "
            f"valid keywords are: {', '.join(valid)}"
        )


def check_decoratable(decorator: str, target: Any) -> None:
    """Raise TypeError naming ``target`` when it cannot be decorated."""
    if not callable(target):
        raise TypeError(
            f"@{decorator} can only decorate a function or method, got "
            f"{type(target).__name__} {target!r}; use @{decorator} or @{decorator}(...) "
            "directly above a def"
        )
    check_not_generator(f"@{decorator}", target)


def check_not_generator(where: str, target: Any) -> None:
    """Raise TypeError for a generator function: its run would end before its body ran.

    Calling a generator function only creates the generator; the work happens while the
    caller iterates, outside the run, so the span would be a green one that covers nothing.
    """
    function = inspect.unwrap(target)
    if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        kind = "an async generator" if inspect.isasyncgenfunction(function) else "a generator"
        name = getattr(target, "__qualname__", repr(target))
        raise TypeError(
            f"{where} cannot run {name!r}: it is {kind} function, whose body runs only while "
            "the caller iterates, outside the run; return a list (or iterate inside the "
            "function) instead"
        )
