"""submit/map, futures, wait/as_completed and task runners, with span parents and events."""

from __future__ import annotations

import asyncio
import collections
import threading
import time

import pytest
from helpers import message, messages, parent_id

import flowtel
from flowtel import (
    Flow_Run__Event_Type,
    TaskRunFuture,
    ThreadPoolTaskRunner,
    flow,
    get_current_flow,
    get_run_logger,
    task,
    unmapped,
)


class Concurrency:
    """Counts how many callers are inside ``with tracker:`` at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.threads: set[str] = set()

    def __enter__(self):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.threads.add(threading.current_thread().name)

    def __exit__(self, *exc):
        with self.lock:
            self.active -= 1


@task()
def add(x, y=0):
    return x + y


@task()
def blocked(gate, value):
    if not gate.wait(5):
        raise RuntimeError("gate never opened")
    return value


@task()
def explode(message):
    raise ValueError(message)


# -- submit and TaskRunFuture ----------------------------------------------------------


def test_submit_returns_a_future_with_result_done_and_wait():
    """submit() returns at once; done() is False until the task ends; result() gives its value."""
    gate = threading.Event()
    seen = {}

    @flow()
    def f():
        future = blocked.submit(gate, "value")
        seen["type"] = type(future)
        seen["done before"] = future.done()
        gate.set()
        future.wait()
        seen["done after"] = future.done()
        seen["result"] = future.result(timeout=5)

    f().execute()
    assert {
        "type": TaskRunFuture,
        "done before": False,
        "done after": True,
        "result": "value",
    } == seen


def test_result_with_timeout_raises_timeout_error_while_the_task_runs():
    """future.result(timeout=0.05) on a task still running raises TimeoutError."""
    gate = threading.Event()
    seen = []

    @flow()
    def f():
        future = blocked.submit(gate, 1)
        started = time.perf_counter()
        try:
            future.result(timeout=0.05)
        except TimeoutError:
            seen.append(time.perf_counter() - started < 1)
        gate.set()
        seen.append(future.result(timeout=5))

    f().execute()
    assert [True, 1] == seen


def test_result_raises_the_tasks_error_and_wait_does_not():
    """A failed submitted task: wait() returns quietly, result() raises its error."""
    outcome = {}

    @flow()
    def f():
        future = explode.submit("bad input")
        outcome["wait"] = future.wait(timeout=5)
        outcome["exception"] = future.exception()
        try:
            future.result()
        except ValueError as error:
            outcome["raised"] = error

    run = f().execute()
    assert None is outcome["wait"]
    assert outcome["exception"] is outcome["raised"]
    assert "bad input" == str(outcome["raised"])
    assert run.executed_tasks[0].task_error is outcome["raised"]


def test_submit_passes_positional_and_keyword_arguments():
    """submit(*args, **kwargs) calls the task with exactly those arguments."""

    @flow()
    def f():
        return add.submit(1, y=41).result()

    assert 42 == f().execute().flow_return_value


@pytest.mark.asyncio
async def test_future_of_an_async_task_is_awaitable(flowtel_telemetry):
    """An async task submitted in an async flow runs as an asyncio task; await its future."""

    @task()
    async def fetch(page):
        await asyncio.sleep(0.01)
        return f"page {page}"

    @flow()
    async def crawl():
        futures = [fetch.submit(n) for n in range(3)]
        return [await future for future in futures]

    run = await crawl().execute_async()
    assert ["page 0", "page 1", "page 2"] == run.flow_return_value
    root = flowtel_telemetry.span("crawl")
    assert ["fetch"] * 3 == [s.name for s in flowtel_telemetry.children(root)]


@pytest.mark.asyncio
async def test_async_futures_run_concurrently_on_the_loop():
    """Submitted async tasks overlap: three 0.2 s sleeps take well under 0.6 s."""

    @task()
    async def nap(n):
        await asyncio.sleep(0.2)
        return threading.current_thread().name

    @flow()
    async def naps():
        futures = nap.map(range(3))
        return [await future for future in futures]

    started = time.perf_counter()
    run = await naps().execute_async()
    assert time.perf_counter() - started < 0.5
    assert {threading.current_thread().name} == set(run.flow_return_value)


@pytest.mark.asyncio
async def test_blocking_on_an_async_future_from_its_own_loop_is_refused():
    """result() on a pending async-task future from its loop's thread raises RuntimeError."""

    @task()
    async def fetch():
        await asyncio.sleep(0.01)
        return 1

    @flow()
    async def crawl():
        future = fetch.submit()
        try:
            future.result()
        except RuntimeError as error:
            message = str(error)
        return message, await future

    run = await crawl().execute_async()
    message, value = run.flow_return_value
    assert 1 == value
    assert "'await' it instead" in message


def test_async_task_submitted_from_a_sync_flow_gives_a_blocking_future(flowtel_telemetry):
    """An async task submitted where no loop runs gives a future with result(); flow's child."""

    @task()
    async def fetch(n):
        await asyncio.sleep(0)
        return n * 10

    @flow()
    def f():
        return [future.result(timeout=5) for future in fetch.map([1, 2])]

    assert [10, 20] == f().execute().flow_return_value
    root = flowtel_telemetry.span("f")
    assert ["fetch", "fetch"] == [s.name for s in flowtel_telemetry.children(root)]


def test_submit_outside_a_flow_runs_on_the_shared_pool(flowtel_telemetry):
    """A task submitted outside any flow runs and its span is a root span."""
    assert 7 == add.submit(3, 4).result(timeout=5)
    span = flowtel_telemetry.span("add")
    assert None is parent_id(span)


# -- map -------------------------------------------------------------------------------


def test_map_zips_iterables_and_returns_one_future_per_item():
    """map(a, b) calls the task with a[i], b[i] for each i; a list of futures in order."""

    @flow()
    def f():
        futures = add.map([1, 2, 3], [10, 20, 30])
        return type(futures), [future.result() for future in futures]

    kind, values = f().execute().flow_return_value
    assert issubclass(kind, list)
    assert [11, 22, 33] == values


def test_map_accepts_keyword_iterables_ranges_and_generators():
    """Keyword arguments, ranges and generators are mapped over too."""

    @flow()
    def f():
        futures = add.map(range(3), y=(n * 100 for n in range(3)))
        return [future.result() for future in futures]

    assert [0, 101, 202] == f().execute().flow_return_value


def test_unmapped_and_non_iterables_are_passed_whole_to_every_call():
    """unmapped(list), strings and plain values are given unchanged to each call."""
    seen = []

    @task()
    def record(item, shared, label, count):
        seen.append((item, shared, label, count))

    @flow()
    def f():
        for future in record.map([1, 2], unmapped([9, 9]), "label", count=3):
            future.result()

    f().execute()
    assert [(1, [9, 9], "label", 3), (2, [9, 9], "label", 3)] == sorted(seen)


def test_map_with_iterables_of_different_lengths_is_refused():
    """map() over iterables of different lengths raises ValueError naming the lengths."""
    with pytest.raises(ValueError, match=r"add.map\(\) got iterables of different lengths.*3.*2"):
        add.map([1, 2, 3], [1, 2])


def test_map_without_an_iterable_is_refused():
    """map() with nothing to iterate raises ValueError pointing at unmapped."""
    with pytest.raises(ValueError, match=r"needs at least one iterable"):
        add.map(1, y=2)


def test_map_over_an_empty_iterable_returns_no_futures():
    """map([]) submits nothing and returns an empty list."""

    @flow()
    def f():
        return add.map([])

    run = f().execute()
    assert [] == list(run.flow_return_value)
    assert [] == run.executed_tasks


# -- wait and as_completed -------------------------------------------------------------


def test_wait_returns_done_and_not_done_sets():
    """flowtel.wait(futures, timeout) splits the futures into done and not_done."""
    gate = threading.Event()
    seen = {}

    @flow()
    def f():
        quick = add.submit(1)
        slow = blocked.submit(gate, 2)
        done, not_done = flowtel.wait([quick, slow], timeout=0.3)
        seen["first"] = (done == {quick}, not_done == {slow})
        gate.set()
        finished = flowtel.wait([quick, slow])
        seen["second"] = (finished.done == {quick, slow}, finished.not_done == set())

    f().execute()
    assert {"first": (True, True), "second": (True, True)} == seen


def test_as_completed_yields_futures_in_completion_order():
    """as_completed yields each future when it finishes, first finished first."""
    gates = [threading.Event() for _ in range(3)]
    release_next = {1: 0, 2: 1}  # after the 1st result open gate 0, after the 2nd gate 1
    order = []

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=3))
    def f():
        futures = [blocked.submit(gate, n) for n, gate in enumerate(gates)]
        gates[2].set()
        for future in flowtel.as_completed(futures, timeout=5):
            order.append(future.result())
            if len(order) in release_next:
                gates[release_next[len(order)]].set()

    f().execute()
    assert [2, 0, 1] == order


def test_as_completed_times_out():
    """as_completed(timeout=) raises TimeoutError when futures are still pending."""
    gate = threading.Event()
    seen = []

    @flow()
    def f():
        future = blocked.submit(gate, 1)
        try:
            for _ in flowtel.as_completed([future], timeout=0.05):
                seen.append("yielded")
        except TimeoutError:
            seen.append("timeout")
        gate.set()

    f().execute()
    assert ["timeout"] == seen


def test_wait_rejects_objects_that_are_not_task_futures():
    """flowtel.wait([...]) with a non-future raises TypeError naming it."""
    with pytest.raises(TypeError, match=r"expected TaskRunFuture.*42"):
        flowtel.wait([42])


# -- task runners and concurrency ------------------------------------------------------


@pytest.mark.parametrize("max_workers", [1, 3])
def test_task_runner_max_workers_limits_concurrency(max_workers):
    """@flow(task_runner=ThreadPoolTaskRunner(max_workers=N)) never runs more than N at once."""
    tracker = Concurrency()

    @task()
    def work(n):
        with tracker:
            time.sleep(0.03)
        return n

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=max_workers))
    def f():
        return [future.result() for future in work.map(range(4 * max_workers))]

    run = f().execute()
    assert list(range(4 * max_workers)) == run.flow_return_value
    assert max_workers == tracker.peak
    assert max_workers == len(tracker.threads)


def test_each_flow_run_gets_its_own_pool_from_the_runner_settings():
    """Two concurrent runs of a flow with max_workers=2 each run 2 tasks at once."""
    tracker = Concurrency()
    barrier = threading.Barrier(4, timeout=5)

    @task()
    def work(n):
        with tracker:
            barrier.wait()
        return n

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
    def f():
        return [future.result() for future in work.map(range(2))]

    runs = [f(), f()]
    threads = [threading.Thread(target=run.execute) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [[0, 1], [0, 1]] == [run.flow_return_value for run in runs]
    assert 4 == tracker.peak


def test_flow_waits_for_submitted_tasks_before_it_ends(flowtel_telemetry):
    """Futures never waited on in the body still finish before the flow run ends."""

    @task()
    def slow(n):
        time.sleep(0.05)
        return n

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
    def f():
        slow.map(range(4))
        return "body done"

    run = f().execute()
    assert ["completed"] * 4 == [t.status for t in run.executed_tasks]
    flow_span = flowtel_telemetry.span("f")
    task_spans = flowtel_telemetry.spans_named("slow")
    assert 4 == len(task_spans)
    assert [] == [s for s in task_spans if s.end_time > flow_span.end_time]


@pytest.mark.asyncio
async def test_async_flow_waits_for_submitted_async_tasks():
    """An async flow awaits its submitted async tasks before it ends."""
    finished = []

    @task()
    async def slow(n):
        await asyncio.sleep(0.05)
        finished.append(n)

    @flow()
    async def f():
        slow.map(range(3))

    run = await f().execute_async()
    assert [0, 1, 2] == sorted(finished)
    assert ["completed"] * 3 == [t.status for t in run.executed_tasks]


# -- context in workers ----------------------------------------------------------------


def test_flow_and_flow_data_travel_into_workers():
    """A submitted task sees the submitting flow as current and gets its flow_data injected."""
    seen = []

    @task()
    def record(n, this_flow=None, flow_data=None):
        flow_data[n] = threading.current_thread().name
        seen.append((get_current_flow() is this_flow, this_flow.flow_name))

    @flow()
    def f(flow_data=None):
        flow_data["from body"] = True
        for future in record.map(range(3)):
            future.result()

    run = f().execute()
    assert [(True, "f")] * 3 == seen
    assert {"from body", 0, 1, 2} == set(run.flow_data)
    workers = {name for key, name in run.flow_data.items() if key != "from body"}
    assert {True} == {name.startswith("flowtel-task") for name in workers}


def test_task_submitted_from_a_task_is_a_child_of_that_task(flowtel_telemetry):
    """submit() inside a task: the submitted task spans are children of the submitting task."""

    @task()
    def fan_out():
        return sum(future.result() for future in add.map([1, 2, 3]))

    @flow()
    def f():
        return fan_out()

    assert 6 == f().execute().flow_return_value
    submitter = flowtel_telemetry.span("fan_out")
    assert ["add"] * 3 == [s.name for s in flowtel_telemetry.children(submitter)]


def test_calls_inside_a_submitted_task_nest_under_it(flowtel_telemetry):
    """A task called normally inside a submitted task is a child of the submitted task span."""

    @task()
    def outer(n):
        return add(n, 1)

    @flow()
    def f():
        return outer.submit(1).result()

    assert 2 == f().execute().flow_return_value
    outer_span = flowtel_telemetry.span("outer")
    assert ["add"] == [s.name for s in flowtel_telemetry.children(outer_span)]


def test_one_thousand_mapped_tasks_on_eight_workers(flowtel_telemetry, events):
    """1,000 mapped tasks on 8 workers: all children of the flow span, no event or log lost."""
    tracker = Concurrency()

    @task()
    def item(n):
        with tracker:
            get_run_logger().info("item %d", n)
        return n

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=8))
    def big():
        return sum(future.result() for future in item.map(range(1000)))

    run = big().execute()
    assert sum(range(1000)) == run.flow_return_value
    assert 8 >= tracker.peak
    assert 8 >= len(tracker.threads)

    # spans: every task span is a child of the flow span, in the flow's trace
    root = flowtel_telemetry.span("big")
    task_spans = flowtel_telemetry.spans_named("item")
    assert 1000 == len(task_spans)
    assert {root.context.span_id} == {parent_id(s) for s in task_spans}
    assert {root.context.trace_id} == {s.context.trace_id for s in flowtel_telemetry.spans}
    assert 1001 == len(flowtel_telemetry.spans)

    # public events: one start and one stop per task, every message of every task
    counts = collections.Counter(e.event_type for e in events)
    assert 1000 == counts[Flow_Run__Event_Type.TASK_START]
    assert 1000 == counts[Flow_Run__Event_Type.TASK_STOP]
    item_events = [e for e in messages(events) if message(e).startswith("item ")]
    assert {f"item {n}" for n in range(1000)} == {message(e) for e in item_events}
    assert 1000 == len(item_events)
    assert {"item"} == {e.event_data.task_name for e in item_events}

    # each task's message belongs to its own run: same run id on event, span and log record
    span_by_run = {s.attributes["cicd.pipeline.task.run.id"]: s for s in task_spans}
    starts = {e.event_data.task_run_id for e in events if e.event_type == "task_start"}
    assert set(span_by_run) == starts
    assert set(span_by_run) == {e.event_data.task_run_id for e in item_events}
    for span in task_spans:
        span_messages = [
            e.attributes["message"] for e in span.events if e.name == "flowtel.message"
        ]
        assert 1 == len(span_messages)
    logs = [r.log_record for r in flowtel_telemetry.logs]
    assert 1000 == len(logs)
    for record in logs:
        span = span_by_run[record.attributes["cicd.pipeline.task.run.id"]]
        assert (span.context.span_id, span.context.trace_id) == (record.span_id, record.trace_id)
        assert [record.body] == [
            e.attributes["message"] for e in span.events if e.name == "flowtel.message"
        ]

    # the run's own log has every message, and every task ended completed
    assert 1000 == len([m for m in run.log_messages() if m.startswith("item ")])
    assert 1000 == len(run.executed_tasks)
    assert {"completed"} == {t.status for t in run.executed_tasks}
    runs = flowtel_telemetry.metric_points("flowtel.task.runs")
    assert [1000] == [p.value for p in runs]


def test_cancelling_an_async_flow_cancels_the_tasks_it_submitted():
    """A cancelled async flow run cancels its still-running submitted tasks instead of waiting."""
    seen = []

    @task
    async def slow_child():
        try:
            await asyncio.sleep(5)
            seen.append("finished")
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    @flow
    async def parent():
        slow_child.submit()
        await asyncio.sleep(5)

    async def main():
        run = parent()
        running = asyncio.ensure_future(run.execute_async())
        await asyncio.sleep(0.05)
        running.cancel()
        started = time.perf_counter()
        with pytest.raises(asyncio.CancelledError):
            await running
        return run, time.perf_counter() - started

    run, waited = asyncio.run(main())
    assert ["cancelled"] == seen
    assert "cancelled" == run.flow_status
    assert waited < 2
