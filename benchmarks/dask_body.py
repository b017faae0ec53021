"""The Dask row's task body, with no imports: the flowtel side (dask_workloads.py) and the
Prefect side (prefect_dask_peer.py, run by Prefect's interpreter) run the same function."""

from __future__ import annotations

# About 1 ms of CPU on the project's machine (dask_row.py measures and reports the real time).
LOOPS = 16_000


def cpu(x: int) -> int:
    """About 1 ms of pure-Python CPU work."""
    total = x
    for i in range(LOOPS):
        total += i * i % 7
    return total
