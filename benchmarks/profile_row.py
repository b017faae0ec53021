"""Profile one benchmark row, to find where flowtel spends its time.

    python benchmarks/profile_row.py ft_default               # cProfile, sync, N=1,000
    python benchmarks/profile_row.py ft_default --async --n 100 --flows 50
    python benchmarks/profile_row.py ft_default --nosdk       # no SDK provider installed
    python benchmarks/profile_row.py ft_log --tool pyinstrument

Rows: plain, raw_spans, raw_full, raw_log, ft_default, ft_nolog, ft_nolog_spans, ft_log
(the keys of benchmarks/run.py). Uses the same SDK set-up as the benchmark (batch
processors, exporters that drop). cProfile prints the functions with the most own time,
with each one's share of the run, and the total share spent in flowtel's own code;
pyinstrument (``pip install pyinstrument``) prints a call tree.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads as w

ROWS = (
    "plain",
    "raw_spans",
    "raw_full",
    "raw_log",
    "ft_default",
    "ft_nolog",
    "ft_nolog_spans",
    "ft_log",
)


def build(row: str, is_async: bool, nosdk: bool, n: int) -> Any:
    """A zero-argument callable that runs one flow of ``n`` tasks for ``row``."""
    if nosdk:
        from opentelemetry import trace

        raw = w.Raw(trace.NoOpTracer())
        providers = None
    else:
        providers = w.sdk_providers()
        raw = w.raw_for(providers)
        w.use_flowtel(providers, spans_only=row == "ft_nolog_spans")
    if row == "raw_spans" and providers is not None:
        raw = w.Raw(providers[0].get_tracer("bench.raw"))
    loop = asyncio.new_event_loop()
    if is_async:
        flows = {
            "ft_default": w.ft_aflow,
            "ft_nolog": w.ft_nolog_aflow,
            "ft_nolog_spans": w.ft_nolog_aflow,
            "ft_log": w.ft_log_aflow,
        }
        raws = {"raw_spans": raw.spans_aflow, "raw_full": raw.full_aflow, "raw_log": raw.log_aflow}
        if row in flows:
            return lambda: loop.run_until_complete(w.run_ft_async(flows[row], n, "a")), providers
        if row in raws:
            return lambda: loop.run_until_complete(raws[row](n, w.awork)), providers
        return lambda: loop.run_until_complete(w.plain_aflow(n, w.awork)), providers
    flows = {
        "ft_default": w.ft_flow,
        "ft_nolog": w.ft_nolog_flow,
        "ft_nolog_spans": w.ft_nolog_flow,
        "ft_log": w.ft_log_flow,
    }
    raws = {"raw_spans": raw.spans_flow, "raw_full": raw.full_flow, "raw_log": raw.log_flow}
    if row in flows:
        return lambda: w.run_ft(flows[row], n), providers
    if row in raws:
        return lambda: raws[row](n), providers
    return lambda: w.plain_flow(n), providers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("row", choices=ROWS, nargs="?", default="ft_default")
    parser.add_argument("--n", type=int, default=1_000, help="tasks per flow")
    parser.add_argument("--flows", type=int, default=10, help="flows to profile")
    parser.add_argument("--async", dest="is_async", action="store_true")
    parser.add_argument("--nosdk", action="store_true", help="no SDK provider installed")
    parser.add_argument("--tool", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    run, providers = build(args.row, args.is_async, args.nosdk, args.n)
    for _ in range(2):  # warm-up
        run()
    gc.collect()

    def many() -> None:
        for _ in range(args.flows):
            run()

    if args.tool == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0001)
        profiler.start()
        many()
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return 0

    profile = cProfile.Profile()
    profile.enable()
    many()
    profile.disable()
    if providers is not None:
        w.flush(providers)
    stats = pstats.Stats(profile, stream=io.StringIO())
    total = stats.total_tt  # type: ignore[attr-defined]
    tasks = args.n * args.flows
    entries = []
    flowtel_own = 0.0
    for (path, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = _short(path)
        if "/flowtel/" in path.replace("\\", "/") and "benchmarks" not in path:
            flowtel_own += tottime
        entries.append((tottime, cumtime, calls, f"{where}:{line}({name})"))
    entries.sort(reverse=True)
    print(
        f"{args.row} ({'async' if args.is_async else 'sync'}, "
        f"{'no SDK' if args.nosdk else 'SDK'}): {args.flows} flows x {args.n} tasks, "
        f"{total * 1e6 / tasks:.1f} us/task under cProfile; "
        f"{100 * flowtel_own / total:.0f}% of the time in flowtel's own code"
    )
    print(f"{'own %':>6} {'cum %':>6} {'calls/task':>10}  function")
    for tottime, cumtime, calls, where in entries[: args.top]:
        print(
            f"{100 * tottime / total:6.1f} {100 * cumtime / total:6.1f} {calls / tasks:10.2f}  {where}"
        )
    return 0


def _short(path: str) -> str:
    path = path.replace("\\", "/")
    for marker in ("/site-packages/", "/src/", "/lib/python"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


if __name__ == "__main__":
    sys.exit(main())
