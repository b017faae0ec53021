"""The message path: what one message costs through flowtel against the raw OTel it stands for.

    python benchmarks/message_row.py                 # about a minute
    python benchmarks/message_row.py --reps 3 --tasks 50   # a quick look

Each measurement is one sync flow of ``--tasks`` tasks with the SDK of ``run.py`` (batch
processors, exporters that drop); each task sends ``--messages`` INFO messages, or none. A
message's cost is (flow with messages - the same flow without) / messages sent, per side, so
the task's own spans and metrics cancel out. Three ways in, each against what a hand-written
equivalent would do to emit the same span event and log record:

* ``log_info``: ``this_task.log_info(text)`` against ``span.add_event`` + ``logger.emit``;
* ``print``: a captured ``print(text)`` (echoed, to a stdout that drops) against the same
  ``print`` + ``add_event`` + ``emit``;
* ``get_run_logger``: ``get_run_logger().info(text)`` against a stdlib ``logging`` logger's
  ``info(text, extra=...)`` whose handler calls ``add_event`` + ``emit``.

Rows run interleaved, the order alternating per repetition; the table shows medians, with the
min-max of the per-repetition costs. Timings are never asserted.
"""

from __future__ import annotations

import argparse
import gc
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads as w
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber

from flowtel import flow, get_run_logger, task

KINDS = ("log_info", "print", "get_run_logger")


class NullStdout:
    """A stdout that drops what it is given (the echo of captured prints lands here)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


# -- raw OTel ----------------------------------------------------------------------------


class RawMessages:
    """Hand-written span event + log record per message, and a stdlib handler doing the same."""

    def __init__(self, raw: w.Raw) -> None:
        self.raw = raw
        raw_messages = self

        class EventAndRecordHandler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                raw_messages.emit(
                    trace.get_current_span(), record.getMessage(), record.otel_attributes
                )

        self.logger = logging.getLogger("bench.raw.messages")
        self.logger.handlers[:] = [EventAndRecordHandler()]
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False

    def emit(self, span: Any, text: str, attributes: dict[str, Any]) -> None:
        span.add_event("flowtel.message", {"message": text, "log.severity": "INFO", **attributes})
        self.raw.logger.emit(
            timestamp=time.time_ns(),
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body=text,
            attributes=attributes,
        )

    def flow(self, kind: str, n: int, m: int) -> None:
        raw = self.raw
        tracer = raw.tracer
        flow_id = w.run_id()
        raw.flow_active.add(1, w.FLOW_ATTRS)
        flow_start = time.perf_counter()
        with tracer.start_as_current_span(
            w.FLOW,
            kind=w.INTERNAL,
            attributes={w.PIPELINE_NAME: w.FLOW, w.PIPELINE_RUN_ID: flow_id, **w.FLOW_CODE},
        ) as flow_span:
            for i in range(n):
                start = time.perf_counter()
                task_id = w.run_id()
                with tracer.start_as_current_span(
                    w.TASK,
                    kind=w.INTERNAL,
                    attributes={
                        w.TASK_NAME: w.TASK,
                        w.TASK_RUN_ID: task_id,
                        **w.TASK_CODE,
                        w.PIPELINE_NAME: w.FLOW,
                        w.PIPELINE_RUN_ID: flow_id,
                    },
                ) as span:
                    w.work(i)
                    attributes = {
                        w.PIPELINE_NAME: w.FLOW,
                        w.PIPELINE_RUN_ID: flow_id,
                        w.TASK_NAME: w.TASK,
                        w.TASK_RUN_ID: task_id,
                    }
                    if kind == "log_info":
                        for _ in range(m):
                            self.emit(span, w.MESSAGE, attributes)
                    elif kind == "print":
                        for _ in range(m):
                            print(w.MESSAGE)
                            self.emit(span, w.MESSAGE, attributes)
                    else:
                        logger = self.logger
                        extra = {"otel_attributes": attributes}
                        for _ in range(m):
                            logger.info(w.MESSAGE, extra=extra)
                    span.set_attribute(w.TASK_RESULT, w.SUCCESS)
                raw.task_runs.add(1, w.TASK_METRIC_ATTRS)
                raw.task_duration.record(time.perf_counter() - start, w.TASK_METRIC_ATTRS)
            flow_span.set_attribute(w.PIPELINE_RESULT, w.SUCCESS)
            flow_span.set_attribute(w.FAILED_TASKS, 0)
        raw.flow_active.add(-1, w.FLOW_ATTRS)
        raw.flow_runs.add(1, w.FLOW_RESULT_ATTRS)
        raw.flow_duration.record(time.perf_counter() - flow_start, w.FLOW_RESULT_ATTRS)


# -- flowtel -----------------------------------------------------------------------------


@task
def log_info_task(x: int, m: int, this_task: Any = None) -> int:
    for _ in range(m):
        this_task.log_info(w.MESSAGE)
    return x + 1


@task
def print_task(x: int, m: int) -> int:
    for _ in range(m):
        print(w.MESSAGE)
    return x + 1


@task
def run_logger_task(x: int, m: int) -> int:
    logger = get_run_logger()
    for _ in range(m):
        logger.info(w.MESSAGE)
    return x + 1


FLOWTEL_TASKS = {"log_info": log_info_task, "print": print_task, "get_run_logger": run_logger_task}


@flow
def message_flow(kind: str, n: int, m: int) -> None:
    one = FLOWTEL_TASKS[kind]
    for i in range(n):
        one(i, m)


# -- the harness -------------------------------------------------------------------------


def measure(run: Any, providers: Any) -> float:
    gc.collect()
    start = time.perf_counter_ns()
    run()
    gc.collect()
    elapsed = time.perf_counter_ns() - start
    w.flush(providers)  # untimed
    return elapsed / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10, help="messages per task")
    args = parser.parse_args()
    n, m = args.tasks, args.messages

    providers = w.sdk_providers()
    raw = RawMessages(w.raw_for(providers))
    w.use_flowtel(providers)
    real_stdout, sys.stdout = sys.stdout, NullStdout()  # type: ignore[assignment]
    try:
        rows: dict[tuple[str, str, int], Any] = {}
        for kind in KINDS:
            for count in (0, m):
                rows[(kind, "raw", count)] = lambda k=kind, c=count: raw.flow(k, n, c)
                rows[(kind, "flowtel", count)] = lambda k=kind, c=count: message_flow(
                    k, n, c
                ).execute()
        for run in rows.values():  # warm-up
            run()
        w.flush(providers)
        gc.collect()
        gc.freeze()
        samples: dict[tuple[str, str, int], list[float]] = {key: [] for key in rows}
        for rep in range(args.reps):
            order = list(rows) if rep % 2 == 0 else list(reversed(rows))
            for key in order:
                samples[key].append(measure(rows[key], providers))
    finally:
        sys.stdout = real_stdout

    sent = n * m
    print(
        f"message path: us per message, sync flow of {n} tasks x {m} INFO messages, "
        f"median of {args.reps} (min-max)"
    )
    print(f"  {'way in':16} {'raw OTel':>22} {'flowtel':>22}  ratio")
    for kind in KINDS:
        cost = {}
        for side in ("raw", "flowtel"):
            per_rep = [
                (with_messages - without) / sent
                for with_messages, without in zip(
                    samples[(kind, side, m)], samples[(kind, side, 0)], strict=True
                )
            ]
            cost[side] = (statistics.median(per_rep), min(per_rep), max(per_rep))
        ratio = cost["flowtel"][0] / cost["raw"][0]
        cells = [f"{c[0]:6.2f} ({c[1]:.2f}-{c[2]:.2f})" for c in (cost["raw"], cost["flowtel"])]
        print(f"  {kind:16} {cells[0]:>22} {cells[1]:>22}  {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
