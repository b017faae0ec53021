"""The Dask row: 1,000 mapped ~1 ms CPU tasks on a LocalCluster of 2 worker processes.

flowtel (``@flow(task_runner=DaskTaskRunner(address=...))`` mapping a ``@task`` over 1,000
items, exporting through the SDK in the flow process and on the workers) against plain
``client.gather(client.map(fn, items))`` of the same function with no telemetry, on the same
cluster, interleaved (the order alternates per repetition), median of the repetitions.
The SDK is the main benchmark's: batch processors and exporters that drop, installed as the
workers' own global providers (flowtel uses them as they are) and given to flowtel in the
flow process with ``RUNTIME.use_providers``. With ``--peers``, ``prefect_dask.DaskTaskRunner``
maps the same function with Prefect afterwards, in a separate process of the interpreter
``--prefect-python`` (or ``FLOWTEL_PREFECT_PYTHON``; one with ``prefect`` and ``prefect-dask``
installed): see prefect_dask_peer.py.

    python benchmarks/dask_row.py [--tasks 1000] [--reps 5] [--json PATH]
        [--peers [--prefect-python PATH] [--peer-reps 3]]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import distributed
    from dask_workloads import cpu, cpu_task, install_dropping_providers
    from workloads import sdk_providers

    import flowtel.dask
    from flowtel import flow
    from flowtel.dask import DaskTaskRunner
    from flowtel.telemetry._runtime import RUNTIME

    items = list(range(args.tasks))
    started = time.perf_counter()
    for _ in range(50):
        cpu(0)
    body_us = (time.perf_counter() - started) / 50 * 1e6

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        client.run(install_dropping_providers)
        RUNTIME.use_providers(*sdk_providers())
        runner = DaskTaskRunner(address=cluster.scheduler_address)

        @flow(task_runner=runner)
        def mapped(values: list[int]) -> int:
            return len(cpu_task.map(values).result())

        def cpu_seconds() -> float:
            """CPU time of this process (which runs a LocalCluster's scheduler) and the workers."""
            return time.process_time() + sum(client.run(time.process_time).values())

        def timed(body: Any) -> tuple[float, float]:
            cpu_start = cpu_seconds()
            start = time.perf_counter()
            body()
            wall = time.perf_counter() - start
            return wall, cpu_seconds() - cpu_start

        def plain() -> None:
            results = client.gather(client.map(cpu, items, pure=False))
            assert len(results) == len(items)

        def flowtel_run() -> None:
            run = mapped(items).execute()
            assert run.flow_return_value == len(items)

        plain(), flowtel_run()  # warm-up: imports and connections on the workers
        samples: dict[str, list[tuple[float, float]]] = {"plain": [], "flowtel": []}
        for rep in range(args.reps):
            order = [("plain", plain), ("flowtel", flowtel_run)]
            for name, fn in order if rep % 2 == 0 else reversed(order):
                samples[name].append(timed(fn))
        RUNTIME.use_providers()
        flowtel.dask._close_shared_clients()  # before the cluster goes: no reconnect attempts

    plain_s = statistics.median(wall for wall, _ in samples["plain"])
    flowtel_s = statistics.median(wall for wall, _ in samples["flowtel"])
    plain_cpu = statistics.median(cpu_s for _, cpu_s in samples["plain"])
    flowtel_cpu = statistics.median(cpu_s for _, cpu_s in samples["flowtel"])
    report: dict[str, Any] = {
        "tasks": args.tasks,
        "reps": args.reps,
        "task_body_us": round(body_us, 1),
        "plain_ms": round(plain_s * 1000, 1),
        "flowtel_ms": round(flowtel_s * 1000, 1),
        "ratio": round(flowtel_s / plain_s, 3),
        "plain_cpu_ms": round(plain_cpu * 1000, 1),
        "flowtel_cpu_ms": round(flowtel_cpu * 1000, 1),
        "cpu_ratio": round(flowtel_cpu / plain_cpu, 3),
        "paired_wall_ratios": [
            round(f[0] / p[0], 3) for p, f in zip(samples["plain"], samples["flowtel"], strict=True)
        ],
        "samples_wall_cpu_s": samples,
    }
    if args.peers:
        report["prefect_dask"] = prefect_dask_row(args)
    return report


def prefect_dask_row(args: argparse.Namespace) -> dict[str, Any]:
    """prefect_dask.DaskTaskRunner on the same workload, in Prefect's interpreter as a separate
    process (prefect_dask_peer.py: its own LocalCluster of the same settings and Prefect API)."""
    python = args.prefect_python
    command = [python, str(HERE / "prefect_dask_peer.py"), "--tasks", str(args.tasks)]
    command += ["--reps", str(args.peer_reps)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no flowtel there
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=7200)
    except (OSError, subprocess.TimeoutExpired) as error:
        return {"skipped": f"{python} could not run the Prefect side: {error}"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"skipped": f"{python} exited {done.returncode}: {tail[0]}"}
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--peers", action="store_true")
    parser.add_argument(
        "--prefect-python",
        default=os.environ.get("FLOWTEL_PREFECT_PYTHON", sys.executable),
        help="the interpreter with prefect and prefect-dask installed (for --peers)",
    )
    parser.add_argument("--peer-reps", type=int, default=3)
    args = parser.parse_args(argv)
    report = measure(args)
    print(
        f"Dask, {report['tasks']} mapped tasks of {report['task_body_us']:.0f} µs CPU, "
        f"LocalCluster of 2 worker processes (median of {report['reps']}):\n"
        f"                                            wall          CPU (all processes)\n"
        f"  plain client.map + gather, no telemetry  {report['plain_ms']:9.1f} ms"
        f"  {report['plain_cpu_ms']:9.1f} ms\n"
        f"  flowtel + DaskTaskRunner, SDK             {report['flowtel_ms']:9.1f} ms"
        f"  {report['flowtel_cpu_ms']:9.1f} ms\n"
        f"  ratio (target <= 1.25)                    {report['ratio']:9.2f}"
        f"     {report['cpu_ratio']:9.2f}\n"
        f"  paired wall ratios per repetition: {report['paired_wall_ratios']}"
    )
    peer = report.get("prefect_dask")
    if peer and "skipped" in peer:
        print(f"  prefect_dask.DaskTaskRunner: not measured ({peer['skipped']})")
    elif peer:
        print(
            f"Prefect {peer['prefect_version']} + prefect-dask {peer['prefect_dask_version']}, "
            f"same workload and cluster settings, separate process (median of {peer['reps']}):\n"
            f"  plain client.map + gather, no telemetry  {peer['plain_ms']:9.1f} ms"
            f"  {peer['plain_cpu_ms']:9.1f} ms\n"
            f"  prefect_dask.DaskTaskRunner               {peer['prefect_ms']:9.1f} ms"
            f"  {peer['prefect_cpu_ms']:9.1f} ms (without its API server's)\n"
            f"  ratio                                     {peer['ratio']:9.2f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
