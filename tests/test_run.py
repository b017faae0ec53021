"""What flows and tasks share: run ids, log verbs, the per-run log, message text."""

from __future__ import annotations

import asyncio
import logging
import re

from helpers import running_in_threads, task_logging_flow

from flowtel import Flow, flow, task
from flowtel._run import error_text, new_run_id, plain_text


def test_run_ids_are_unique_hex_strings():
    """new_run_id() gives distinct 16-hex-digit strings."""
    ids = [new_run_id() for _ in range(10_000)]
    assert 10_000 == len(set(ids))
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)


def test_flow_and_task_ids_are_unique_across_runs():
    """flow_id and task_id values never repeat across many runs."""

    @task
    def step():
        pass

    @flow
    def runs():
        step()
        step()

    flows = [runs().execute() for _ in range(200)]
    flow_ids = [f.flow_id for f in flows]
    task_ids = [t.task_id for f in flows for t in f.executed_tasks]
    assert 200 == len(set(flow_ids))
    assert 400 == len(set(task_ids))
    assert set() == set(flow_ids) & set(task_ids)


def test_plain_text_strips_ansi_codes():
    """plain_text removes colour escape sequences and leaves other text alone."""
    assert "red and bold" == plain_text("\x1b[31mred\x1b[0m and \x1b[1mbold\x1b[0m")
    assert "no codes [31m" == plain_text("no codes [31m")


def test_error_text_is_type_and_message():
    """error_text gives 'Type: message', or just the type for an empty message."""
    assert "ValueError: bad" == error_text(ValueError("bad"))
    assert "KeyboardInterrupt" == error_text(KeyboardInterrupt())


def test_flow_log_verbs_keep_messages_in_order_with_levels():
    """log_debug/info/warning/error on a Flow keep plain-text messages in order with their levels."""

    @flow
    def logging_flow(this_flow=None):
        this_flow.log_debug("d")
        this_flow.log_info("i")
        this_flow.log_warning("w")
        this_flow.log_error("e")

    run = logging_flow().execute()
    mine = [(e.level, e.text) for e in run.log_entries() if e.text in ("d", "i", "w", "e")]
    assert [
        (logging.DEBUG, "d"),
        (logging.INFO, "i"),
        (logging.WARNING, "w"),
        (logging.ERROR, "e"),
    ] == mine
    assert ["d", "i", "w", "e"] == [m for m in run.log_messages() if m in ("d", "i", "w", "e")]


def test_task_log_verbs_go_to_the_flow_log_with_the_task_name():
    """log_* on a Task land in its flow's log, marked with the task name."""

    run = task_logging_flow().execute()
    mine = [(e.task_name, e.level, e.text) for e in run.log_entries() if e.text.startswith("t")]
    assert [
        ("logging_task", logging.DEBUG, "td"),
        ("logging_task", logging.INFO, "ti"),
        ("logging_task", logging.WARNING, "tw"),
        ("logging_task", logging.ERROR, "te"),
    ] == mine


def test_log_messages_are_plain_strings():
    """log_messages() returns a list of str, with non-str messages converted and '%' kept literally."""

    @flow
    def odd_messages(this_flow=None):
        this_flow.log_info({"a": 1})
        this_flow.log_info(42)
        this_flow.log_info("100% done, %s stays, %d too")

    messages = odd_messages().execute().log_messages()
    assert all(type(m) is str for m in messages)
    for expected in ("{'a': 1}", "42", "100% done, %s stays, %d too"):
        assert expected in messages


def test_log_includes_engine_messages_for_the_run_and_tasks():
    """A run's log also says it started, which tasks ran and what they returned."""

    @task
    def answer():
        return 42

    @flow
    def small():
        return answer()

    run = small().execute()
    log = "\n".join(run.log_messages())
    assert run.flow_id in log
    assert "answer" in log
    assert "42" in log


def test_failed_task_and_flow_are_logged_as_errors():
    """A failing task and a failing flow leave ERROR messages with the error text."""

    @task(raise_on_error=False)
    def broken():
        raise ValueError("task went wrong")

    @flow
    def failing():
        broken()
        raise RuntimeError("flow went wrong")

    run = failing()
    try:
        run.execute()
    except RuntimeError:
        pass
    errors = [e.text for e in run.log_entries() if e.level == logging.ERROR]
    assert any("task went wrong" in text for text in errors)
    assert any("flow went wrong" in text for text in errors)


def test_nested_flow_logs_never_mix():
    """An inner flow's messages stay in the inner run's log, the outer's in the outer's."""

    @task
    def note(text, this_task=None):
        this_task.log_info(text)

    @flow
    def inner_flow(this_flow=None):
        this_flow.log_info("inner-flow-msg")
        note("inner-task-msg")

    @flow
    def outer_flow(this_flow=None):
        this_flow.log_info("outer-before")
        inner = inner_flow().execute()
        note("outer-task-msg")
        this_flow.log_info("outer-after")
        return inner

    run = outer_flow().execute()
    inner = run.flow_return_value
    ours = {"outer-before", "outer-after", "outer-task-msg"}
    theirs = {"inner-flow-msg", "inner-task-msg"}
    assert ours <= set(run.log_messages())
    assert set() == theirs & set(run.log_messages())
    assert theirs <= set(inner.log_messages())
    assert set() == ours & set(inner.log_messages())


def test_concurrent_flow_logs_never_mix():
    """Flows logging at the same time in threads and on a loop keep only their own messages."""

    @task
    def note(marker, i, this_task=None):
        this_task.log_info(f"{marker}-task-{i}")

    @flow
    def threaded(marker, this_flow=None):
        for i in range(30):
            this_flow.log_info(f"{marker}-flow-{i}")
            note(marker, i)

    @flow
    async def looped(marker, this_flow=None):
        for i in range(10):
            this_flow.log_info(f"{marker}-flow-{i}")
            await asyncio.sleep(0)
            note(marker, i)

    async def loop_flows():
        return await asyncio.gather(*(looped(f"L{n}").execute_async() for n in range(20)))

    with running_in_threads(threaded, [f"T{n}" for n in range(4)]) as thread_runs:
        loop_runs = {f"L{n}": run for n, run in enumerate(asyncio.run(loop_flows()))}
    for marker, run in {**thread_runs, **loop_runs}.items():
        count = 30 if marker.startswith("T") else 10
        user = [m for m in run.log_messages() if "-flow-" in m or "-task-" in m]
        expected = []
        for i in range(count):
            expected += [f"{marker}-flow-{i}", f"{marker}-task-{i}"]
        assert expected == user


def test_log_entries_have_timestamps_in_order():
    """log_entries() carry non-decreasing epoch timestamps."""

    @flow
    def timed(this_flow=None):
        for i in range(5):
            this_flow.log_info(str(i))

    entries = timed().execute().log_entries()
    stamps = [e.timestamp for e in entries]
    assert sorted(stamps) == stamps
    assert stamps[0] > 1_600_000_000


def test_log_of_a_flow_not_run_is_empty():
    """A Flow that never ran has an empty log."""
    assert [] == Flow(flow_name="idle").log_messages()


def test_messages_logged_from_many_threads_into_one_run_stay_whole():
    """Tasks of one run logging from worker threads at once: every entry keeps its own level,
    text and task name, and none is lost."""

    @task
    def chatter(worker, this_task=None):
        for i in range(300):
            if i % 2:
                this_task.log_warning(f"{worker} says {i}")
            else:
                this_task.log_info(f"{worker} says {i}")

    @flow
    def crowd():
        futures = [chatter.submit(f"w{n}") for n in range(6)]
        for future in futures:
            future.result()

    run = crowd().execute()
    said = [entry for entry in run.log_entries() if " says " in entry.text]
    assert 6 * 300 == len(said)
    assert [] == [
        entry
        for entry in said
        if entry.task_name != "chatter"
        or entry.level != (logging.WARNING if int(entry.text.split()[-1]) % 2 else logging.INFO)
    ]
    for n in range(6):
        assert [f"w{n} says {i}" for i in range(300)] == [
            entry.text for entry in said if entry.text.startswith(f"w{n} ")
        ]
