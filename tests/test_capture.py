"""print() inside flows and tasks: captured per run under threads and asyncio, stdout restored."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import logging
import subprocess
import sys
import threading

import pytest
from helpers import child_environment, message_text, messages, run_in_threads

from flowtel import Flow, Flow_Run__Config, Flow_Run__Event_Type, flow, flow_events, task

T = Flow_Run__Event_Type


def printed_messages(events):
    return [
        (e.event_data.flow_run_id, e.event_data.task_name, e.event_data.log_level, message_text(e))
        for e in messages(events)
    ]


# -- what print() becomes --------------------------------------------------------------------------


def test_print_in_a_flow_is_an_info_message_of_the_flow(events, capsys):
    """print() in a flow function becomes an INFO message of that flow and still reaches stdout."""

    @flow
    def printing():
        print("hello from the flow")
        return "done"

    run = printing().execute()
    assert "hello from the flow" in run.log_messages()
    assert (run.flow_id, "", logging.INFO, "hello from the flow") in printed_messages(events)
    assert "hello from the flow\n" == capsys.readouterr().out


def test_print_in_a_task_is_an_info_message_of_the_task(events, capsys):
    """print() in a task becomes an INFO message attributed to that task and reaches stdout."""

    @task
    def printing_task():
        print("hello from the task")

    @flow
    def owner():
        printing_task()

    run = owner().execute()
    assert ("printing_task", "hello from the task") in [
        (entry.task_name, entry.text) for entry in run.log_entries()
    ]
    assert (run.flow_id, "printing_task", logging.INFO, "hello from the task") in printed_messages(
        events
    )
    assert "hello from the task\n" == capsys.readouterr().out


def test_print_in_an_async_task_is_captured():
    """print() in async tasks (around awaits) is captured as that task's messages."""

    @task
    async def printing_task(n):
        print(f"before {n}")
        await asyncio.sleep(0.001)
        print(f"after {n}")

    @flow
    async def owner():
        await asyncio.gather(printing_task(1), printing_task(2))

    run = owner().execute()
    texts = run.log_messages()
    for expected in ("before 1", "after 1", "before 2", "after 2"):
        assert expected in texts


def test_multi_line_and_partial_prints_become_lines():
    """A multi-line print gives one message per line; partial prints are joined until the newline."""

    @task
    def pieces():
        print("first\nsecond")
        print("par", end="")
        print("tial", end="")
        print()
        print("no newline at end", end="")

    @flow
    def owner():
        pieces()
        print("flow", "args", 3, sep="-")

    messages = owner().execute().log_messages()
    for expected in ("first", "second", "partial", "no newline at end", "flow-args-3"):
        assert expected in messages
    assert "" not in messages


def test_print_outside_any_flow_reaches_stdout(capsys):
    """A print outside any flow, even while a flow runs in another thread, goes to stdout."""
    running = threading.Event()
    release = threading.Event()

    @flow(flow_config=Flow_Run__Config(echo_prints=False))
    def blocking():
        print("inside the flow")
        running.set()
        release.wait(5)

    holder = {}
    worker = threading.Thread(target=lambda: holder.update(run=blocking().execute()))
    worker.start()
    running.wait(5)
    print("outside the flow")
    release.set()
    worker.join()
    out = capsys.readouterr().out
    assert "outside the flow" in out
    assert "inside the flow" not in out
    assert "outside the flow" not in holder["run"].log_messages()
    assert "inside the flow" in holder["run"].log_messages()


def test_redirect_stdout_inside_a_flow_wins_and_stdout_is_restored():
    """contextlib.redirect_stdout inside a flow receives its prints; stdout is the original afterwards."""
    original = sys.stdout
    buffer = io.StringIO()

    @flow
    def redirecting():
        with contextlib.redirect_stdout(buffer):
            print("to the buffer")
        print("to the run")

    run = redirecting().execute()
    assert "to the buffer\n" == buffer.getvalue()
    assert "to the run" in run.log_messages()
    assert "to the buffer" not in run.log_messages()
    assert original is sys.stdout


def test_standard_logging_is_usable_inside_flows(caplog):
    """The logging module works as usual inside flows and tasks."""
    logger = logging.getLogger("user.code")

    @task
    def logs():
        logger.warning("task warning via logging")

    @flow
    def owner():
        logger.warning("flow warning via logging")
        logs()
        return "ok"

    with caplog.at_level(logging.WARNING, logger="user.code"):
        run = owner().execute()
    assert "ok" == run.flow_return_value
    assert ["flow warning via logging", "task warning via logging"] == [
        r.getMessage() for r in caplog.records if r.name == "user.code"
    ]


def test_print_in_a_listener_is_not_fed_back_into_the_run(capsys):
    """A listener that prints on each message is called once per event and its output is not re-logged."""
    calls = []

    def printing_listener(event):
        if event.event_type is T.FLOW_MESSAGE:
            calls.append(event)
            print(f"LISTENER: {message_text(event)}")

    flow_events.event_listeners.append(printing_listener)

    @flow
    def owner(this_flow=None):
        this_flow.log_info("one message")
        return "ok"

    run = owner().execute()
    flow_events.event_listeners.remove(printing_listener)
    assert "ok" == run.flow_return_value
    assert [] == [m for m in run.log_messages() if "LISTENER" in m]
    assert len(run.log_messages()) == len(calls)
    assert 1 == capsys.readouterr().out.count("LISTENER: one message")


# -- sys.stdout is always restored --------------------------------------------------------------------


def test_stdout_is_restored_after_every_kind_of_run():
    """After sync, async, failed, tolerated, cancelled and nested runs sys.stdout is the original."""
    original = sys.stdout

    @flow
    def ok():
        print("x")

    @flow
    async def async_ok():
        print("x")

    @flow
    def fails():
        print("x")
        raise ValueError("x")

    @flow(flow_config=Flow_Run__Config(raise_flow_error=False))
    def tolerated():
        raise ValueError("x")

    @task
    def interrupt():
        raise KeyboardInterrupt

    @flow
    def interrupted():
        interrupt()

    @flow
    def nested():
        ok().execute()
        print("outer")

    ok().execute()
    assert original is sys.stdout
    async_ok().execute()
    assert original is sys.stdout
    with pytest.raises(ValueError):
        fails().execute()
    assert original is sys.stdout
    tolerated().execute()
    assert original is sys.stdout
    with pytest.raises(KeyboardInterrupt):
        interrupted().execute()
    assert original is sys.stdout
    nested().execute()
    assert original is sys.stdout
    with Flow(flow_name="manual"):
        ok().execute()
    assert original is sys.stdout


def test_stdout_is_restored_after_concurrent_threads():
    """After flows in many threads start and end at different times, sys.stdout is the original."""
    original = sys.stdout

    @flow
    def short(n):
        for i in range(n):
            print(f"line {i}")
        return n

    threads = [threading.Thread(target=lambda n=n: short(n).execute()) for n in range(1, 17)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert original is sys.stdout


# -- attribution under concurrency -------------------------------------------------------------------


def test_prints_in_threads_are_attributed_to_their_own_flow():
    """Eight flows printing at once in eight threads each capture exactly their own lines."""
    barrier = threading.Barrier(8)

    @task
    def print_lines(name):
        for i in range(50):
            print(f"{name}:task:{i}")

    @flow
    def printer(name):
        barrier.wait()
        for i in range(50):
            print(f"{name}:flow:{i}")
        print_lines(name)

    runs = run_in_threads(printer, [f"t{n}" for n in range(8)])
    for name, run in runs.items():
        printed = [m for m in run.log_messages() if ":flow:" in m or ":task:" in m]
        expected = [f"{name}:flow:{i}" for i in range(50)] + [f"{name}:task:{i}" for i in range(50)]
        assert expected == printed
        task_lines = [e.text for e in run.log_entries() if e.task_name == "print_lines"]
        assert [f"{name}:task:{i}" for i in range(50)] == [t for t in task_lines if ":task:" in t]


def test_prints_in_asyncio_flows_are_attributed_to_their_own_flow():
    """Fifty async flows printing between awaits each capture exactly their own lines."""

    @task
    async def print_lines(name):
        for i in range(5):
            print(f"{name}:task:{i}")
            await asyncio.sleep(0)

    @flow
    async def printer(name):
        for i in range(5):
            print(f"{name}:flow:{i}")
            await asyncio.sleep(0)
        await print_lines(name)

    async def all_flows():
        return await asyncio.gather(*(printer(f"a{n}").execute_async() for n in range(50)))

    runs = asyncio.run(all_flows())
    for n, run in enumerate(runs):
        name = f"a{n}"
        printed = [m for m in run.log_messages() if ":flow:" in m or ":task:" in m]
        assert [f"{name}:flow:{i}" for i in range(5)] + [
            f"{name}:task:{i}" for i in range(5)
        ] == printed


def test_print_in_a_thread_with_copied_context_goes_to_the_flow():
    """A thread started with copy_context() inside a flow prints into that flow's log."""

    @flow
    def spawning():
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(print, "from the worker"))
        worker.start()
        worker.join()

    run = spawning().execute()
    assert "from the worker" in run.log_messages()


def test_prints_of_nested_flows_go_to_the_right_flow():
    """Inner flow prints go to the inner flow; the outer's prints before and after go to the outer."""

    @flow
    def inner_flow():
        print("inner print")

    @flow
    def outer_flow():
        print("outer before")
        inner = inner_flow().execute()
        print("outer after")
        return inner

    run = outer_flow().execute()
    inner = run.flow_return_value
    assert ["outer before", "outer after"] == [m for m in run.log_messages() if "outer" in m]
    assert "inner print" not in run.log_messages()
    assert "inner print" in inner.log_messages()


def test_a_router_restored_by_a_late_redirect_passes_through_and_is_removed_by_the_next_run(
    capsys,
):
    """A redirect_stdout that outlives a flow puts back an idle router: it forwards every write to
    the original stdout, and the next flow run removes it."""
    original = sys.stdout
    started = threading.Event()
    release = threading.Event()

    @flow
    def blocking():
        started.set()
        release.wait(5)

    @flow
    def later():
        print("captured by the later run")

    worker = threading.Thread(target=lambda: blocking().execute())
    worker.start()
    started.wait(5)
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            release.set()
            worker.join()
        print("after the redirect")
        run = later().execute()
        left_behind = sys.stdout
    finally:
        sys.stdout = original
    assert "after the redirect\ncaptured by the later run\n" == capsys.readouterr().out
    assert ["captured by the later run"] == [m for m in run.log_messages() if "later" in m]
    assert original is left_behind


def test_prints_of_a_flow_run_from_a_task_go_to_that_flow():
    """A flow executed inside another flow's task captures its own prints; the task's prints stay outer."""

    @flow
    def inner_flow():
        print("inner flow print")

    @task
    def launcher():
        inner = inner_flow().execute()
        print("launcher print")
        return inner

    @flow
    def outer_flow():
        return launcher()

    run = outer_flow().execute()
    inner = run.flow_return_value
    assert ("launcher", "launcher print") in [(e.task_name, e.text) for e in run.log_entries()]
    assert "inner flow print" not in run.log_messages()
    assert ("", "inner flow print") in [(e.task_name, e.text) for e in inner.log_entries()]


# -- captured prints are echoed --------------------------------------------------------------------


def test_a_captured_print_reaches_stdout_span_events_and_log_records(flowtel_telemetry, capsys):
    """By default a print in a task shows on stdout and is a span event and a log record too."""

    @task
    def shout():
        print("loaded 3 rows")

    @flow
    def loud():
        shout()

    loud().execute()
    assert "loaded 3 rows\n" == capsys.readouterr().out
    span = flowtel_telemetry.span("shout")
    assert ["loaded 3 rows"] == [
        e.attributes["message"] for e in span.events if e.name == "flowtel.message"
    ]
    assert ["loaded 3 rows"] == flowtel_telemetry.log_bodies()


def test_partial_writes_are_echoed_as_written_and_logged_as_one_line(capsys):
    """print(..., end="") pieces reach stdout unchanged and become one message at the newline."""

    @flow
    def pieces():
        print("a", end="")
        print("b", end="")
        print("c")

    run = pieces().execute()
    assert "abc\n" == capsys.readouterr().out
    assert ["abc"] == [m for m in run.log_messages() if "a" in m and "Executing" not in m]


def test_a_flow_without_configure_shows_its_prints_in_a_fresh_interpreter():
    """A script with @flow and no configure() shows its prints on the real stdout."""
    script = (
        "from flowtel import flow, task\n"
        "@task()\n"
        "def step():\n"
        "    print('step ran')\n"
        "@flow()\n"
        "def job():\n"
        "    print('job started')\n"
        "    step()\n"
        "job().execute()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=child_environment(),
        timeout=60,
    )
    assert ("job started\nstep ran\n", "") == (done.stdout, done.stderr)
