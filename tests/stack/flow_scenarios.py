"""Flows for the stack tests, run in a subprocess (OTel global providers can be set once per process).

    OTEL_EXPORTER_OTLP_ENDPOINT=... OTEL_EXPORTER_OTLP_PROTOCOL=grpc|http/protobuf \
    OTEL_SERVICE_NAME=... python tests/stack/flow_scenarios.py success failure ...

Configures flowtel from those variables, runs the named scenarios, prints one line
``SCENARIO {json}`` per scenario (run ids, status, what was raised), then flushes with
``flowtel.shutdown()``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import flowtel
from flowtel import Flow_Run__Config, flow, task

# --- tasks -------------------------------------------------------------------------------------


@task()
def add_one(x: int) -> int:
    return x + 1


@task(task_name="double_it")
def double(x: int) -> int:
    return x * 2


@task()
def explode(x: int) -> None:
    raise ValueError(f"boom {x}")


@task(raise_on_error=False)
def flaky(x: int) -> None:
    raise RuntimeError(f"flaky backend {x}")


@task()
async def slow_square(x: int) -> int:
    await asyncio.sleep(0.01)
    return x * x


@task()
async def fetch_part(i: int) -> int:
    await asyncio.sleep(0.1)
    return i


# --- flows -------------------------------------------------------------------------------------


@flow()
def stack_success(x: int, this_flow=None) -> int:
    value = double(add_one(x))
    this_flow.log_info(f"computed {value}")
    this_flow.add_flow_artifact(
        key="summary", description="computed value", data={"value": value}, artifact_type="json"
    )
    this_flow.add_flow_result(key="answer", description=f"answer is {value}")
    return value


@flow()
def stack_failure(x: int) -> None:
    add_one(x)
    explode(x)


@flow(flow_name="stack_tolerated_flow")
def stack_tolerated(x: int) -> str:
    flaky(x)
    add_one(x)
    return "ok"


@flow(flow_config=Flow_Run__Config(raise_flow_error=False))
def stack_failure_kept(x: int) -> None:
    explode(x)


@flow()
def stack_inner(x: int) -> int:
    return add_one(x)


@task()
def launch_inner(x: int) -> None:
    stack_inner(x).execute()


@flow()
def stack_outer(x: int) -> None:
    launch_inner(x)  # inner flow run under a task
    stack_inner(x + 1).execute()  # inner flow run directly under the flow


@flow()
async def stack_async(x: int) -> int:
    return await slow_square(await slow_square(x))


@flow()
async def stack_concurrent(n: int) -> int:
    parts = await asyncio.gather(*(fetch_part(i) for i in range(n)))
    return sum(parts)


# --- scenarios -------------------------------------------------------------------------------


def report(name: str, run: Any, raised: BaseException | None = None) -> dict[str, Any]:
    return {
        "scenario": name,
        "flow_name": run.flow_name,
        "flow_id": run.flow_id,
        "flow_error": repr(run.flow_error) if run.flow_error is not None else None,
        "raised": type(raised).__name__ if raised is not None else None,
        "raised_message": str(raised) if raised is not None else None,
    }


def run_success() -> dict[str, Any]:
    return report("success", stack_success(2).execute())


def run_failure() -> dict[str, Any]:
    run = stack_failure(41)
    try:
        run.execute()
    except ValueError as error:
        return report("failure", run, error)
    return report("failure", run)


def run_failure_kept() -> dict[str, Any]:
    return report("failure_kept", stack_failure_kept(7).execute())


def run_tolerated() -> dict[str, Any]:
    return report("tolerated", stack_tolerated(3).execute())


def run_nested() -> dict[str, Any]:
    return report("nested", stack_outer(10).execute())


def run_async() -> dict[str, Any]:
    async def main() -> Any:
        return await stack_async(3).execute_async()

    return report("async", asyncio.run(main()))


def run_concurrent() -> dict[str, Any]:
    return report("concurrent", stack_concurrent(3).execute())


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "success": run_success,
    "failure": run_failure,
    "failure_kept": run_failure_kept,
    "tolerated": run_tolerated,
    "nested": run_nested,
    "async": run_async,
    "concurrent": run_concurrent,
}


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        print(f"unknown scenarios {unknown}; known: {sorted(SCENARIOS)}", file=sys.stderr)
        return 2
    flowtel.configure()
    for name in names:
        print("SCENARIO " + json.dumps(SCENARIOS[name]()), flush=True)
    flowtel.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
