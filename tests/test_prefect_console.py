"""flowtel.prefect's console: run messages on stderr as Prefect's console handler shows them."""

from __future__ import annotations

import re

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


def test_bad_console_level_is_refused():
    """An unknown level name raises ValueError naming it."""
    with pytest.raises(ValueError, match="'LOUD'"):
        set_console_level("LOUD")


def test_task_outside_a_flow_logs_to_the_console(capsys):
    """A task called outside any flow still shows its logger records and its end."""
    assert "x" == shout("x")
    lines = console_lines(capsys.readouterr().err)
    assert [
        ("CRITICAL", "Task run", "loud x"),
        ("INFO", "Task run", "Finished in state Completed()"),
    ] == lines


def test_get_run_logger_outside_a_run_raises_missing_context():
    """get_run_logger() with no flow or task run raises MissingContextError, as in Prefect."""
    from flowtel.prefect.exceptions import MissingContextError

    with pytest.raises(MissingContextError, match="no active flow or task run"):
        get_run_logger()
