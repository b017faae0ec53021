"""The Prefect features flowtel.prefect does not provide, and the error that says so."""

from __future__ import annotations

# Prefect module path (under ``prefect.``) -> the feature it holds.
MODULES = {
    "artifacts": "Prefect artifacts (use flowtel's this_flow.add_flow_artifact)",
    "automations": "automations",
    "blocks": "blocks",
    "cache_policies": "result caching",
    "client": "the Prefect API client",
    "concurrency": "global concurrency limits",
    "deployments": "deployments",
    "events": "Prefect events",
    "filesystems": "result storage filesystems",
    "flow_runs": "pausing and suspending flow runs",
    "input": "flow run input",
    "results": "result persistence",
    "runner": "the Prefect runner (serve)",
    "schedules": "schedules",
    "serializers": "result serializers",
    "server": "the Prefect server and UI",
    "transactions": "transactions",
    "variables": "variables",
    "workers": "workers and work pools",
}

# Names of the top-level ``prefect`` module -> the feature.
NAMES = {
    "Flow": "Prefect's Flow class: flowtel.prefect flows are the decorated functions",
    "Task": "Prefect's Task class: flowtel.prefect tasks are the decorated functions",
    "Transaction": "transactions",
    "aserve": "serving flows (deployments)",
    "deploy": "deployments",
    "get_client": "the Prefect API client",
    "pause_flow_run": "pausing flow runs",
    "resume_flow_run": "resuming flow runs",
    "serve": "serving flows (deployments)",
    "suspend_flow_run": "suspending flow runs",
    "transaction": "transactions",
}


def not_provided(feature: str, prefect_name: str) -> ImportError:
    return ImportError(
        f"{prefect_name} ({feature}) is not provided by flowtel.prefect: flowtel runs flows "
        "in-process and records them as OpenTelemetry traces, logs and metrics, without a "
        "Prefect server. The README's Prefect compatibility table lists what is provided."
    )


def refuse(module_name: str) -> None:
    """Raise the ImportError for an unprovided ``flowtel.prefect.<path>`` module."""
    path = module_name.split(".", 2)[-1]
    raise not_provided(MODULES[path.split(".")[0]], f"prefect.{path}")
