"""The public surface: `from flowtel import ...` gives exactly the names we mean to export."""

from __future__ import annotations

import importlib
import subprocess
import sys

import flowtel

REQUIRED = {
    "flow",
    "task",
    "Flow",
    "Task",
    "Flow_Run__Config",
    "Flow_Run__Event",
    "Flow_Run__Event_Data",
    "Flow_Run__Event_Type",
    "flow_events",
}

PEP8_ALIASES = {
    "FlowRunConfig": "Flow_Run__Config",
    "FlowRunEvent": "Flow_Run__Event",
    "FlowRunEventData": "Flow_Run__Event_Data",
    "FlowRunEventType": "Flow_Run__Event_Type",
}

CONTEXT_HELPERS = {"Flow_Events", "get_current_flow", "get_current_task"}
TELEMETRY = {"configure", "force_flush", "shutdown"}
PREFECT_COMPATIBILITY = {
    "DoneAndNotDoneFutures",
    "FlowRunTimeoutError",
    "State",
    "TaskRunFuture",
    "TaskRunTimeoutError",
    "ThreadPoolTaskRunner",
    "as_completed",
    "get_run_logger",
    "unmapped",
    "wait",
}

EXPORTED = (
    REQUIRED
    | set(PEP8_ALIASES)
    | CONTEXT_HELPERS
    | TELEMETRY
    | PREFECT_COMPATIBILITY
    | {"__version__"}
)


def test_all_is_exactly_the_intended_set():
    """flowtel.__all__ is exactly the intended public names, with no duplicates."""
    assert EXPORTED == set(flowtel.__all__)
    assert len(flowtel.__all__) == len(set(flowtel.__all__))


def test_issue_names_are_all_exported():
    """Every name the issue requires is in __all__."""
    assert set() == REQUIRED - set(flowtel.__all__)


def test_every_exported_name_is_importable():
    """Each name in __all__ resolves with `from flowtel import <name>`."""
    module = importlib.import_module("flowtel")
    missing = [name for name in flowtel.__all__ if not hasattr(module, name)]
    assert [] == missing
    for name in flowtel.__all__:
        namespace: dict = {}
        exec(f"from flowtel import {name}", namespace)
        assert getattr(flowtel, name) is namespace[name]


def test_star_import_gives_exactly_all():
    """`from flowtel import *` binds exactly the names of __all__."""
    namespace: dict = {}
    exec("from flowtel import *", namespace)
    assert set(flowtel.__all__) == set(namespace) - {"__builtins__"}


def test_pep8_aliases_are_the_same_objects():
    """The PEP 8 aliases are the seed's classes, not copies."""
    for alias, original in PEP8_ALIASES.items():
        assert getattr(flowtel, original) is getattr(flowtel, alias)


def test_exported_objects_have_the_expected_kinds():
    """flow and task are callables, Flow and Task classes, flow_events the listener registry."""
    assert callable(flowtel.flow) and callable(flowtel.task)
    assert isinstance(flowtel.Flow, type) and isinstance(flowtel.Task, type)
    assert isinstance(flowtel.flow_events, flowtel.Flow_Events)
    assert [] == flowtel.flow_events.event_listeners
    assert isinstance(flowtel.__version__, str) and flowtel.__version__


def test_no_private_names_are_exported():
    """__all__ holds no underscore names other than __version__."""
    assert [] == [n for n in flowtel.__all__ if n.startswith("_") and n != "__version__"]


def test_dask_module_exports_the_runner_and_its_helpers():
    """flowtel.dask exports DaskTaskRunner, its worker plugin, configure_worker and RemoteTaskError."""
    import flowtel.dask

    assert {"DaskTaskRunner", "FlowtelWorkerPlugin", "RemoteTaskError", "configure_worker"} == set(
        flowtel.dask.__all__
    )
    assert all(hasattr(flowtel.dask, name) for name in flowtel.dask.__all__)


def test_import_flowtel_loads_neither_the_sdk_nor_the_export_machinery():
    """``import flowtel`` stays light: the OTel SDK, asyncio and flowtel's export queue are
    imported when first needed (a flow run, an async flow, configure())."""
    code = (
        "import sys, flowtel; print(sorted(m for m in sys.modules if m.startswith("
        "('opentelemetry.sdk', 'asyncio', 'flowtel.telemetry._export'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert ("[]\n", 0) == (result.stdout, result.returncode), result.stderr
