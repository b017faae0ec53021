"""The Dask row's ``--peers`` side: ``prefect_dask.DaskTaskRunner`` maps the same task.

dask_row.py runs this file with Prefect's own interpreter (``--prefect-python``), as a
separate process: it imports Prefect and prefect-dask, never flowtel. Same cluster settings
as the flowtel row: a LocalCluster of 2 single-threaded worker processes on 127.0.0.1,
started once; each repetition runs a Prefect flow with ``DaskTaskRunner(address=...)``
mapping a task over the items, and plain ``client.gather(client.map(...))`` of the same
function on the same cluster, interleaved (the order alternates per repetition). Prints
one JSON object: medians of wall and CPU time (this process, which runs the scheduler, plus
the workers), for Prefect and for plain Dask in this process.

Prefect's API: the one at ``PREFECT_API_URL`` if set, else one ``prefect server start`` on
127.0.0.1 (a free port, a temporary ``PREFECT_HOME``) that the flow process and the workers
share (as a deployment's would; Prefect's ephemeral mode would start a server in every worker
process), stopped at the end. Ephemeral mode is off, console logging at WARNING (as in
run.py's peers).

    python benchmarks/prefect_dask_peer.py [--tasks 1000] [--reps 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def measure(tasks: int, reps: int) -> dict[str, Any]:
    import distributed
    import prefect
    import prefect_dask
    from dask_body import cpu
    from prefect import flow, task

    items = list(range(tasks))
    cpu_task = task(cpu)
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

        @flow(task_runner=prefect_dask.DaskTaskRunner(address=cluster.scheduler_address))
        def mapped(values: list[int]) -> int:
            return len(cpu_task.map(values).result())

        def cpu_seconds() -> float:
            return time.process_time() + sum(client.run(time.process_time).values())

        def timed(body: Any) -> tuple[float, float]:
            cpu_start = cpu_seconds()
            start = time.perf_counter()
            body()
            wall = time.perf_counter() - start
            return wall, cpu_seconds() - cpu_start

        def plain() -> None:
            assert len(client.gather(client.map(cpu, items, pure=False))) == len(items)

        def prefect_run(values: list[int] = items) -> None:
            assert mapped(values) == len(values)

        # Warm-up: imports, API connections on the workers (a short flow: Prefect's runs of
        # 1,000 tasks take minutes here).
        plain(), prefect_run(items[:20])
        samples: dict[str, list[tuple[float, float]]] = {"plain": [], "prefect": []}
        for rep in range(reps):
            order = [("plain", plain), ("prefect", prefect_run)]
            for name, fn in order if rep % 2 == 0 else reversed(order):
                samples[name].append(timed(fn))

    def median_ms(name: str, index: int) -> float:
        return round(statistics.median(s[index] for s in samples[name]) * 1000, 1)

    return {
        "prefect_version": prefect.__version__,
        "prefect_dask_version": getattr(prefect_dask, "__version__", "?"),
        "distributed_version": distributed.__version__,
        "tasks": tasks,
        "reps": reps,
        "plain_ms": median_ms("plain", 0),
        "prefect_ms": median_ms("prefect", 0),
        "ratio": round(median_ms("prefect", 0) / median_ms("plain", 0), 3),
        "plain_cpu_ms": median_ms("plain", 1),
        "prefect_cpu_ms": median_ms("prefect", 1),
        "samples_wall_cpu_s": samples,
    }


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """PREFECT_API_URL, or a Prefect server started on 127.0.0.1 for this run."""
    os.environ["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] = "false"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    home = tempfile.mkdtemp(prefix="flowtel-bench-prefect-dask-")
    env = dict(os.environ, PREFECT_HOME=home)
    log = open(os.path.join(home, "server.log"), "wb")
    command = ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        [sys.executable, "-m", *command],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the Prefect server did not start (see {log.name})"
                    ) from None
                time.sleep(0.5)
        os.environ["PREFECT_HOME"] = home
        os.environ["PREFECT_API_URL"] = url  # the workers, spawned later, inherit it
        yield url
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    given = bool(os.environ.get("PREFECT_API_URL"))
    with prefect_api():
        report = measure(args.tasks, args.reps)
    report["prefect_api"] = "PREFECT_API_URL" if given else "a prefect server on 127.0.0.1"
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
