"""Span structure of flow runs: names, kinds and parent/child links (real SDK, in memory)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

from helpers import parent_id
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from flowtel import flow, task

# -- tasks and nested tasks ------------------------------------------------------------


@task()
def leaf(value):
    return value + 1


@task()
def branch(value):
    return leaf(value) + leaf(value)


@flow()
def tree_flow():
    branch(1)
    leaf(10)


def test_tasks_are_children_of_the_flow_span(flowtel_telemetry):
    """Task spans called in a flow body are children of the flow span, in its trace."""
    tree_flow().execute()
    root = flowtel_telemetry.span("tree_flow")
    children = flowtel_telemetry.children(root)
    assert ["branch", "leaf"] == [span.name for span in children]
    assert {root.context.trace_id} == {span.context.trace_id for span in flowtel_telemetry.spans}
    assert None is parent_id(root)


def test_nested_tasks_are_children_of_the_enclosing_task_span(flowtel_telemetry):
    """A task called inside a task is a child of the enclosing task's span."""
    tree_flow().execute()
    outer = flowtel_telemetry.span("branch")
    inner = flowtel_telemetry.children(outer)
    assert ["leaf", "leaf"] == [span.name for span in inner]
    assert 5 == len(flowtel_telemetry.spans)


def test_each_flow_run_starts_its_own_trace(flowtel_telemetry):
    """Two runs of a flow outside any span are two roots in two different traces."""
    tree_flow().execute()
    tree_flow().execute()
    roots = flowtel_telemetry.spans_named("tree_flow")
    assert [None, None] == [parent_id(span) for span in roots]
    assert 2 == len({span.context.trace_id for span in roots})


# -- nested flows ----------------------------------------------------------------------


@flow()
def sub_flow():
    leaf(1)


@task()
def launch_sub_flow():
    sub_flow().execute()


@flow()
def parent_flow():
    launch_sub_flow()
    sub_flow().execute()


def test_nested_flow_is_a_child_of_the_calling_task_or_flow(flowtel_telemetry):
    """A flow run from a task is a child of that task's span; run from a flow body, of the flow's."""
    parent_flow().execute()
    root = flowtel_telemetry.span("parent_flow")
    launcher = flowtel_telemetry.span("launch_sub_flow")
    from_task, from_flow = sorted(
        flowtel_telemetry.spans_named("sub_flow"), key=lambda span: span.start_time
    )
    assert launcher.context.span_id == parent_id(from_task)
    assert root.context.span_id == parent_id(from_flow)
    assert ["launch_sub_flow", "sub_flow"] == [s.name for s in flowtel_telemetry.children(root)]
    assert {root.context.trace_id} == {span.context.trace_id for span in flowtel_telemetry.spans}


def test_tasks_of_a_nested_flow_are_children_of_the_nested_flow_span(flowtel_telemetry):
    """The tasks of a nested flow hang under the nested flow's span, not the outer flow's."""
    parent_flow().execute()
    for nested in flowtel_telemetry.spans_named("sub_flow"):
        assert ["leaf"] == [span.name for span in flowtel_telemetry.children(nested)]


# -- asyncio: gather and create_task ---------------------------------------------------


@task()
async def async_leaf(value):
    await asyncio.sleep(0.001)
    return value


@task()
async def async_fan_out():
    return await asyncio.gather(async_leaf(1), async_leaf(2))


@flow()
async def gather_flow():
    await asyncio.gather(async_leaf(1), async_leaf(2), async_leaf(3))


@flow()
async def create_task_flow():
    first = asyncio.create_task(async_leaf(1))
    second = asyncio.create_task(async_leaf(2))
    await first
    await second
    await async_fan_out()


def test_gathered_tasks_are_children_of_the_flow_span(flowtel_telemetry):
    """Tasks run concurrently with asyncio.gather are all children of the flow span."""
    gather_flow().execute()
    root = flowtel_telemetry.span("gather_flow")
    assert ["async_leaf"] * 3 == [span.name for span in flowtel_telemetry.children(root)]
    assert 4 == len(flowtel_telemetry.spans)


def test_create_task_tasks_are_children_of_the_creating_span(flowtel_telemetry):
    """asyncio.create_task tasks hang under the flow; gathered in a task, under that task."""
    asyncio.run(create_task_flow().execute_async())
    root = flowtel_telemetry.span("create_task_flow")
    fan_out = flowtel_telemetry.span("async_fan_out")
    assert ["async_leaf", "async_leaf", "async_fan_out"] == [
        span.name for span in flowtel_telemetry.children(root)
    ]
    assert ["async_leaf", "async_leaf"] == [
        span.name for span in flowtel_telemetry.children(fan_out)
    ]


# -- threads ---------------------------------------------------------------------------


@task()
def submit_to_threads():
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(contextvars.copy_context().run, leaf, n) for n in range(3)]
        return [future.result() for future in futures]


@flow()
def thread_flow():
    submit_to_threads()
    worker = threading.Thread(target=contextvars.copy_context().run, args=(leaf, 100))
    worker.start()
    worker.join()


def test_tasks_in_threads_are_children_of_the_submitting_span(flowtel_telemetry):
    """Tasks run in threads with copy_context() hang under the span that submitted them."""
    thread_flow().execute()
    root = flowtel_telemetry.span("thread_flow")
    submitter = flowtel_telemetry.span("submit_to_threads")
    assert ["submit_to_threads", "leaf"] == [s.name for s in flowtel_telemetry.children(root)]
    assert ["leaf", "leaf", "leaf"] == [s.name for s in flowtel_telemetry.children(submitter)]
    assert {root.context.trace_id} == {span.context.trace_id for span in flowtel_telemetry.spans}


@flow()
def submit_flow():
    futures = [leaf.submit(n) for n in range(3)]
    mapped = leaf.map([10, 20])
    return [future.result() for future in futures + mapped]


def test_submitted_and_mapped_tasks_are_children_of_the_flow_span(flowtel_telemetry):
    """Tasks run on flowtel's own executors (.submit, .map) hang under the submitting flow span."""
    run = submit_flow().execute()
    root = flowtel_telemetry.span("submit_flow")
    assert [1, 2, 3, 11, 21] == run.flow_return_value
    assert ["leaf"] * 5 == [span.name for span in flowtel_telemetry.children(root)]
    assert 6 == len(flowtel_telemetry.spans)


# -- user spans around and inside runs -------------------------------------------------


def test_flow_inside_a_user_span_joins_that_trace(flowtel_telemetry):
    """A flow run inside an existing span (e.g. a web request) is that span's child."""
    tracer = flowtel_telemetry.tracer_provider.get_tracer("web-app")
    with tracer.start_as_current_span("GET /orders", kind=SpanKind.SERVER) as request:
        tree_flow().execute()
    root = flowtel_telemetry.span("tree_flow")
    assert request.get_span_context().span_id == parent_id(root)
    assert {request.get_span_context().trace_id} == {
        span.context.trace_id for span in flowtel_telemetry.spans
    }


def test_async_flow_executed_inside_a_running_loop_joins_the_callers_trace(flowtel_telemetry):
    """execute() of an async flow from inside a running loop keeps the caller's span as parent."""
    tracer = flowtel_telemetry.tracer_provider.get_tracer("web-app")

    async def handler():
        with tracer.start_as_current_span("async request") as request:
            gather_flow().execute()
        return request

    request = asyncio.run(handler())
    root = flowtel_telemetry.span("gather_flow")
    assert request.get_span_context().span_id == parent_id(root)
    assert ["async_leaf"] * 3 == [span.name for span in flowtel_telemetry.children(root)]


@task()
def task_with_user_spans(tracer):
    with tracer.start_as_current_span("db.query"), tracer.start_as_current_span("db.fetch"):
        pass
    with tracer.start_as_current_span("http.call"):
        leaf(1)


@flow()
def user_span_flow(tracer):
    task_with_user_spans(tracer)


def test_user_spans_inside_a_task_nest_under_the_task_span(flowtel_telemetry):
    """Spans made by user code inside a task are children of the task span (it is current)."""
    tracer = flowtel_telemetry.tracer_provider.get_tracer("user-code")
    user_span_flow(tracer).execute()
    task_span = flowtel_telemetry.span("task_with_user_spans")
    assert ["db.query", "http.call"] == [s.name for s in flowtel_telemetry.children(task_span)]
    query = flowtel_telemetry.span("db.query")
    assert ["db.fetch"] == [s.name for s in flowtel_telemetry.children(query)]
    call = flowtel_telemetry.span("http.call")
    assert ["leaf"] == [s.name for s in flowtel_telemetry.children(call)]


def test_current_span_is_restored_after_a_run(flowtel_telemetry):
    """After a run (successful or failed) the span current before it is current again."""
    tracer = flowtel_telemetry.tracer_provider.get_tracer("web-app")

    @flow()
    def failing_flow():
        leaf(1)
        raise RuntimeError("flow body failed")

    with tracer.start_as_current_span("outer") as outer:
        tree_flow().execute()
        assert outer is trace.get_current_span()
        try:
            failing_flow().execute()
        except RuntimeError:
            pass
        assert outer is trace.get_current_span()
    assert trace.INVALID_SPAN == trace.get_current_span()


# -- names and kinds -------------------------------------------------------------------


@task(task_name="load-customers")
def named_task():
    return 1


@flow(flow_name="nightly-import")
def named_flow():
    named_task()
    leaf(1)


def test_span_names_are_flow_and_task_names(flowtel_telemetry):
    """Span names are the flow and task names (custom names when given), never run ids."""
    run = named_flow().execute()
    names = sorted(span.name for span in flowtel_telemetry.spans)
    assert ["leaf", "load-customers", "nightly-import"] == names
    ids = {run.flow_id} | {task.task_id for task in run.executed_tasks}
    assert set() == {span.name for span in flowtel_telemetry.spans} & ids


def test_all_flowtel_spans_are_internal(flowtel_telemetry):
    """Flow and task spans, sync and async, all have kind INTERNAL."""
    named_flow().execute()
    gather_flow().execute()
    parent_flow().execute()
    kinds = {span.kind for span in flowtel_telemetry.spans}
    assert {SpanKind.INTERNAL} == kinds


# -- runs that start outside the span that made them: new trace, span link -----------------


@flow()
def background_flow():
    leaf(1)


def run_on_bare_thread(run):
    """Execute ``run`` on a new thread that does not carry the caller's context."""
    worker = threading.Thread(target=run.execute)
    worker.start()
    worker.join()


def test_a_run_started_with_no_current_span_links_to_the_span_where_it_was_made(
    flowtel_telemetry,
):
    """A flow made inside a span but run on a bare thread starts a new trace linked to that span."""
    tracer = flowtel_telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as request:
        run = background_flow()
    run_on_bare_thread(run)
    span = flowtel_telemetry.span("background_flow")
    assert None is span.parent
    assert request.get_span_context().trace_id != span.context.trace_id
    assert [request.get_span_context()] == [link.context for link in span.links]
    assert span.context.span_id == parent_id(flowtel_telemetry.span("leaf"))


def test_a_run_made_under_a_propagated_span_context_links_to_it(flowtel_telemetry):
    """A flow made where only a remote span context is current (a propagated request, no local
    span) and run on a bare thread links to that context."""
    remote = trace.SpanContext(
        trace_id=0x1234, span_id=0x5678, is_remote=True, trace_flags=trace.TraceFlags(1)
    )
    with trace.use_span(trace.NonRecordingSpan(remote)):
        run = background_flow()
    run_on_bare_thread(run)
    span = flowtel_telemetry.span("background_flow")
    assert (None, [remote]) == (span.parent, [link.context for link in span.links])


def test_a_detached_run_inside_an_open_span_starts_a_new_trace_linked_to_it(flowtel_telemetry):
    """detach() makes the run the root of a new trace with a link to the span current then."""
    tracer = flowtel_telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as request:
        run = background_flow().detach()
        run.execute()
    span = flowtel_telemetry.span("background_flow")
    assert (None, [request.get_span_context()]) == (
        span.parent,
        [link.context for link in span.links],
    )
    assert request.get_span_context().trace_id != span.context.trace_id
    assert span.context.trace_id == flowtel_telemetry.span("leaf").context.trace_id


def test_a_run_inside_the_span_that_made_it_is_its_child_without_links(flowtel_telemetry):
    """The usual case is unchanged: a flow run inside a span is its child and has no links."""
    tracer = flowtel_telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as request:
        background_flow().execute()
    span = flowtel_telemetry.span("background_flow")
    assert (request.get_span_context().span_id, ()) == (parent_id(span), tuple(span.links))


def test_a_detached_run_made_outside_any_span_is_a_root_without_links(flowtel_telemetry):
    """detach() with no current span gives a plain new trace (nothing to link to)."""
    background_flow().detach().execute()
    span = flowtel_telemetry.span("background_flow")
    assert (None, ()) == (span.parent, tuple(span.links))
