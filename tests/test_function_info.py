"""FunctionInfo: what flowtel learns about a function once, and how it injects by name."""

from __future__ import annotations

import asyncio
import functools
import inspect

import pytest

from flowtel import flow, task
from flowtel._function_info import (
    FLOW_INJECTABLE,
    TASK_INJECTABLE,
    FunctionInfo,
    check_decoratable,
    check_options,
)


def plain(a, b=2):
    return a + b


async def coroutine_fn(x):
    return x


def with_injectables(x, this_task=None, this_flow=None, task_data=None, flow_data=None):
    return x


def test_injectable_names():
    """Tasks inject this_task, this_flow, task_data, flow_data; flows this_flow and flow_data."""
    assert ("this_task", "this_flow", "task_data", "flow_data") == TASK_INJECTABLE
    assert ("this_flow", "flow_data") == FLOW_INJECTABLE


def test_sync_and_async_detection():
    """is_async is True for coroutine functions (also through partial), False otherwise."""
    assert FunctionInfo(plain, TASK_INJECTABLE).is_async is False
    assert FunctionInfo(coroutine_fn, TASK_INJECTABLE).is_async is True
    assert FunctionInfo(functools.partial(coroutine_fn, 1), TASK_INJECTABLE).is_async is True

    class Holder:
        async def method(self):
            return 1

    assert FunctionInfo(Holder().method, TASK_INJECTABLE).is_async is True


def test_injection_plan_records_names_and_positions():
    """The plan lists each injectable parameter with its position."""
    info = FunctionInfo(with_injectables, TASK_INJECTABLE)
    assert (
        ("this_task", 1),
        ("this_flow", 2),
        ("task_data", 3),
        ("flow_data", 4),
    ) == info.injections


def test_flow_plan_ignores_task_only_names():
    """For flows only this_flow and flow_data are planned."""
    info = FunctionInfo(with_injectables, FLOW_INJECTABLE)
    assert (("this_flow", 2), ("flow_data", 4)) == info.injections


def test_keyword_only_injectables_have_no_position():
    """Keyword-only injectables are planned without a position; *args/**kwargs are never injected."""

    def kw_only(*args, this_flow, flow_data=None, **kwargs):
        return args

    info = FunctionInfo(kw_only, TASK_INJECTABLE)
    assert (("this_flow", None), ("flow_data", None)) == info.injections


def test_positional_only_and_variadic_parameters_are_not_injected():
    """A positional-only parameter named like an injectable is left to the caller."""

    def positional_only(this_flow, /, x):
        return this_flow

    assert () == FunctionInfo(positional_only, TASK_INJECTABLE).injections


def test_inject_adds_only_what_the_caller_did_not_pass():
    """inject() fills missing injectables; keywords and positions given by the caller win."""
    info = FunctionInfo(with_injectables, TASK_INJECTABLE)
    values = {"this_task": "T", "this_flow": "F", "task_data": "TD", "flow_data": "FD"}.__getitem__
    assert {"this_task": "T", "this_flow": "F", "task_data": "TD", "flow_data": "FD"} == (
        info.inject((1,), {}, values)
    )
    assert {"task_data": "TD", "flow_data": "FD"} == info.inject((1, "t", "f"), {}, values)
    assert {"this_task": "mine", "this_flow": "F", "task_data": "TD", "flow_data": "FD"} == (
        info.inject((1,), {"this_task": "mine"}, values)
    )


def test_inject_asks_only_for_the_values_it_injects():
    """inject() asks value_of only for injectables the caller did not pass (none made in vain)."""
    info = FunctionInfo(with_injectables, TASK_INJECTABLE)
    asked: list[str] = []

    def value_of(name: str) -> str:
        asked.append(name)
        return name.upper()

    info.inject((1, "t"), {"task_data": "mine"}, value_of)
    assert ["this_flow", "flow_data"] == asked


def test_method_positions_count_self():
    """For an unbound method the plan counts self; calls through the instance inject correctly."""

    class Holder:
        def method(self, x, this_flow=None):
            return x, this_flow

    info = FunctionInfo(Holder.method, TASK_INJECTABLE)
    assert (("this_flow", 2),) == info.injections
    assert {"this_flow": "F"} == info.inject((Holder(), 1), {}, {"this_flow": "F"}.__getitem__)
    assert {} == info.inject((Holder(), 1, "given"), {}, {"this_flow": "F"}.__getitem__)


def test_callable_object_is_analysed_without_self():
    """A callable instance is analysed through __call__ (self excluded) and named by its type."""

    class Callable:
        def __call__(self, x, this_task=None):
            return x

    info = FunctionInfo(Callable(), TASK_INJECTABLE)
    assert (("this_task", 1),) == info.injections
    assert "Callable" == info.function_name


def test_builtin_without_signature_has_no_injections():
    """A builtin whose signature cannot be read still works, with no injection plan."""
    info = FunctionInfo(max, TASK_INJECTABLE)
    assert (None, ()) == (info.signature, info.injections)

    wrapped = task(max)

    @flow
    def owner():
        return wrapped(3, 9, 4)

    assert 9 == owner().execute().flow_return_value


def test_code_location_is_recorded():
    """function_name, qualified_name, file_path and line_number describe the function's source."""
    info = FunctionInfo(plain, TASK_INJECTABLE)
    _, first_line = inspect.getsourcelines(plain)
    assert ("plain", "plain", __file__, first_line) == (
        info.function_name,
        info.qualified_name,
        info.file_path,
        info.line_number,
    )


def test_code_location_sees_through_wrappers():
    """A functools.wraps wrapper reports the wrapped function's file and line."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)

        return wrapper

    wrapped = decorator(plain)
    info = FunctionInfo(wrapped, TASK_INJECTABLE)
    assert ("plain", inspect.getsourcelines(plain)[1]) == (info.function_name, info.line_number)


def test_qualified_name_of_a_method():
    """qualified_name includes the class."""

    class Owner:
        def method(self):
            pass

    info = FunctionInfo(Owner.method, TASK_INJECTABLE)
    assert info.qualified_name.endswith("Owner.method")


def test_non_callable_is_rejected_naming_it():
    """FunctionInfo of a non-callable raises TypeError naming it."""
    with pytest.raises(TypeError) as raised:
        FunctionInfo("text", TASK_INJECTABLE)
    assert "'text'" in str(raised.value)


def test_check_options_names_unknown_and_valid_keywords():
    """check_options raises TypeError listing the unknown keywords and the valid ones."""
    check_options("task", {"task_name": "x"}, ("task_name", "raise_on_error"))
    with pytest.raises(TypeError) as raised:
        check_options("task", {"nope": 1, "task_name": "x"}, ("task_name", "raise_on_error"))
    message = str(raised.value)
    assert "'nope'" in message and "task_name" in message and "raise_on_error" in message
    assert "@task" in message


def test_check_decoratable_names_the_bad_target():
    """check_decoratable accepts callables and rejects others, naming them."""
    check_decoratable("flow", plain)
    with pytest.raises(TypeError) as raised:
        check_decoratable("flow", 17)
    assert "17" in str(raised.value) and "@flow" in str(raised.value)


def test_async_functions_run_through_the_info():
    """The analysed async function still produces its value when awaited."""
    info = FunctionInfo(coroutine_fn, TASK_INJECTABLE)
    assert 5 == asyncio.run(info.fn(5))


def test_an_async_task_wrapper_is_async_to_flowtel():
    """An async @task, wrapped again as a flow or by Task.setup, is still run as async."""
    from flowtel import Task

    @task
    async def doubled(x):
        return 2 * x

    assert True is FunctionInfo(doubled, ()).is_async
    assert 8 == asyncio.run(Task().setup(doubled, 4).execute())
    assert 6 == flow(doubled)(3).execute().flow_return_value
