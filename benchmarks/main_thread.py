"""flowtel's own cost per task on the flow's thread, without the export thread's noise.

    python benchmarks/main_thread.py                  # about 2 minutes
    python benchmarks/main_thread.py --n 100 --reps 11 --rows ft_default,ft_log

The rows of ``run.py``, but the span and log processors drop each item on the spot (no
batch queue, no worker thread competing for the GIL), so what is timed is the flow's thread
alone: the instrumentation itself and the cyclic garbage collector's passes. Repetitions
are interleaved; the table shows the minimum and the 25th percentile (interference only
adds time, so the low end is the cost itself), each with its ratio to the raw-OTel row,
and the collector's time per task (``gc.callbacks``) with the number of its passes by
generation in the last repetition. ``run.py`` measures the same workloads with batch processors; use this script
to compare two versions of flowtel, that one for what a deployment sees. Never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads as w

PAIRS = {
    "ft_default": "raw_full",
    "ft_nolog": "raw_full",
    "ft_nolog_spans": "raw_spans",
    "ft_log": "raw_log",
}


def make_rows(n: int, flows: int, is_async: bool) -> dict[str, Callable[[], Any]]:
    """``flows`` flows of ``n`` tasks each per call, one after the other, for each row key."""
    providers = w.dropping_providers()
    raw = w.raw_for(providers)
    spans_raw = w.Raw(providers[0].get_tracer("bench.raw"))
    loop = asyncio.new_event_loop()

    def flowtel(flow_fn: Any, async_fn: Any, spans_only: bool = False) -> Callable[[], Any]:
        async def run_async() -> None:
            for _ in range(flows):
                await async_fn(n, "a").execute_async()

        def run() -> None:
            w.use_flowtel(providers, spans_only=spans_only)
            if is_async:
                loop.run_until_complete(run_async())
                return
            for _ in range(flows):
                flow_fn(n).execute()

        return run

    def hand_written(sync_fn: Any, async_fn: Any) -> Callable[[], Any]:
        async def run_async() -> None:
            for _ in range(flows):
                await async_fn(n, w.awork)

        def run() -> None:
            if is_async:
                loop.run_until_complete(run_async())
                return
            for _ in range(flows):
                sync_fn(n)

        return run

    return {
        "raw_full": hand_written(raw.full_flow, raw.full_aflow),
        "ft_default": flowtel(w.ft_flow, w.ft_aflow),
        "ft_nolog": flowtel(w.ft_nolog_flow, w.ft_nolog_aflow),
        "raw_spans": hand_written(spans_raw.spans_flow, spans_raw.spans_aflow),
        "ft_nolog_spans": flowtel(w.ft_nolog_flow, w.ft_nolog_aflow, spans_only=True),
        "raw_log": hand_written(raw.log_flow, raw.log_aflow),
        "ft_log": flowtel(w.ft_log_flow, w.ft_log_aflow),
    }


class CollectorClock:
    """The cyclic garbage collector's time and passes while installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.ns = 0
        self.passes = [0, 0, 0]
        self._started = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter_ns()
        else:
            self.ns += time.perf_counter_ns() - self._started
            self.passes[info["generation"]] += 1


def measure(run: Callable[[], Any]) -> tuple[int, int, list[int]]:
    """(ns, collector ns, collector passes) of one call, paying for its own cyclic garbage."""
    gc.collect()
    clock = CollectorClock()
    gc.callbacks.append(clock)
    try:
        start = time.perf_counter_ns()
        run()
        gc.collect()
        elapsed = time.perf_counter_ns() - start
    finally:
        gc.callbacks.remove(clock)
    return elapsed, clock.ns, clock.passes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000, help="tasks per flow")
    parser.add_argument("--flows", type=int, help="flows per measurement (default: 5,000 tasks)")
    parser.add_argument("--reps", type=int, default=25)
    parser.add_argument("--async", dest="is_async", action="store_true")
    parser.add_argument("--rows", default=",".join(["raw_full", "raw_spans", "raw_log", *PAIRS]))
    args = parser.parse_args()
    flows = args.flows or max(1, 5_000 // args.n)
    tasks = args.n * flows
    rows = make_rows(args.n, flows, args.is_async)
    keys = [key for key in rows if key in args.rows.split(",")]
    for key in keys:  # warm-up
        rows[key]()
    gc.freeze()
    samples: dict[str, list[tuple[int, int, list[int]]]] = {key: [] for key in keys}
    for rep in range(args.reps):
        for key in keys if rep % 2 == 0 else list(reversed(keys)):
            samples[key].append(measure(rows[key]))
    gc.unfreeze()

    def low(key: str) -> tuple[float, float]:
        per_task = sorted(ns / tasks / 1000 for ns, _, _ in samples[key])
        return per_task[0], per_task[len(per_task) // 4]

    mode = "async" if args.is_async else "sync"
    print(
        f"flow's thread only (processors that drop on the spot): {mode}, {flows:,} flow(s) of "
        f"{args.n:,} tasks per measurement, {args.reps} repetitions"
    )
    print(
        f"  {'row':16} {'min us':>8} {'ratio':>6} {'p25 us':>8} {'ratio':>6}  gc us/task  gc passes"
    )
    for key in keys:
        minimum, quartile = low(key)
        cells = ["", ""]
        if PAIRS.get(key) in samples:
            base_min, base_quartile = low(PAIRS[key])
            cells = [f"{minimum / base_min:.3f}", f"{quartile / base_quartile:.3f}"]
        collector = sorted(gc_ns / tasks / 1000 for _, gc_ns, _ in samples[key])
        passes = samples[key][-1][2]
        print(
            f"  {key:16} {minimum:8.2f} {cells[0]:>6} {quartile:8.2f} {cells[1]:>6}  "
            f"{collector[len(collector) // 2]:9.2f}  {passes}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
