"""flowtel.prefect's console: run messages on stderr as Prefect's console handler shows them."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from flowtel.prefect import flow, get_run_logger, task
from flowtel.prefect._console import set_console_level

LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} \| (\w+) *\| (Flow run|Task run) '([^']+)' - (.*)$")


def console_lines(stderr: str) -> list[tuple[str, str, str]]:
    """(level, run kind, message) of each Prefect-style console line."""
    found = []
    for line in stderr.splitlines():
        match = LINE.match(line)
        if match:
            level, kind, _name, text = match.groups()
            found.append((level, kind, text))
    return found


@pytest.fixture(autouse=True)
def _console_at_info():
    set_console_level("INFO")
    yield
    set_console_level("INFO")


@task
def shout(word):
    get_run_logger().critical("loud %s", word)
    print(f"printed {word}")
    return word


@flow(log_prints=True)
def speaking_flow(word):
    get_run_logger().info("flow says %s", word)
    get_run_logger().debug("not shown at INFO")
    return shout(word)


def test_log_prints_and_run_logger_reach_stderr_as_prefect_shows_them(capsys):
    """Prints and logger records appear on stderr as 'time | LEVEL | Run 'name' - text'."""
    assert "hi" == speaking_flow("hi")
    captured = capsys.readouterr()
    assert "" == captured.out
    assert [
        ("INFO", "Flow run", "Beginning flow run '{}' for flow 'speaking-flow'"),
        ("INFO", "Flow run", "flow says hi"),
        ("CRITICAL", "Task run", "loud hi"),
        ("INFO", "Task run", "printed hi"),
        ("INFO", "Task run", "Finished in state Completed()"),
        ("INFO", "Flow run", "Finished in state Completed()"),
    ] == [
        (level, kind, re.sub(r"run '[^']+'", "run '{}'", text))
        for level, kind, text in console_lines(captured.err)
    ]


def test_console_messages_stay_run_messages_span_events_and_log_records(flowtel_telemetry, capsys):
    """The shown messages are also OTel log records and span events, with logging's level names."""
    speaking_flow("hey")
    capsys.readouterr()
    assert [("flow says hey", "INFO"), ("loud hey", "CRITICAL"), ("printed hey", "INFO")] == [
        (r.log_record.body, r.log_record.severity_text) for r in flowtel_telemetry.logs
    ]
    events = flowtel_telemetry.span("shout").events
    assert [("loud hey", "CRITICAL"), ("printed hey", "INFO")] == [
        (e.attributes["message"], e.attributes["log.severity"])
        for e in events
        if e.name == "flowtel.message"
    ]


def test_failed_task_shows_error_and_failed_state(capsys):
    """A failing task shows an ERROR line and Prefect's 'Finished in state Failed(...)'."""

    @task
    def breaks():
        raise ValueError("bad input")

    @flow
    def breaking_flow():
        return [breaks(return_state=True)]

    [state] = breaking_flow()
    assert "Task run encountered an exception ValueError: bad input" == state.message
    lines = console_lines(capsys.readouterr().err)
    assert (
        "ERROR",
        "Task run",
        "Finished in state Failed('Task run encountered an exception ValueError: bad input')",
    ) in lines


def test_console_level_threshold_and_off(capsys):
    """set_console_level('WARNING') hides INFO lines; None turns the console off."""
    set_console_level("WARNING")
    speaking_flow("a")
    assert [("CRITICAL", "Task run", "loud a")] == console_lines(capsys.readouterr().err)
    set_console_level(None)
    speaking_flow("b")
    assert "" == capsys.readouterr().err


def test_at_warning_a_task_shows_its_failed_end_but_not_its_completed_end(capsys):
    """At WARNING a failed task's 'Finished in state Failed' line shows, a completed one's not."""

    @task
    def fine():
        return 1

    @task
    def breaks():
        raise ValueError("bad")

    set_console_level("WARNING")
    assert 1 == fine()
    breaks(return_state=True)
    assert [
        (
            "ERROR",
            "Task run",
            "Finished in state Failed('Task run encountered an exception ValueError: bad')",
        )
    ] == [line for line in console_lines(capsys.readouterr().err) if "Finished" in line[2]]


def test_bad_console_level_is_refused():
    """An unknown level name raises ValueError naming it."""
    with pytest.raises(ValueError, match="'LOUD'"):
        set_console_level("LOUD")


def test_task_outside_a_flow_logs_to_the_console(capsys):
    """A task called outside any flow shows its records and its end, under the task's name."""
    assert "x" == shout("x")
    err = capsys.readouterr().err
    assert "| Task run 'shout' - loud x" in err
    lines = console_lines(err)
    assert [
        ("CRITICAL", "Task run", "loud x"),
        ("INFO", "Task run", "Finished in state Completed()"),
    ] == lines


def test_get_run_logger_outside_a_run_raises_missing_context():
    """get_run_logger() with no flow or task run raises MissingContextError, as in Prefect."""
    from flowtel.prefect.exceptions import MissingContextError

    with pytest.raises(MissingContextError, match="no active flow or task run"):
        get_run_logger()


def test_retries_and_failures_are_worded_as_prefect_logs_them(capsys, delays):
    """Retry lines are INFO 'Retry n/N will start ...'; the last failure says retries are exhausted."""

    @task(retries=2, retry_delay_seconds=5)
    def flaky():
        raise ConnectionError("503 down")

    @flow
    def calls_flaky():
        flaky()

    with pytest.raises(ConnectionError):
        calls_flaky()
    lines = console_lines(capsys.readouterr().err)
    assert [
        (
            "INFO",
            "Task run",
            "Task run failed with exception: ConnectionError('503 down') - Retry 1/2 will start 5 second(s) from now",
        ),
        (
            "INFO",
            "Task run",
            "Task run failed with exception: ConnectionError('503 down') - Retry 2/2 will start 5 second(s) from now",
        ),
        (
            "ERROR",
            "Task run",
            "Task run failed with exception: ConnectionError('503 down') - Retries are exhausted",
        ),
        (
            "ERROR",
            "Task run",
            "Finished in state Failed('Task run encountered an exception ConnectionError: 503 down')",
        ),
        (
            "ERROR",
            "Flow run",
            "Encountered exception during execution: ConnectionError('503 down')",
        ),
        (
            "INFO",
            "Flow run",
            "Finished in state Failed('Flow run encountered an exception: ConnectionError: 503 down')",
        ),
    ] == lines[1:]


def test_returned_states_show_their_name_and_message(capsys):
    """A flow returning Completed(name='Skipped') or Failed(message=...) ends in that state, at INFO."""
    from flowtel.prefect.exceptions import FailedRun
    from flowtel.prefect.states import Completed, Failed

    @flow
    def decides(work: bool):
        if work:
            return Failed(message="could not work")
        return Completed(message="No work to do", name="Skipped")

    decides(False)
    with pytest.raises(FailedRun):
        decides(True)
    finished = [line for line in console_lines(capsys.readouterr().err) if "Finished" in line[2]]
    assert [
        ("INFO", "Flow run", "Finished in state Skipped('No work to do', type=COMPLETED)"),
        ("INFO", "Flow run", "Finished in state Failed('could not work')"),
    ] == finished


def test_flow_timeout_is_shown_as_prefect_shows_it(capsys):
    """A flow over its timeout shows 'Flow run exceeded timeout' and ends TimedOut."""
    import time

    @flow(timeout_seconds=0.05)
    def sleepy():
        time.sleep(0.3)

    state = sleepy(return_state=True)
    assert "TimedOut('Flow run exceeded timeout of 0.05 second(s)', type=FAILED)" == str(state)
    assert ("ERROR", "Flow run", "Flow run exceeded timeout of 0.05 second(s)") in console_lines(
        capsys.readouterr().err
    )


def test_hooks_are_shown_and_on_running_and_decorator_hooks_run(capsys):
    """on_running and @task.on_failure hooks run with Prefect's 'Running hook' console lines."""
    calls = []

    def record_start(task_object, task_run, state):
        calls.append(("running", task_object.name, state.name))

    @task(on_running=[record_start])
    def breaks():
        raise ValueError("no")

    @breaks.on_failure
    def record_failure(task_object, task_run, state):
        calls.append(("failure", task_run.task_name, state.name))

    @flow
    def hosts():
        return [breaks(return_state=True)]

    hosts()
    assert [("running", "breaks", "Running"), ("failure", "breaks", "Failed")] == calls
    hook_lines = [line for line in console_lines(capsys.readouterr().err) if "ook" in line[2]]
    assert [
        ("INFO", "Task run", "Running hook 'record_start' in response to entering state 'Running'"),
        ("INFO", "Task run", "Hook 'record_start' finished running successfully"),
        (
            "INFO",
            "Task run",
            "Running hook 'record_failure' in response to entering state 'Failed'",
        ),
        ("INFO", "Task run", "Hook 'record_failure' finished running successfully"),
    ] == hook_lines


def test_a_failing_hook_is_shown_and_recorded_and_the_run_is_unchanged(flowtel_telemetry, capsys):
    """A hook that raises shows Prefect's error line, is a run message, and the flow completes."""

    def broken_hook(flow_object, flow_run, state):
        raise RuntimeError("hook broke")

    @flow(on_completion=[broken_hook])
    def fine():
        return 1

    assert 1 == fine()
    lines = console_lines(capsys.readouterr().err)
    assert (
        "ERROR",
        "Flow run",
        "An error was encountered while running hook 'broken_hook'",
    ) in lines
    assert ["Hook broken_hook raised: RuntimeError: hook broke"] == [
        b for b in flowtel_telemetry.log_bodies() if b.startswith("Hook")
    ]


def test_log_prints_task_outside_a_flow_prints_to_the_console(capsys):
    """A log_prints task called outside any flow shows its prints as its run's console lines."""

    @task(log_prints=True)
    def chatty():
        print("hello from a lone task")

    chatty()
    captured = capsys.readouterr()
    assert "" == captured.out
    assert ("INFO", "Task run", "hello from a lone task") in console_lines(captured.err)


def test_subflow_runs_begin_as_subflow_runs(capsys):
    """A flow called inside a flow shows 'Beginning subflow run', as in Prefect."""

    @flow
    def inner():
        return 1

    @flow
    def outer():
        return inner()

    assert 1 == outer()
    beginnings = [
        text for _, _, text in console_lines(capsys.readouterr().err) if "Beginning" in text
    ]
    assert [
        "Beginning flow run '{}' for flow 'outer'",
        "Beginning subflow run '{}' for flow 'inner'",
    ] == [re.sub(r"run '[^']+'", "run '{}'", text) for text in beginnings]


def test_task_timeout_is_shown_as_prefect_shows_it(capsys):
    """A task over its timeout shows 'Task run exceeded timeout' and ends TimedOut."""
    import asyncio

    @task(timeout_seconds=0.05)
    async def slow():
        await asyncio.sleep(2)

    @flow
    async def waits():
        return [await slow(return_state=True)]

    [state] = asyncio.run(waits())
    assert "TimedOut('Task run exceeded timeout of 0.05 second(s)', type=FAILED)" == str(state)
    assert ("ERROR", "Task run", "Task run exceeded timeout of 0.05 second(s)") in console_lines(
        capsys.readouterr().err
    )


def test_a_print_of_several_lines_is_one_message_as_in_prefect(flowtel_telemetry, capsys):
    """Under log_prints each print() call is one console message and one run message."""

    @flow(log_prints=True)
    def report():
        print("total: 3\nfailed: 0")

    report()
    err = capsys.readouterr().err
    assert re.search(r"\| INFO    \| Flow run 'report-[0-9a-f]+' - total: 3\nfailed: 0\n", err)
    assert ["total: 3\nfailed: 0"] == [
        body for body in flowtel_telemetry.log_bodies() if str(body).startswith("total")
    ]


def test_a_task_outside_a_flow_logs_unprintable_arguments_without_failing(capsys):
    """A record whose argument's __str__ raises is shown with a stand-in; the task completes."""

    class Unprintable:
        def __str__(self):
            raise ValueError("no str")

    @task
    def logs_it():
        get_run_logger().info("value: %s", Unprintable())
        return 1

    assert 1 == logs_it()
    assert "Unprintable: __str__ raised ValueError>" in capsys.readouterr().err


def test_a_task_outside_a_flow_shows_the_traceback_of_logger_exception(capsys):
    """get_run_logger().exception(...) in a task outside any flow shows the message and traceback."""

    @task
    def recovers():
        try:
            raise KeyError("missing")
        except KeyError:
            get_run_logger().exception("lookup failed")
        return 1

    assert 1 == recovers()
    err = capsys.readouterr().err
    assert ("ERROR", "Task run", "lookup failed") in console_lines(err)
    assert "Traceback (most recent call last):" in err
    assert "KeyError: 'missing'" in err


def test_prefect_logging_level_sets_the_console_threshold():
    """PREFECT_LOGGING_LEVEL=WARNING (read at import) hides INFO lines; a bad value is warned of."""
    code = (
        "from flowtel.prefect import flow, get_run_logger\n"
        "@flow\n"
        "def f():\n"
        "    get_run_logger().info('quiet')\n"
        "    get_run_logger().warning('loud')\n"
        "f()\n"
    )
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (0, [("WARNING", "Flow run", "loud")]) == (
        result.returncode,
        console_lines(result.stderr),
    )
    env["PREFECT_LOGGING_LEVEL"] = "WARN1NG"  # a typo: a warning naming it, then INFO
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "PREFECT_LOGGING_LEVEL='WARN1NG' is not a logging level name" in result.stderr
    assert (0, ["quiet", "loud"]) == (
        result.returncode,
        [text for _level, _kind, text in console_lines(result.stderr) if text in ("quiet", "loud")],
    )
