"""The console tree: each finished root run printed once, with names, durations, status, details."""

from __future__ import annotations

import io
import re

import pytest
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from flowtel import Flow, flow, task
from flowtel.telemetry._console import ConsoleTreeProcessor, format_duration, render_tree

DURATION = re.compile(r"\d+(\.\d+)? (µs|ms|s)\b")
RUN_ID = re.compile(r"\[run [0-9a-f]{16}\]")


def normalized(text):
    """The tree with durations as <d> and run ids as [run <id>]."""
    return RUN_ID.sub("[run <id>]", DURATION.sub("<d>", text))


@pytest.fixture
def console(flowtel_telemetry):
    """A ConsoleTreeProcessor on the captured provider, writing to a StringIO."""
    stream = io.StringIO()
    flowtel_telemetry.tracer_provider.add_span_processor(ConsoleTreeProcessor(lambda: stream))
    return stream


@task()
def fetch(this_task):
    this_task.log_info("fetched 3 rows")
    return 3


@task(raise_on_error=False)
def notify():
    raise ConnectionError("mail server down")


@flow()
def nested_report():
    fetch()


@task()
def publish():
    nested_report().execute()


@flow()
def report(this_flow: Flow):
    fetch()
    notify()
    publish()
    this_flow.add_flow_artifact(
        key="totals", data={"sum": 3}, description="Totals", artifact_type="json"
    )
    this_flow.add_flow_result(key="rows", description="3 rows")


EXPECTED_REPORT_TREE = """\
✔ report  <d>  [run <id>]
│ ◆ artifact totals (json): Totals
│ = result rows: 3 rows
├── ✔ fetch  <d>
│     • INFO fetched 3 rows
├── ✘ notify  <d>  ConnectionError: mail server down
│     • ERROR Task 'notify' failed: ConnectionError: mail server down
└── ✔ publish  <d>
    └── ✔ nested_report  <d>
        └── ✔ fetch  <d>
              • INFO fetched 3 rows
"""


def test_tree_of_a_real_run(console):
    """A finished run prints as a tree: names, durations, ✔/✘, errors, messages, artifacts, results."""
    run = report().execute()
    assert EXPECTED_REPORT_TREE == normalized(console.getvalue())
    assert f"[run {run.flow_id}]" in console.getvalue().splitlines()[0]


def test_tree_durations_are_the_span_durations(console, flowtel_telemetry):
    """The duration shown for each span is format_duration of that span's own duration."""
    report().execute()
    text = console.getvalue()
    for span in flowtel_telemetry.spans:
        shown = f"{span.name}  {format_duration(span.end_time - span.start_time)}"
        assert True is (shown in text), f"{shown!r} not in\n{text}"


def test_each_root_run_is_printed_once(console):
    """Two runs print two trees; nested flows inside them are not printed on their own."""
    report().execute()
    report().execute()
    lines = console.getvalue().splitlines()
    roots = [line for line in lines if not line.startswith(("│", "├", "└", " "))]
    assert 2 == len(roots)
    assert [True, True] == [line.startswith("✔ report  ") for line in roots]
    assert 2 == sum("nested_report" in line for line in lines)


@flow()
def broken_flow():
    fetch()
    raise KeyError("missing column")


def test_failed_root_is_marked_with_its_error(console):
    """A failed flow's root line has ✘ and 'Type: message'."""
    with pytest.raises(KeyError):
        broken_flow().execute()
    first = normalized(console.getvalue()).splitlines()[0]
    assert "✘ broken_flow  <d>  KeyError: 'missing column'  [run <id>]" == first


def test_flow_inside_a_user_span_prints_once_under_that_span(console, flowtel_telemetry):
    """A run inside an application span is printed once, when the application's root span ends."""
    tracer = flowtel_telemetry.tracer_provider.get_tracer("web-app")
    with tracer.start_as_current_span("GET /report"):
        nested_report().execute()
        assert "" == console.getvalue()
    assert ["✔ GET /report  <d>", "└── ✔ nested_report  <d>", "    └── ✔ fetch  <d>"] == [
        line for line in normalized(console.getvalue()).splitlines() if "•" not in line
    ]


def test_run_with_a_remote_parent_is_printed_as_a_root(console):
    """A flow continuing a trace from another process (remote parent) prints as its own root."""
    remote = SpanContext(
        trace_id=0x1234, span_id=0x5678, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        nested_report().execute()
    finally:
        context.detach(token)
    assert ["✔ nested_report  <d>  [run <id>]", "└── ✔ fetch  <d>"] == [
        line for line in normalized(console.getvalue()).splitlines() if "•" not in line
    ]


def test_render_tree_of_captured_spans(flowtel_telemetry):
    """render_tree() of a run's finished spans gives the same tree the processor prints."""
    report().execute()
    assert EXPECTED_REPORT_TREE == normalized(render_tree(flowtel_telemetry.spans)) + "\n"


def test_default_stream_is_the_real_stdout_not_the_runs_log(flowtel_telemetry, capsys):
    """Printed trees go to the real stdout, not into the run's captured print log."""
    flowtel_telemetry.tracer_provider.add_span_processor(ConsoleTreeProcessor())
    run = report().execute()
    out = capsys.readouterr().out
    assert EXPECTED_REPORT_TREE == normalized(out)
    assert [] == [
        message for message in run.log_messages() if "report" in message and "✔" in message
    ]


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [
        (0, "0 µs"),
        (850_000, "850 µs"),
        (12_300_000, "12.3 ms"),
        (999_000_000, "999.0 ms"),
        (1_520_000_000, "1.52 s"),
        (75_000_000_000, "75.00 s"),
    ],
)
def test_format_duration(nanoseconds, text):
    """Durations read as µs below 1 ms, ms below 1 s, else seconds."""
    assert text == format_duration(nanoseconds)


class GoneReader(io.StringIO):
    """A stdout whose reader has gone away (`flowtel demo | head`)."""

    def __init__(self):
        super().__init__()
        self.attempts = 0

    def write(self, text):
        self.attempts += 1
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_stops_the_trees_without_a_telemetry_error(flowtel_telemetry):
    """When stdout's reader is gone, the processor stops printing; runs and telemetry go on."""
    stream = GoneReader()
    flowtel_telemetry.tracer_provider.add_span_processor(ConsoleTreeProcessor(lambda: stream))

    @flow()
    def printed_flow():
        return fetch()

    runs = [printed_flow().execute() for _ in range(3)]
    assert [3, 3, 3] == [run.flow_return_value for run in runs]
    assert 1 == stream.attempts
    assert 3 == len(flowtel_telemetry.spans_named("printed_flow"))
