"""Flow_Run__Config: fields, defaults, type checks, and what each switch does to a run."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
from helpers import child_environment, message_text, messages

from flowtel import Flow, Flow_Run__Config, Flow_Run__Event_Type, flow, task

T = Flow_Run__Event_Type

DEFAULTS = {
    "add_task_to_self": True,
    "log_to_console": False,
    "log_to_memory": True,
    "logging_enabled": True,
    "print_logs": False,
    "print_none_return_value": False,
    "print_finished_message": False,
    "raise_flow_error": True,
    "echo_prints": True,
    "split_print_lines": True,
}


@task
def chatty_task(this_task=None):
    this_task.log_info("task says hi")
    print("task prints")
    return "task value"


def chatty_flow(this_flow=None):
    this_flow.log_warning("flow warns")
    print("flow prints")
    return chatty_task()


def run_with(config: Flow_Run__Config, target=chatty_flow) -> Flow:
    return Flow(flow_config=config, flow_name="configured").setup(target).execute()


# -- fields ------------------------------------------------------------------------------------------


def test_fields_and_defaults_are_the_seeds():
    """A default config has the seed's eight fields with the seed's defaults, plus flowtel's."""
    assert DEFAULTS == vars(Flow_Run__Config())


def test_every_field_can_be_set_in_the_constructor():
    """Each field accepts the opposite of its default by keyword."""
    flipped = {name: not value for name, value in DEFAULTS.items()}
    assert flipped == vars(Flow_Run__Config(**flipped))


@pytest.mark.parametrize("field_name", sorted(DEFAULTS))
@pytest.mark.parametrize("bad_value", ["yes", 1, None, 0.0])
def test_wrong_type_in_constructor_raises_naming_the_field(field_name, bad_value):
    """A non-bool value for a field raises TypeError naming that field."""
    with pytest.raises(TypeError) as raised:
        Flow_Run__Config(**{field_name: bad_value})
    assert field_name in str(raised.value)


@pytest.mark.parametrize("field_name", sorted(DEFAULTS))
def test_wrong_type_on_assignment_raises_naming_the_field(field_name):
    """Assigning a non-bool to a field raises TypeError naming it and leaves the old value."""
    config = Flow_Run__Config()
    with pytest.raises(TypeError) as raised:
        setattr(config, field_name, "true")
    assert field_name in str(raised.value)
    assert DEFAULTS[field_name] is getattr(config, field_name)


def test_subclass_setting_a_wrong_type_in_init_raises():
    """A subclass (the seed's CustomFlowConfig pattern) is type checked too."""

    class BadConfig(Flow_Run__Config):
        def __init__(self):
            super().__init__()
            self.print_logs = "please"

    with pytest.raises(TypeError) as raised:
        BadConfig()
    assert "print_logs" in str(raised.value)


def test_subclass_setting_fields_in_init_is_used_by_runs(capsys):
    """The seed's CustomFlowConfig pattern (fields set after super().__init__()) takes effect."""

    class ConsoleConfig(Flow_Run__Config):
        def __init__(self):
            super().__init__()
            self.log_to_console = True

    run_with(ConsoleConfig())
    assert "flow warns" in capsys.readouterr().out


# -- each switch -------------------------------------------------------------------------------------


def test_add_task_to_self_true_records_every_call():
    """add_task_to_self=True (default) keeps each task call in executed_tasks."""
    run = run_with(Flow_Run__Config())
    assert ["chatty_task"] == [t.task_name for t in run.executed_tasks]


def test_add_task_to_self_false_records_no_calls_but_runs_them():
    """add_task_to_self=False runs tasks but keeps none on the Flow (and no task durations)."""
    run = run_with(Flow_Run__Config(add_task_to_self=False))
    assert "task value" == run.flow_return_value
    assert [] == run.executed_tasks
    assert {} == run.durations()["flow_tasks"]


def test_log_to_console_false_prints_no_log_lines(capsys):
    """By default a run writes no log lines to stdout: only its own prints, as written."""
    run_with(Flow_Run__Config())
    assert "flow prints\ntask prints\n" == capsys.readouterr().out


def test_echo_prints_false_keeps_prints_off_stdout_but_in_the_run(capsys):
    """echo_prints=False silences a run's prints on stdout; they are still its messages."""
    run = run_with(Flow_Run__Config(echo_prints=False))
    assert "" == capsys.readouterr().out
    assert ["flow prints", "task prints"] == [m for m in run.log_messages() if "prints" in m]


def printing_flow(this_flow=None):
    print("first\nsecond")
    print("a", "b", end="")
    print(" c")
    print()
    sys.stdout.write("written\nat once\n")
    print("no end", end="")


@pytest.mark.parametrize(
    "split, expected",
    [
        (True, ["first", "second", "a b c", "written", "at once", "no end"]),
        (False, ["first\nsecond", "a b c", "written\nat once", "no end"]),
    ],
)
def test_split_print_lines_chooses_a_message_per_line_or_per_print_call(split, expected):
    """split_print_lines=True makes each printed line a message; False each print() call."""
    run = run_with(Flow_Run__Config(split_print_lines=split, echo_prints=False), printing_flow)
    assert expected == run.log_messages()[1:]  # after "Executing flow run ..."


def test_log_to_console_writes_each_message_to_the_real_stdout(capsys):
    """log_to_console=True writes every message, as it happens, to the real stdout (not back into the run)."""
    seen_during_run = []

    def flow_fn(this_flow=None):
        this_flow.log_info("first message")
        seen_during_run.append(capsys.readouterr().out)
        return chatty_flow(this_flow)

    run = run_with(Flow_Run__Config(log_to_console=True), flow_fn)
    out = seen_during_run[0] + capsys.readouterr().out
    assert "first message" in seen_during_run[0]
    for text in ("first message", "flow warns", "flow prints", "task says hi", "task prints"):
        assert 1 == out.count(text), text
        assert 1 == run.log_messages().count(text), text
    assert [] == [m for m in run.log_messages() if "configured" in m]


def test_print_logs_prints_the_log_after_the_run(capsys):
    """print_logs=True prints the run's messages to stdout once the run has finished."""
    during = []

    def flow_fn(this_flow=None):
        this_flow.log_info("logged early")
        during.append(capsys.readouterr().out)
        return "done"

    run = run_with(Flow_Run__Config(print_logs=True), flow_fn)
    out = capsys.readouterr().out
    assert [""] == during
    assert "logged early" in out
    for message in run.log_messages():
        assert message in out


def test_print_logs_prints_the_log_of_a_failed_run(capsys):
    """print_logs=True prints the log even when the run fails."""

    def flow_fn(this_flow=None):
        this_flow.log_info("before failure")
        raise RuntimeError("kaput")

    with pytest.raises(RuntimeError):
        run_with(Flow_Run__Config(print_logs=True), flow_fn)
    out = capsys.readouterr().out
    assert "before failure" in out
    assert "kaput" in out


def test_print_none_return_value(events):
    """print_none_return_value=True reports a None return value; the default says nothing about it."""

    def returns_none():
        return None

    quiet = run_with(Flow_Run__Config(), returns_none)
    loud = run_with(Flow_Run__Config(print_none_return_value=True), returns_none)
    assert [] == [m for m in quiet.log_messages() if "None" in m]
    assert 1 == len([m for m in loud.log_messages() if "return value" in m and "None" in m])


def test_non_none_return_value_is_logged_without_print_none_return_value():
    """A non-None return value is logged whatever print_none_return_value says."""

    def returns_value():
        return "the-value"

    run = run_with(Flow_Run__Config(), returns_value)
    assert 1 == len([m for m in run.log_messages() if "the-value" in m])


def test_print_finished_message():
    """print_finished_message=True adds a final 'finished' message naming the run; default does not."""
    plain = run_with(Flow_Run__Config())
    marked = run_with(Flow_Run__Config(print_finished_message=True))
    assert [] == [m for m in plain.log_messages() if "finished" in m.lower()]
    assert len(plain.log_messages()) + 1 == len(marked.log_messages())
    assert "finished" in marked.log_messages()[-1].lower()
    assert marked.flow_id in marked.log_messages()[-1]


def test_logging_enabled_false_switches_every_message_off(events, capsys):
    """logging_enabled=False: no memory log, no message events, no log lines; prints still show."""
    config = Flow_Run__Config(logging_enabled=False, log_to_console=True, print_logs=True)
    run = run_with(config)
    assert "task value" == run.flow_return_value
    assert [] == run.log_messages()
    assert [] == messages(events)
    assert [T.FLOW_START, T.TASK_START, T.TASK_STOP, T.FLOW_STOP] == [
        e.event_type for e in events if e.event_type is not T.NEW_RESULT
    ]
    assert "flow prints\ntask prints\n" == capsys.readouterr().out


def test_log_to_memory_false_keeps_no_log_but_still_raises_message_events(events):
    """log_to_memory=False: log_messages() is empty; FLOW_MESSAGE events still carry every message."""
    run = run_with(Flow_Run__Config(log_to_memory=False))
    assert [] == run.log_messages()
    texts = [message_text(e) for e in messages(events)]
    for text in ("flow warns", "flow prints", "task says hi", "task prints"):
        assert text in texts


def test_log_to_memory_false_still_logs_to_console(capsys):
    """log_to_memory=False with log_to_console=True still shows messages on stdout."""
    run_with(Flow_Run__Config(log_to_memory=False, log_to_console=True))
    assert "task says hi" in capsys.readouterr().out


def test_raise_flow_error_true_raises_and_false_returns():
    """raise_flow_error decides whether execute() raises the flow's error or returns the Flow."""
    error = ValueError("decided by config")

    def failing():
        raise error

    with pytest.raises(ValueError) as raised:
        run_with(Flow_Run__Config(raise_flow_error=True), failing)
    assert error is raised.value
    run = run_with(Flow_Run__Config(raise_flow_error=False), failing)
    assert (error, "failed") == (run.flow_error, run.flow_status)


# -- runs never change a config ----------------------------------------------------------------------


def test_runs_do_not_mutate_a_decorator_config():
    """A config given to @flow has the same values after successful, failing and async runs."""
    config = Flow_Run__Config(raise_flow_error=False, print_finished_message=True)
    before = copy.deepcopy(vars(config))

    @flow(flow_config=config)
    def sync_flow(fail):
        if fail:
            raise RuntimeError("fail")
        return chatty_task()

    @flow(flow_config=config)
    async def async_flow():
        return chatty_task()

    for fail in (False, True, False):
        run = sync_flow(fail).execute()
        assert run.flow_config == config
    async_flow().execute()
    assert before == vars(config)


@pytest.mark.filterwarnings("ignore:flow 'plain' was never run:RuntimeWarning")
def test_default_config_is_not_shared_mutable_state():
    """Flows without a config each get defaults; changing one Flow's config does not touch another's."""

    @flow
    def plain():
        return 1

    first, second = plain(), plain()
    first.flow_config.print_logs = True
    assert DEFAULTS == vars(second.flow_config)
    assert DEFAULTS == vars(Flow_Run__Config())
    assert (Flow_Run__Config, Flow_Run__Config()) == (type(second.flow_config), second.flow_config)
    with pytest.raises(TypeError, match="print_logs must be a bool"):
        second.flow_config.print_logs = "yes"


def test_log_to_console_on_a_console_without_the_characters_escapes_them():
    """log_to_console on an ascii console escapes what it cannot show; the run completes."""
    script = (
        "from flowtel import Flow_Run__Config, flow\n"
        "@flow(flow_config=Flow_Run__Config(log_to_console=True))\n"
        "def tick(this_flow):\n"
        "    this_flow.log_info('done \\u2714')\n"
        "    return 'ok'\n"
        "print(tick().execute().flow_return_value)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        env=child_environment({"PYTHONIOENCODING": "ascii"}),
        timeout=60,
    )
    assert (b"", b"INFO    tick: done \\u2714\nok\n") == (
        done.stderr,
        b"".join(line + b"\n" for line in done.stdout.splitlines() if b"DEBUG" not in line),
    )


def test_print_finished_message_prints_nothing_by_itself(capsys):
    """print_finished_message=True only adds a log message; stdout shows just the run's prints."""
    run = run_with(Flow_Run__Config(print_finished_message=True))
    assert "flow prints\ntask prints\n" == capsys.readouterr().out
    assert f"Finished flow run '{run.flow_id}'" == run.log_messages()[-1]


def test_print_none_return_value_logs_a_tasks_none_return_value():
    """print_none_return_value=True logs 'Task return value: None' for a task returning None."""

    @task
    def returns_nothing():
        return None

    def runs_task():
        returns_nothing()

    quiet = run_with(Flow_Run__Config(), runs_task)
    loud = run_with(Flow_Run__Config(print_none_return_value=True), runs_task)
    assert [] == [m for m in quiet.log_messages() if m.startswith("Task return value")]
    assert ["Task return value: None"] == [
        m for m in loud.log_messages() if m.startswith("Task return value")
    ]
