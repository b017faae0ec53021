"""``flowtel run MODULE:FLOW``: one flow run as a batch job (cron, Kubernetes Job, CI step).

The command imports the flow, converts ``--param key=value`` strings by the flow function's
annotations, configures telemetry from the ``OTEL_*`` environment, runs the flow and exits
with a code a scheduler understands, after flushing telemetry:

====  =====================================================================
0     the flow completed
1     the flow failed
2     usage error: bad or missing parameter, a module or flow that is not found
130   interrupted (Ctrl-C / SIGINT); the flow span ends as cancelled
143   terminated (SIGTERM); the flow span ends as cancelled
====  =====================================================================

Single-threaded by design: everything here runs on the main thread of the command.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import decimal
import enum
import importlib
import importlib.util
import inspect
import json
import os
import pathlib
import sys
import time
import traceback
import types
import typing
from collections.abc import Callable
from typing import Any, TextIO

from ._function_info import FLOW_INJECTABLE

__all__ = ["add_run_command", "run_command"]

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as flowtel's SIGTERM handler exits

_INJECTED = frozenset(("self", *FLOW_INJECTABLE))
_NONE_WORDS = frozenset(("none", "null"))
_TRUE_WORDS = frozenset(("true", "yes", "on", "1"))
_FALSE_WORDS = frozenset(("false", "no", "off", "0"))


class UsageError(Exception):
    """A mistake in the command line: reported on stderr, exit code 2."""


def add_run_command(commands: Any) -> argparse.ArgumentParser:
    """Register the ``run`` subcommand (handler: run_command) on argparse sub-parsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "run",
        help="run one flow as a batch job: exit 0 completed, 1 failed, 2 usage error, "
        "130 interrupted, 143 terminated",
        description="Import MODULE:FLOW (a @flow function, or Class.method of a class built "
        "with no arguments), convert parameters by the function's annotations, run it with "
        "telemetry configured from the OTEL_* environment (a console tree when no endpoint "
        "is set) and exit 0 when it completed, 1 when it failed, 2 for usage errors, 130 on "
        "Ctrl-C and 143 on SIGTERM, after flushing telemetry.",
    )
    parser.add_argument(
        "target",
        metavar="MODULE:FLOW",
        help="e.g. jobs.nightly:load_orders, jobs/nightly.py:load_orders or jobs:Etl.run",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a flow parameter, converted by its annotation (repeat for several)",
    )
    parser.add_argument(
        "--params-json",
        default=None,
        metavar="JSON",
        help='flow parameters as a JSON object, e.g. \'{"day": "2026-11-30"}\'; --param values win',
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary of the run on stdout (and no console tree)",
    )
    parser.set_defaults(handler=run_command)
    return parser


def run_command(arguments: argparse.Namespace, out: TextIO | None = None) -> int:
    """Execute ``flowtel run`` for parsed arguments; returns the process exit code."""
    out = out if out is not None else sys.stdout
    try:
        flow_call, name = load_flow(arguments.target)
        kwargs = flow_parameters(flow_call, name, arguments.param, arguments.params_json)
    except UsageError as error:
        print(f"flowtel run: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return _run(flow_call, name, kwargs, as_json=arguments.json, out=out)


# -- finding the flow ----------------------------------------------------------------------


def load_flow(target: str) -> tuple[Callable[..., Any], str]:
    """The @flow callable named by ``MODULE:FLOW`` and its display name; UsageError if not."""
    module_name, separator, attribute = target.rpartition(":")
    if not separator or not module_name or not attribute:
        raise UsageError(
            f"{target!r} is not MODULE:FLOW; give a module and a flow, e.g. jobs.nightly:load"
        )
    module = _import(module_name)
    found: Any = module
    parts = attribute.split(".")
    for position, part in enumerate(parts):
        try:
            found = getattr(found, part)
        except AttributeError:
            where = ".".join([module_name, *parts[:position]])
            raise UsageError(f"{where!r} has no attribute {part!r} (from {target!r})") from None
        if isinstance(found, type) and position < len(parts) - 1:
            found = _instance(found, target)  # module:Class.method runs on Class()
    if not hasattr(found, "flow_info"):
        raise UsageError(
            f"{target!r} is {type(found).__name__} {found!r}, not a @flow function; "
            "decorate it with @flowtel.flow"
        )
    return found, attribute


def _import(module_name: str) -> types.ModuleType:
    is_path = module_name.endswith(".py") or os.sep in module_name
    try:
        if is_path:
            file = pathlib.Path(module_name).resolve()
            if not file.is_file():
                raise UsageError(f"no such file {module_name!r}")
            sys.path.insert(0, str(file.parent))
            spec = importlib.util.spec_from_file_location(file.stem, file)
            if spec is None or spec.loader is None:
                raise UsageError(f"cannot import {module_name!r} as a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[file.stem] = module
            spec.loader.exec_module(module)
            return module
        # Like `python -m`, the working directory is importable (the console script omits it).
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(module_name)
    except UsageError:
        raise
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise UsageError(
                f"no module named {missing!r} (from {module_name!r}); run from the "
                "directory that contains it, or set PYTHONPATH"
            ) from None
        raise UsageError(_import_failure(module_name, error)) from None
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        raise UsageError(_import_failure(module_name, error)) from None


def _import_failure(module_name: str, error: BaseException) -> str:
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"importing {module_name!r} failed: {type(error).__name__}: {error}\n{details.rstrip()}"


def _instance(cls: type, target: str) -> Any:
    try:
        return cls()
    except Exception as error:
        raise UsageError(
            f"{target!r}: cannot create {cls.__name__}() with no arguments to run its flow "
            f"method ({type(error).__name__}: {error}); use a module-level @flow function"
        ) from None


# -- parameters ------------------------------------------------------------------------------


def flow_parameters(
    flow_call: Callable[..., Any], name: str, pairs: list[str], params_json: str | None
) -> dict[str, Any]:
    """Keyword arguments for the flow from ``key=value`` strings and a JSON object."""
    function = getattr(flow_call, "fn", flow_call)
    signature = inspect.signature(function)
    hints = _type_hints(function)
    parameters = {
        key: parameter
        for key, parameter in signature.parameters.items()
        if key not in _INJECTED
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    }
    open_keywords = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    known = ", ".join(parameters) or "none"

    def annotation_of(key: str) -> Any:
        parameter = parameters.get(key)
        if parameter is None:
            return str
        found = hints.get(key, parameter.annotation)
        if found is inspect.Parameter.empty and parameter.default not in (
            inspect.Parameter.empty,
            None,
        ):
            return type(parameter.default)
        return found

    def check_known(key: str) -> None:
        if key not in parameters and not open_keywords:
            raise UsageError(f"flow {name!r} has no parameter {key!r}; its parameters are: {known}")

    values: dict[str, Any] = {}
    if params_json is not None:
        try:
            given = json.loads(params_json)
        except json.JSONDecodeError as error:
            raise UsageError(
                f"--params-json is not valid JSON ({error}): {params_json!r}"
            ) from None
        if not isinstance(given, dict):
            raise UsageError(
                f"--params-json must be a JSON object of parameters, got {params_json!r}"
            )
        for key, value in given.items():
            check_known(key)
            values[key] = _from_json(key, value, annotation_of(key))
    for pair in pairs:
        key, separator, raw = pair.partition("=")
        key = key.strip()
        if not separator or not key:
            raise UsageError(f"--param needs KEY=VALUE, got {pair!r}")
        check_known(key)
        values[key] = convert(key, raw, annotation_of(key))
    missing = [
        key
        for key, parameter in parameters.items()
        if key not in values and parameter.default is inspect.Parameter.empty
    ]
    if missing:
        raise UsageError(
            f"flow {name!r} needs parameter(s) {', '.join(repr(m) for m in missing)}; pass "
            f"--param {missing[0]}=VALUE (or --params-json)"
        )
    return values


def _type_hints(function: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(inspect.unwrap(function))
    except Exception:
        return {}  # an unresolvable annotation: fall back to the raw ones


def _type_name(annotation: Any) -> str:
    # On Python 3.10 list[int] is an instance of type too: it is named by str(), as on 3.11+.
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def convert(key: str, raw: str, annotation: Any) -> Any:
    """``raw`` converted to ``annotation``; UsageError naming the parameter if it does not fit."""
    try:
        return _convert(raw, annotation)
    except (ValueError, TypeError, decimal.InvalidOperation) as error:
        reason = f" ({error})" if str(error) else ""
        raise UsageError(
            f"parameter {key!r}: {raw!r} is not a valid {_type_name(annotation)}{reason}"
        ) from None


_SCALAR_NAMES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "Path": pathlib.Path,
    "date": datetime.date,
    "datetime": datetime.datetime,
}


def _convert(raw: str, annotation: Any) -> Any:
    if isinstance(annotation, str):
        annotation = _SCALAR_NAMES.get(annotation.strip(), str)
    if annotation in (inspect.Parameter.empty, Any, str):
        return raw
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        members = [member for member in arguments if member is not type(None)]
        if len(members) < len(arguments) and raw.strip().lower() in _NONE_WORDS:
            return None
        errors = []
        for member in members:
            try:
                return _convert(raw, member)
            except (ValueError, TypeError, decimal.InvalidOperation) as error:
                errors.append(str(error))
        raise ValueError("; ".join(e for e in errors if e))
    if origin is typing.Literal:
        for choice in arguments:
            if str(choice) == raw:
                return choice
        raise ValueError(f"choose one of {', '.join(str(c) for c in arguments)}")
    if origin in (list, tuple, set, frozenset, dict):
        value = json.loads(raw)
        container = list if origin in (tuple, set, frozenset) else origin
        if not isinstance(value, container):
            raise ValueError(f"give a JSON {'object' if origin is dict else 'array'}")
        return origin(value) if origin is not dict else value
    if annotation is bool:
        word = raw.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise ValueError("use true or false")
    if annotation is datetime.datetime or annotation is datetime.date:
        return annotation.fromisoformat(raw)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        if raw in annotation.__members__:
            return annotation.__members__[raw]
        for member in annotation:
            if str(member.value) == raw:
                return member
        raise ValueError(f"choose one of {', '.join(annotation.__members__)}")
    if annotation in (list, dict):
        return _convert(raw, list[Any] if annotation is list else dict[str, Any])
    if callable(annotation):
        return annotation(raw)
    return raw


def _from_json(key: str, value: Any, annotation: Any) -> Any:
    if isinstance(value, str):
        return convert(key, value, annotation)
    expected = {int: (int,), float: (int, float), bool: (bool,), str: (str,)}.get(annotation)
    if expected is not None and (
        not isinstance(value, expected) or (annotation is not bool and isinstance(value, bool))
    ):
        raise UsageError(
            f"parameter {key!r}: {json.dumps(value)} is not a valid {_type_name(annotation)}"
        )
    return value


# -- running ---------------------------------------------------------------------------------


def _run(
    flow_call: Callable[..., Any], name: str, kwargs: dict[str, Any], as_json: bool, out: TextIO
) -> int:
    import flowtel
    from flowtel import Flow_Run__Event_Type, flow_events
    from flowtel.telemetry import _sigterm

    configure_options: dict[str, Any] = {"flow_start_records": True}
    if as_json:
        configure_options["console"] = False  # stdout carries only the JSON summary
    try:
        flowtel.configure(**configure_options)
    except (TypeError, ValueError) as error:  # e.g. an unsupported OTEL_EXPORTER_OTLP_PROTOCOL
        print(f"flowtel run: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    run = flow_call(**kwargs)
    started: dict[str, str] = {}

    def on_start(event: Any) -> None:
        if event.event_type is Flow_Run__Event_Type.FLOW_START and not started:
            from opentelemetry import trace

            span_context = trace.get_current_span().get_span_context()
            started["trace_id"] = (
                format(span_context.trace_id, "032x") if span_context.is_valid else ""
            )
            print(
                f"flowtel run: flow {run.flow_name!r} started, run {run.flow_id}"
                + (f", trace {started['trace_id']}" if started["trace_id"] else ""),
                file=sys.stderr,
                flush=True,
            )

    # configure() handles SIGTERM when it installed the providers; a job under the agent
    # (providers kept) gets the same handler unless FLOWTEL_HANDLE_SIGTERM=0 opts out.
    if _sigterm.wanted(None):
        _sigterm.install_sigterm_handler()
    flow_events.event_listeners.append(on_start)
    code = EXIT_COMPLETED
    begun = time.perf_counter()
    try:
        try:
            # With --json, stdout carries the summary only: what the flow prints goes to stderr.
            with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
                run.execute()
        except Exception:
            pass  # recorded on the run (flow_error) and in its telemetry
        finally:
            flow_events.event_listeners.remove(on_start)
        if run.flow_error is not None:
            code = EXIT_FAILED
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except SystemExit as stop:  # flowtel's SIGTERM handler raises SystemExit(143)
        if stop.code != EXIT_TERMINATED:
            raise
        code = EXIT_TERMINATED
    finally:
        flowtel.shutdown()
    duration = run.flow_duration or (time.perf_counter() - begun)
    summary = _summary(run, started.get("trace_id", ""), duration)
    if as_json:
        try:
            out.write(json.dumps(summary) + "\n")
            out.flush()
        except BrokenPipeError:
            # stdout's reader went away (`... | head -0`): the exit code must still say how
            # the run ended, and Python's final flush of stdout must not fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
            os.close(devnull)
    reason = f": {summary['error']}" if summary["error"] else ""
    print(
        f"flowtel run: flow {run.flow_name!r} {summary['status']} in {duration:.3f} s "
        f"(exit {code}){reason}",
        file=sys.stderr,
    )
    return code


def _summary(run: Any, trace_id: str, duration: float) -> dict[str, Any]:
    from ._run import error_text

    error = run.flow_error
    return {
        "flow_name": run.flow_name,
        "run_id": run.flow_id,
        "trace_id": trace_id,
        "status": run.flow_status,
        "error": error_text(error) if error is not None else None,
        "duration": round(duration, 6),
        "tasks": [
            {"name": task.task_name, "run_id": task.task_id, "status": task.status}
            for task in run.executed_tasks
        ],
        "artifacts": [artifact["key"] for artifact in run.flow_artifacts],
        "results": [result["key"] for result in run.flow_results],
    }
