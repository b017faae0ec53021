"""flowtel.prefect mirrors Prefect 3's module paths; unprovided features fail with a clear ImportError."""

from __future__ import annotations

import importlib
import sys

import pytest

PROVIDED = {
    "flowtel.prefect": ["flow", "task", "get_run_logger", "tags", "State", "unmapped"],
    "flowtel.prefect.flows": ["flow"],
    "flowtel.prefect.tasks": ["task"],
    "flowtel.prefect.futures": [
        "wait",
        "as_completed",
        "PrefectFuture",
        "PrefectFutureList",
        "allow_failure",
    ],
    "flowtel.prefect.task_runners": ["ThreadPoolTaskRunner"],
    "flowtel.prefect.logging": ["get_run_logger"],
    "flowtel.prefect.logging.loggers": ["get_run_logger"],
    "flowtel.prefect.states": [
        "State",
        "StateType",
        "Completed",
        "Failed",
        "Cancelled",
        "Pending",
        "Running",
    ],
    "flowtel.prefect.context": ["tags"],
    "flowtel.prefect.runtime": ["flow_run", "task_run", "deployment"],
    "flowtel.prefect.exceptions": [
        "FailedRun",
        "CancelledRun",
        "MissingContextError",
        "ParameterTypeError",
        "UpstreamTaskError",
    ],
    "flowtel.prefect.flow_engine": ["FlowRunTimeoutError"],
    "flowtel.prefect.utilities.annotations": ["quote", "opaque", "unmapped", "allow_failure"],
    "flowtel.prefect.task_engine": ["TaskRunTimeoutError"],
}


@pytest.mark.parametrize("module", sorted(PROVIDED))
def test_prefect_paths_provide_their_names(module):
    """Each mirrored Prefect module imports and holds the names Prefect code imports from it."""
    imported = importlib.import_module(module)
    assert [] == [name for name in PROVIDED[module] if not hasattr(imported, name)]


@pytest.mark.parametrize(
    ("module", "feature"),
    [
        ("flowtel.prefect.cache_policies", "result caching"),
        ("flowtel.prefect.results", "result persistence"),
        ("flowtel.prefect.transactions", "transactions"),
        ("flowtel.prefect.concurrency.sync", "global concurrency limits"),
        ("flowtel.prefect.deployments", "deployments"),
        ("flowtel.prefect.server", "the Prefect server and UI"),
        ("flowtel.prefect.client.orchestration", "the Prefect API client"),
        ("flowtel.prefect.blocks.system", "blocks"),
    ],
)
def test_unprovided_prefect_paths_raise_import_error_naming_the_feature(module, feature):
    """Importing an unprovided Prefect path raises ImportError naming the feature."""
    sys.modules.pop(module, None)
    with pytest.raises(ImportError, match=f"\\({feature}\\) is not provided by flowtel.prefect"):
        importlib.import_module(module)


@pytest.mark.parametrize("name", ["serve", "deploy", "pause_flow_run", "get_client", "Task"])
def test_unprovided_top_level_names_raise_import_error(name):
    """`from flowtel.prefect import serve` (and the like) raises ImportError naming the feature."""
    with pytest.raises(ImportError, match=f"prefect.{name} .* is not provided"):
        exec(f"from flowtel.prefect import {name}", {})


def test_core_does_not_import_pydantic():
    """`import flowtel` does not import pydantic (it is an extra of the Prefect layer only)."""
    import subprocess

    code = "import sys, flowtel, flowtel.prefect; print('pydantic' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert ("False\n", 0) == (result.stdout, result.returncode)
