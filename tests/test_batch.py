"""`flowtel run MODULE:FLOW`: a flow run as a batch job (real subprocesses, a real OTLP receiver)."""

from __future__ import annotations

import datetime
import enum
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from helpers import child_environment, wait_for
from otlp_receiver import OtlpReceiver

from flowtel import flow
from flowtel._batch import UsageError, convert, flow_parameters, load_flow
from flowtel.cli import main

SUBPROCESS_TIMEOUT = 60
STATUS_ERROR = 2  # OTLP Status.STATUS_CODE_ERROR

JOBS = """
import datetime
import os
import pathlib
import time

from flowtel import flow, task


@task
def double(n: int) -> int:
    return n * 2


@task(raise_on_error=False)
def flaky() -> None:
    raise ConnectionError("mail server down")


@flow
def nightly(day: datetime.date, count: int = 2, dry: bool = False, this_flow=None) -> int:
    total = sum(double(i) for i in range(count))
    print(f"doubled {count} numbers")
    flaky()
    this_flow.add_flow_artifact(key="rows", description="rows", data=[1], artifact_type="json")
    this_flow.add_flow_result(key="args", description=repr((day, count, dry)))
    return total


@flow
def broken() -> None:
    double(1)
    raise ValueError("no input files")


@flow
def long_job(marker: str) -> None:
    double(1)
    pathlib.Path(marker).write_text("running")
    time.sleep(60)


@task
async def fetch(source: str) -> int:
    return len(source)


@flow
async def async_job(sources: list[str]) -> int:
    return sum([await fetch(source) for source in sources])


class Reports:
    @flow
    def weekly(self, weeks: int) -> int:
        return double(weeks)
"""


@pytest.fixture
def jobs_dir(tmp_path):
    """A directory holding jobs.py (the flows these tests run) and modules that fail to import."""
    (tmp_path / "jobs.py").write_text(JOBS, encoding="utf-8")
    (tmp_path / "bad.py").write_text("import json\n1 / 0\n", encoding="utf-8")
    (tmp_path / "needs_missing.py").write_text("import no_such_dependency_x\n", encoding="utf-8")
    yield tmp_path
    for name in ("jobs", "bad", "needs_missing"):
        sys.modules.pop(name, None)  # imported in-process by load_flow


def flowtel_run(jobs_dir, *args, receiver=None):
    """Start `flowtel run ARGS` in jobs_dir (OTLP/HTTP to ``receiver`` when given)."""
    extra = {"FLOWTEL_RAISE_INTERNAL_ERRORS": "1"}
    if receiver is not None:
        extra["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        extra["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
        extra["OTEL_SERVICE_NAME"] = "nightly-job"
    return subprocess.Popen(
        [sys.executable, "-m", "flowtel", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=child_environment(extra),
        cwd=jobs_dir,
    )


def finished(process):
    """(exit code, stdout, stderr) of a process, once it ended."""
    stdout, stderr = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    return process.returncode, stdout, stderr


def span_named(receiver, name):
    """The one span with this name the receiver got."""
    found = [span for span in receiver.spans() if span.name == name]
    assert 1 == len(found), [span.name for span in receiver.spans()]
    return found[0]


# -- subprocesses: exit codes, summary, telemetry -----------------------------------------------


def test_a_completed_run_exits_0_prints_a_json_summary_and_exports_its_trace(jobs_dir):
    """Exit 0; --json names the run, trace, tasks, artifacts, results; the trace is exported."""
    with OtlpReceiver("http/protobuf") as receiver:
        code, stdout, stderr = finished(
            flowtel_run(
                jobs_dir,
                "jobs:nightly",
                "--param",
                "day=2026-11-30",
                "--params-json",
                '{"count": 3, "dry": "yes"}',
                "--json",
                receiver=receiver,
            )
        )
        assert 0 == code, stderr
        summary = json.loads(stdout)  # the flow's print went to stderr, not into the JSON
        assert True is ("doubled 3 numbers" in stderr)
        flow_span = span_named(receiver, "nightly")
        records = [r for r in receiver.log_records() if r.body == "flow started"]
    assert ("nightly", "completed", None) == (
        summary["flow_name"],
        summary["status"],
        summary["error"],
    )
    assert ["double", "double", "double", "flaky"] == [t["name"] for t in summary["tasks"]]
    assert ["completed", "completed", "completed", "failed"] == [
        t["status"] for t in summary["tasks"]
    ]
    assert (["rows"], ["args", "flow-return-value"]) == (summary["artifacts"], summary["results"])
    assert True is (summary["duration"] > 0)
    assert (summary["trace_id"], summary["run_id"]) == (
        flow_span.trace_id,
        flow_span.attributes["cicd.pipeline.run.id"],
    )
    assert "(datetime.date(2026, 11, 30), 3, True)" == flow_span.attributes["flowtel.result.args"]
    assert "nightly-job" == flow_span.resource["service.name"]
    [record] = records
    assert (flow_span.trace_id, flow_span.span_id) == (record.trace_id, record.span_id)
    assert {"cicd.pipeline.name": "nightly", "cicd.pipeline.run.id": summary["run_id"]} == (
        record.attributes
    )


def test_a_failed_run_exits_1_after_its_error_span_is_delivered(jobs_dir):
    """Exit 1 for a failing flow; its span (status ERROR) reached the receiver before exit."""
    with OtlpReceiver("http/protobuf") as receiver:
        code, stdout, stderr = finished(
            flowtel_run(jobs_dir, "jobs:broken", "--json", receiver=receiver)
        )
        span = span_named(receiver, "broken")
    summary = json.loads(stdout)
    assert 1 == code, stderr
    assert ("failed", "ValueError: no input files") == (summary["status"], summary["error"])
    # With --json too, stderr ends with the outcome, as the README says.
    assert True is (
        "flowtel run: flow 'broken' failed in " in stderr
        and "(exit 1): ValueError: no input files" in stderr
    )
    assert (STATUS_ERROR, "failure") == (span.status_code, span.attributes["cicd.pipeline.result"])


def test_a_class_flow_method_runs_on_a_new_instance(jobs_dir):
    """jobs:Reports.weekly runs the @flow method on Reports() with its converted parameter."""
    code, stdout, stderr = finished(
        flowtel_run(jobs_dir, "jobs:Reports.weekly", "--param", "weeks=4", "--json")
    )
    assert 0 == code, stderr
    assert ("weekly", ["double"]) == (
        json.loads(stdout)["flow_name"],
        [t["name"] for t in json.loads(stdout)["tasks"]],
    )


def test_an_async_flow_runs_on_its_own_event_loop(jobs_dir):
    """An async @flow runs to completion; a JSON list parameter arrives as a list."""
    code, stdout, stderr = finished(
        flowtel_run(jobs_dir, "jobs:async_job", "--param", 'sources=["ab", "cde"]', "--json")
    )
    summary = json.loads(stdout)
    assert (0, "completed", ["fetch", "fetch"]) == (
        code,
        summary["status"],
        [t["name"] for t in summary["tasks"]],
    ), stderr


def test_without_an_endpoint_the_run_prints_its_console_tree(jobs_dir):
    """No OTLP endpoint: the finished run is printed as a tree; stderr names run and trace."""
    code, stdout, stderr = finished(
        flowtel_run(jobs_dir, "jobs:nightly", "--param", "day=2026-01-02")
    )
    assert 0 == code, stderr
    assert ["doubled 2 numbers", "✔ flow nightly"] == [
        line.split("  ")[0] for line in stdout.splitlines()[:2]
    ]
    assert True is ("├── ✔ double" in stdout)
    assert True is ("flowtel run: flow 'nightly' started, run " in stderr and ", trace " in stderr)


@pytest.mark.parametrize(("sent", "expected_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_running_flow_cancelled_delivers_it_and_exits(
    jobs_dir, sent, expected_code
):
    """While the flow runs its "flow started" record is already exported; SIGTERM/SIGINT end the
    flow span as cancelled, deliver it, and exit 143/130."""
    marker = jobs_dir / "running"
    with OtlpReceiver("http/protobuf") as receiver:
        process = flowtel_run(
            jobs_dir, "jobs:long_job", "--param", f"marker={marker}", receiver=receiver
        )
        try:
            wait_for(marker.exists)
            [started] = wait_for(
                lambda: [r for r in receiver.log_records() if r.body == "flow started"]
            )
            assert [] == [span for span in receiver.spans() if span.name == "long_job"]
            process.send_signal(sent)
            code, _stdout, stderr = finished(process)
        finally:
            process.kill()
        span = span_named(receiver, "long_job")
    assert expected_code == code, stderr
    assert ("cancellation", STATUS_ERROR) == (
        span.attributes["cicd.pipeline.result"],
        span.status_code,
    )
    assert (span.trace_id, span.attributes["cicd.pipeline.run.id"], "long_job") == (
        started.trace_id,
        started.attributes["cicd.pipeline.run.id"],
        started.attributes["cicd.pipeline.name"],
    )


def test_a_bad_parameter_value_is_a_usage_error_naming_it(jobs_dir):
    """A value that does not convert: exit 2, the error names the parameter and the value."""
    code, stdout, stderr = finished(
        flowtel_run(jobs_dir, "jobs:nightly", "--param", "day=2026-11-30", "--param", "count=many")
    )
    assert (2, "") == (code, stdout)
    assert True is ("flowtel run: error: parameter 'count': 'many' is not a valid int" in stderr)


def test_a_bad_otel_setting_is_a_usage_error(jobs_dir):
    """An unsupported OTEL_EXPORTER_OTLP_PROTOCOL: exit 2 naming it, before the flow runs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flowtel", "run", "jobs:broken"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_environment({"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}),
        cwd=jobs_dir,
    )
    code, stdout, stderr = finished(process)
    assert (2, "") == (code, stdout)
    assert True is ("flowtel run: error: OTEL_EXPORTER_OTLP_PROTOCOL='carrier-pigeon'" in stderr)
    assert True is ("started" not in stderr)


def test_a_module_that_does_not_import_is_a_usage_error(jobs_dir):
    """A module raising at import: exit 2 with the module named and its error; nothing run."""
    code, stdout, stderr = finished(flowtel_run(jobs_dir, "bad:job"))
    assert (2, "") == (code, stdout)
    assert True is ("flowtel run: error: importing 'bad' failed: ZeroDivisionError" in stderr)


# -- in-process: finding flows, converting parameters -------------------------------------------


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("jobs", "'jobs' is not MODULE:FLOW"),
        ("no_such_module_x:job", "no module named 'no_such_module_x'"),
        ("jobs.sub:job", "no module named 'jobs.sub'"),
        ("needs_missing:job", "importing 'needs_missing' failed: ModuleNotFoundError"),
        ("jobs:missing", "'jobs' has no attribute 'missing'"),
        ("jobs:double", "not a @flow function"),
        ("./nowhere.py:job", "no such file './nowhere.py'"),
    ],
)
def test_targets_that_are_not_flows_are_usage_errors(jobs_dir, monkeypatch, target, message):
    """A target without a flow is a UsageError that says what is wrong with it."""
    monkeypatch.chdir(jobs_dir)
    monkeypatch.syspath_prepend(str(jobs_dir))
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_flow(target)


def test_a_flow_can_be_named_by_file_path(jobs_dir):
    """path/to/jobs.py:nightly loads the flow from that file."""
    flow_call, name = load_flow(f"{jobs_dir / 'jobs.py'}:nightly")
    assert ("nightly", "nightly") == (name, flow_call.name)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@pytest.mark.parametrize(
    ("raw", "annotation", "expected"),
    [
        ("7", int, 7),
        ("2.5", float, 2.5),
        ("off", bool, False),
        ("TRUE", bool, True),
        ("2026-11-30", datetime.date, datetime.date(2026, 11, 30)),
        ("2026-11-30T10:00:00", datetime.datetime, datetime.datetime(2026, 11, 30, 10)),
        ("/tmp/x", Path, Path("/tmp/x")),
        ("blue", Color, Color.BLUE),
        ("RED", Color, Color.RED),
        ("b", Literal["a", "b"], "b"),
        ("[1, 2]", list[int], [1, 2]),
        ('{"a": 1}', dict[str, int], {"a": 1}),
        ("3", int | None, 3),
        ("none", int | None, None),
        ("text", str, "text"),
        ("anything", "SomeUnresolvedType", "anything"),
    ],
)
def test_values_convert_by_annotation(raw, annotation, expected):
    """A --param string becomes the annotated type."""
    assert expected == convert("p", raw, annotation)


@pytest.mark.parametrize(
    ("raw", "annotation", "message"),
    [
        ("maybe", bool, "parameter 'p': 'maybe' is not a valid bool (use true or false)"),
        ("green", Color, "parameter 'p': 'green' is not a valid Color (choose one of RED, BLUE)"),
        ("c", Literal["a", "b"], "parameter 'p': 'c' is not a valid Literal['a', 'b']"),
        ("[1", list[int], "parameter 'p': '[1' is not a valid list[int]"),
        ("30/11/2026", datetime.date, "parameter 'p': '30/11/2026' is not a valid date"),
    ],
)
def test_values_that_do_not_convert_name_the_parameter(raw, annotation, message):
    """A value that does not convert raises a UsageError naming parameter, value and type."""
    with pytest.raises(UsageError) as raised:
        convert("p", raw, annotation)
    assert str(raised.value).startswith(message)


@flow
def typed_flow(day: datetime.date, count: int = 1, label="x", this_flow=None) -> None:
    pass


def test_parameters_combine_json_and_pairs_with_pairs_winning():
    """--params-json values are checked by annotation; --param overrides them; defaults typed."""
    assert {"day": datetime.date(2026, 1, 1), "count": 5, "label": "y"} == flow_parameters(
        typed_flow, "typed_flow", ["count=5"], '{"day": "2026-01-01", "count": 2, "label": "y"}'
    )


@pytest.mark.parametrize(
    ("pairs", "params_json", "message"),
    [
        ([], None, "flow 'typed_flow' needs parameter(s) 'day'; pass --param day=VALUE"),
        (
            ["day=2026-01-01", "colour=red"],
            None,
            "flow 'typed_flow' has no parameter 'colour'; its parameters are: day, count, label",
        ),
        (["day"], None, "--param needs KEY=VALUE, got 'day'"),
        (["day=2026-01-01"], "[1]", "--params-json must be a JSON object of parameters"),
        (["day=2026-01-01"], "{nope", "--params-json is not valid JSON"),
        (["day=2026-01-01"], '{"count": 1.5}', "parameter 'count': 1.5 is not a valid int"),
    ],
)
def test_missing_unknown_and_malformed_parameters_are_usage_errors(pairs, params_json, message):
    """Missing, unknown or malformed parameters raise a UsageError saying which and what to do."""
    with pytest.raises(UsageError) as raised:
        flow_parameters(typed_flow, "typed_flow", pairs, params_json)
    assert str(raised.value).startswith(message)


def test_usage_errors_exit_2_from_the_command(capsys):
    """main(["run", ...]) with a bad target returns 2 and prints the error on stderr."""
    assert 2 == main(["run", "not-a-target"])
    assert "flowtel run: error: 'not-a-target' is not MODULE:FLOW" in capsys.readouterr().err


def test_run_help_lists_the_exit_codes(capsys):
    """`flowtel run --help` documents the parameters and the exit codes."""
    with pytest.raises(SystemExit) as stopped:
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert 0 == stopped.value.code
    assert True is all(
        part in text
        for part in ("--param KEY=VALUE", "--params-json JSON", "--json", "143 on SIGTERM")
    )


def test_the_batch_job_example_runs_as_the_readme_says():
    """`flowtel run examples/batch_job.py:nightly_load --param ... --json` completes with exit 0."""
    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowtel",
            "run",
            "examples/batch_job.py:nightly_load",
            "--param",
            "day=2026-11-30",
            "--param",
            "limit=14",
            "--json",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=child_environment({"FLOWTEL_RAISE_INTERNAL_ERRORS": "1"}),
        cwd=root,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert 0 == completed.returncode, completed.stderr
    summary = json.loads(completed.stdout)
    assert ("completed", ["extract", "transform", "load"], ["loaded", "flow-return-value"]) == (
        summary["status"],
        [t["name"] for t in summary["tasks"]],
        summary["results"],
    )


def test_a_failed_run_exits_1_even_when_stdout_is_gone(jobs_dir):
    """`flowtel run --json ... | head -0`: the reader of stdout went away before the summary was
    written; the job still exits 1 for a failed flow (a scheduler must not read success)."""
    process = flowtel_run(jobs_dir, "jobs:broken", "--json")
    process.stdout.close()  # the pipe's reader is gone: writing the summary raises EPIPE
    stderr = process.stderr.read()
    process.stderr.close()
    assert (1, True) == (process.wait(timeout=SUBPROCESS_TIMEOUT), "(exit 1)" in stderr), stderr
