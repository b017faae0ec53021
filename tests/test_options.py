"""Decorator options with Prefect's names on @flow and @task, and their validation."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from helpers import Blocker, Flaky, assert_times_out_promptly

from flowtel import Flow_Run__Config, State, ThreadPoolTaskRunner, flow, task

# -- name, description, tags, version -------------------------------------------------


def test_name_names_the_flow_and_task_spans(flowtel_telemetry):
    """name= sets the flow and task names, used for their spans and run records."""

    @task(name="load-rows")
    def load():
        return 1

    @flow(name="nightly-etl")
    def etl():
        return load()

    run = etl().execute()
    assert "nightly-etl" == run.flow_name
    assert ["load-rows"] == [t.task_name for t in run.executed_tasks]
    assert ["load-rows", "nightly-etl"] == sorted(s.name for s in flowtel_telemetry.spans)
    assert "nightly-etl" == etl.name
    assert "load-rows" == load.name


def test_description_tags_and_version_become_span_attributes(flowtel_telemetry):
    """description, tags and version are recorded as flowtel.* attributes of the run's span."""

    @task(description="Loads the rows", tags=["db", "io"])
    def load():
        return 1

    @flow(description="The nightly import", tags=("etl", "nightly"), version="2.1.0")
    def etl():
        load()

    etl().execute()
    flow_span = flowtel_telemetry.span("etl")
    task_span = flowtel_telemetry.span("load")
    assert "The nightly import" == flow_span.attributes["flowtel.description"]
    assert ("etl", "nightly") == tuple(flow_span.attributes["flowtel.tags"])
    assert "2.1.0" == flow_span.attributes["flowtel.flow.version"]
    assert "Loads the rows" == task_span.attributes["flowtel.description"]
    assert ("db", "io") == tuple(task_span.attributes["flowtel.tags"])
    assert "flowtel.flow.version" not in task_span.attributes


def test_tags_given_as_a_set_are_recorded_sorted(flowtel_telemetry):
    """A set of tags is accepted and recorded in a stable (sorted) order."""

    @flow(tags={"b", "c", "a"})
    def tagged():
        return None

    tagged().execute()
    assert ("a", "b", "c") == tuple(flowtel_telemetry.span("tagged").attributes["flowtel.tags"])


# -- retries, retry_delay_seconds, retry_jitter_factor ---------------------------------


def test_retries_runs_a_task_again_until_it_succeeds(delays):
    """retries=N gives a failing task up to N more attempts; the call returns the last value."""
    body = Flaky(2, "done")
    wrapped = task(retries=2)(body.step)

    @flow()
    def f():
        return wrapped()

    run = f().execute()
    assert "done" == run.flow_return_value
    assert 3 == body.calls
    assert 3 == run.executed_tasks[0].attempts
    assert [] == delays


def test_retry_delay_seconds_number_waits_the_same_before_every_retry(delays):
    """retry_delay_seconds=5 waits 5 s before each retry (fake clock)."""
    wrapped = task(retries=3, retry_delay_seconds=5)(Flaky(3).step)

    @flow()
    def f():
        return wrapped()

    assert "ok" == f().execute().flow_return_value
    assert [5.0, 5.0, 5.0] == delays


def test_retry_delay_seconds_list_gives_one_delay_per_retry(delays):
    """retry_delay_seconds=[1, 10, 100] waits 1, 10 then 100 s before the 1st, 2nd, 3rd retry."""
    wrapped = task(retries=3, retry_delay_seconds=[1, 10, 100])(Flaky(3).step)

    @flow()
    def f():
        return wrapped()

    assert "ok" == f().execute().flow_return_value
    assert [1.0, 10.0, 100.0] == delays


def test_retry_jitter_factor_keeps_delays_within_prefects_bound(delays):
    """With retry_jitter_factor=f, each delay d varies, staying in (0, d * (1 + f)]."""
    wrapped = task(retries=30, retry_delay_seconds=10, retry_jitter_factor=0.5)(Flaky(30).step)

    @flow()
    def f():
        return wrapped()

    f().execute()
    assert 30 == len(delays)
    assert [] == [d for d in delays if not 0 < d <= 15.0]
    assert 1 < len(set(delays))


def test_flow_retries_and_delays(delays):
    """A flow with retries and retry_delay_seconds reruns its body after the delays."""
    body = Flaky(2, "flow-ok")

    @flow(retries=2, retry_delay_seconds=[3, 7])
    def f():
        return body.step()

    run = f().execute()
    assert "flow-ok" == run.flow_return_value
    assert 3 == run.attempts
    assert [3.0, 7.0] == delays


# -- timeout_seconds -------------------------------------------------------------------


def test_timeout_seconds_makes_a_slow_task_raise_timeout_error():
    """timeout_seconds on a task: a call over the limit raises TimeoutError naming the task."""
    work = Blocker()

    @task(timeout_seconds=0.2)
    def slow():
        work.wait()

    @flow()
    def f():
        slow()

    assert_times_out_promptly(f(), r"task 'slow' timed out after 0.2 s", work)


# -- log_prints ------------------------------------------------------------------------


def test_task_log_prints_false_leaves_prints_on_stdout(capsys):
    """@task(log_prints=False): the task's prints go to stdout, not to the flow's messages."""

    @task(log_prints=False)
    def quiet():
        print("to the terminal")

    @task()
    def chatty():
        print("to the flow log")

    @flow(flow_config=Flow_Run__Config(echo_prints=False))
    def f():
        quiet()
        chatty()

    run = f().execute()
    assert "to the terminal\n" == capsys.readouterr().out
    assert ["to the flow log"] == [m for m in run.log_messages() if m.startswith("to the")]


def test_task_log_prints_true_captures_prints_into_the_run(capsys):
    """@task(log_prints=True): the task's prints become messages of its run."""

    @task(log_prints=True)
    def chatty():
        print("captured line")

    @flow()
    def f():
        chatty()

    run = f().execute()
    assert "captured line\n" == capsys.readouterr().out  # captured prints are echoed too
    entries = [e for e in run.log_entries() if e.text == "captured line"]
    assert ["chatty"] == [e.task_name for e in entries]


def test_flow_log_prints_false_leaves_the_flow_bodys_prints_on_stdout(capsys):
    """@flow(log_prints=False): prints in the flow body go to stdout, not to its messages."""

    @flow(log_prints=False)
    def f():
        print("flow body print")

    run = f().execute()
    assert "flow body print\n" == capsys.readouterr().out
    assert [] == [m for m in run.log_messages() if "print" in m]


def test_flow_log_prints_false_is_inherited_by_its_tasks(capsys):
    """@flow(log_prints=False): a task without its own log_prints inherits it (as in Prefect)."""

    @task()
    def inner():
        print("task print")

    @flow(log_prints=False)
    def f():
        inner()

    run = f().execute()
    assert "task print\n" == capsys.readouterr().out
    assert [] == [m for m in run.log_messages() if "print" in m]


def test_flow_log_prints_true_captures_flow_and_task_prints(capsys):
    """@flow(log_prints=True): flow-body and task prints become the run's messages."""

    @task()
    def inner():
        print("task print")

    @flow(log_prints=True)
    def f():
        print("flow print")
        inner()

    run = f().execute()
    assert "flow print\ntask print\n" == capsys.readouterr().out  # captured prints are echoed too
    assert ["flow print", "task print"] == [m for m in run.log_messages() if "print" in m]


# -- on_failure / on_completion --------------------------------------------------------


def test_on_completion_hook_gets_the_task_its_run_and_a_completed_state():
    """on_completion is called with (task, task run, state) after a successful call."""
    calls = []

    @task(on_completion=lambda fn, run, state: calls.append((fn, run, state)))
    def double(x):
        return 2 * x

    @flow()
    def f():
        return double(21)

    run = f().execute()
    assert 1 == len(calls)
    fn, task_run, state = calls[0]
    assert double is fn
    assert run.executed_tasks[0] is task_run
    assert State is type(state)
    assert (True, 42) == (state.is_completed(), state.result())


def test_on_failure_hook_gets_the_flow_its_run_and_a_failed_state():
    """on_failure is called with (flow, flow run, state) when the flow body raises."""
    calls = []
    error = KeyError("missing")

    def record(fn, run, state):
        calls.append((fn, run, state))

    @flow(on_failure=[record])
    def f():
        raise error

    run = f()
    with pytest.raises(KeyError):
        run.execute()
    assert [(f, run)] == [(c[0], c[1]) for c in calls]
    state = calls[0][2]
    assert (True, "Failed") == (state.is_failed(), state.name)
    assert error is state.result(raise_on_failure=False)


def test_hooks_for_the_other_outcome_are_not_called():
    """on_failure is not called on success, on_completion is not called on failure."""
    calls = []

    @task(
        on_failure=lambda *a: calls.append("failure"),
        on_completion=lambda *a: calls.append("completion"),
        raise_on_error=False,
    )
    def maybe(fail):
        if fail:
            raise ValueError("no")
        return "yes"

    @flow()
    def f():
        maybe(False)
        maybe(True)

    f().execute()
    assert ["completion", "failure"] == calls


# -- flow_run_name / task_run_name -----------------------------------------------------


def test_task_run_name_template_is_filled_from_the_calls_arguments(flowtel_telemetry):
    """task_run_name templates take positional, keyword and default arguments of each call."""

    @task(task_run_name="load-{table}-{day:%Y-%m-%d}-{mode}")
    def load(table, day, mode="full"):
        return table

    @flow()
    def f():
        load("orders", datetime.date(2024, 5, 17))
        load(day=datetime.date(2024, 5, 18), table="users", mode="delta")

    run = f().execute()
    expected = ["load-orders-2024-05-17-full", "load-users-2024-05-18-delta"]
    assert expected == [t.task_run_name for t in run.executed_tasks]
    spans = sorted(flowtel_telemetry.spans_named("load"), key=lambda s: s.start_time)
    assert expected == [s.attributes["flowtel.task.run_name"] for s in spans]


def test_flow_run_name_template_is_filled_from_the_calls_arguments(flowtel_telemetry):
    """flow_run_name templates are filled per run and recorded in flowtel.flow.run_name."""

    @flow(flow_run_name="import-{source}-{limit}")
    def imports(source, limit=10):
        return source

    first = imports("s3").execute()
    second = imports("ftp", limit=5).execute()
    assert ["import-s3-10", "import-ftp-5"] == [first.flow_run_name, second.flow_run_name]
    spans = sorted(flowtel_telemetry.spans_named("imports"), key=lambda s: s.start_time)
    assert ["import-s3-10", "import-ftp-5"] == [
        s.attributes["flowtel.flow.run_name"] for s in spans
    ]


def test_run_name_can_be_a_callable():
    """A callable run name (as in Prefect) is called for each run."""

    @task(task_run_name=lambda: "generated-task-name")
    def t():
        return 1

    @flow(flow_run_name=lambda: "generated-flow-name")
    def f():
        t()

    run = f().execute()
    assert "generated-flow-name" == run.flow_run_name
    assert "generated-task-name" == run.executed_tasks[0].task_run_name


def test_run_name_template_naming_an_unknown_argument_fails_the_call_clearly():
    """A template that uses a name the call does not have raises ValueError naming both."""

    @task(task_run_name="load-{tabel}")
    def load(table):
        return table

    @flow()
    def f():
        load("orders")

    with pytest.raises(ValueError, match=r"'load-\{tabel\}'.*\['table'\]"):
        f().execute()


# -- task_runner -----------------------------------------------------------------------


def test_task_runner_sets_the_flows_worker_count():
    """@flow(task_runner=ThreadPoolTaskRunner(max_workers=2)) runs submitted tasks on 2 threads."""
    threads = set()

    @task()
    def where(item):
        threads.add(threading.current_thread().name)
        time.sleep(0.01)

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
    def f():
        for future in where.map(range(10)):
            future.result()

    f().execute()
    assert 2 == len(threads)


# -- the seed's names beside Prefect's -------------------------------------------------


def test_seed_task_name_and_raise_on_error_work_beside_prefect_options(delays):
    """task_name and raise_on_error combine with retries: a tolerated failure after retries."""

    @task(task_name="fragile-step", raise_on_error=False, retries=1, retry_delay_seconds=2)
    def step():
        raise RuntimeError("still broken")

    @flow()
    def f():
        return step()

    run = f().execute()
    assert ("completed", None) == (run.flow_status, run.flow_return_value)
    assert [("fragile-step", "failed", 2)] == [
        (t.task_name, t.status, t.attempts) for t in run.executed_tasks
    ]
    assert [2.0] == delays


def test_seed_flow_name_and_flow_config_work_beside_prefect_options(delays):
    """flow_name and flow_config(raise_flow_error=False) combine with retries and hooks."""
    failures = []

    @flow(
        flow_name="seed-named",
        flow_config=Flow_Run__Config(raise_flow_error=False),
        retries=1,
        on_failure=lambda fn, run, state: failures.append(state.name),
    )
    def f():
        raise RuntimeError("down")

    run = f().execute()
    assert ("seed-named", "failed", 2) == (run.flow_name, run.flow_status, run.attempts)
    assert ["Failed"] == failures
    assert [] == delays


def test_seed_name_and_prefect_name_may_agree():
    """task_name and name may both be given when they are the same."""

    @task(task_name="same", name="same")
    def t():
        return 1

    assert "same" == t.name


@pytest.mark.parametrize(
    ("decorator", "options"),
    [(task, {"task_name": "a", "name": "b"}), (flow, {"flow_name": "a", "name": "b"})],
)
def test_seed_name_and_prefect_name_that_disagree_are_rejected(decorator, options):
    """Two different names (seed keyword and name=) raise TypeError naming both."""
    with pytest.raises(TypeError, match=r"'a'.*'b'"):

        @decorator(**options)
        def fn():
            return None


# -- bad input at decoration time ------------------------------------------------------


BAD_COMMON_OPTIONS = [
    ({"retries": -1}, ValueError, r"retries=.*got -1"),
    ({"retries": 1.5}, ValueError, r"retries=.*got 1\.5"),
    ({"retries": True}, ValueError, r"retries=.*got True"),
    ({"timeout_seconds": -3}, ValueError, r"timeout_seconds=.*got -3"),
    ({"timeout_seconds": 0}, ValueError, r"timeout_seconds=.*got 0"),
    ({"timeout_seconds": "10"}, ValueError, r"timeout_seconds=.*got '10'"),
    (
        {"retries": 3, "retry_delay_seconds": [1, 2]},
        ValueError,
        r"has 2 delays for retries=3",
    ),
    (
        {"retries": 1, "retry_delay_seconds": [1, 2, 3]},
        ValueError,
        r"has 3 delays for retries=1",
    ),
    ({"retries": 1, "retry_delay_seconds": -5}, ValueError, r"retry_delay_seconds=.*got -5"),
    ({"retries": 2, "retry_delay_seconds": [1, -2]}, ValueError, r"got -2"),
    ({"retries": 1, "retry_delay_seconds": "5"}, TypeError, r"retry_delay_seconds=.*got '5'"),
    ({"retry_jitter_factor": -0.5}, ValueError, r"retry_jitter_factor=.*got -0\.5"),
    ({"on_failure": "notify_team"}, TypeError, r"on_failure=.*'notify_team'"),
    ({"on_completion": [print, 42]}, TypeError, r"on_completion=.*int 42"),
    ({"tags": "etl"}, TypeError, r"tags=.*got 'etl'"),
    ({"tags": ["etl", 7]}, TypeError, r"tags=.*got 7"),
    ({"log_prints": "yes"}, TypeError, r"log_prints=.*got 'yes'"),
    ({"description": 12}, TypeError, r"description=.*12"),
    ({"retires": 3}, TypeError, r"unknown keyword.*'retires'"),
]


@pytest.mark.parametrize(("options", "error", "message"), BAD_COMMON_OPTIONS)
@pytest.mark.parametrize("decorator", [task, flow], ids=["task", "flow"])
def test_bad_option_fails_at_decoration_with_a_message_naming_the_value(
    decorator, options, error, message
):
    """Bad decorator input raises at decoration time, naming the keyword and the bad value."""
    calls = []
    with pytest.raises(error, match=message):

        @decorator(**options)
        def fn():
            calls.append(1)

    assert [] == calls


@pytest.mark.parametrize(
    ("decorator", "options", "message"),
    [
        (task, {"version": "1"}, r"unknown keyword.*'version'"),
        (task, {"flow_run_name": "x"}, r"unknown keyword.*'flow_run_name'"),
        (task, {"task_runner": ThreadPoolTaskRunner()}, r"unknown keyword.*'task_runner'"),
        (flow, {"task_run_name": "x"}, r"unknown keyword.*'task_run_name'"),
        (flow, {"version": 2}, r"version=.*got int 2"),
        (flow, {"task_runner": "threads"}, r"task_runner=.*'threads'"),
        (flow, {"flow_run_name": 5}, r"flow_run_name=.*int 5"),
        (task, {"task_run_name": ["x"]}, r"task_run_name=.*list \['x'\]"),
    ],
)
def test_kind_specific_options_are_checked_at_decoration(decorator, options, message):
    """Flow-only and task-only keywords are rejected on the other kind; bad values named."""
    with pytest.raises(TypeError, match=message):

        @decorator(**options)
        def fn():
            return None


@pytest.mark.parametrize("bad", [0, -1, 2.0, "8"])
def test_thread_pool_task_runner_rejects_bad_max_workers(bad):
    """ThreadPoolTaskRunner(max_workers=...) must be a whole number >= 1."""
    with pytest.raises(ValueError, match=f"max_workers must be a whole number >= 1, got {bad!r}"):
        ThreadPoolTaskRunner(max_workers=bad)
