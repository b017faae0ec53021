"""The console tree: each finished root run printed once, with names, durations, status, details."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys

import pytest
from helpers import child_environment
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from flowtel import Flow, flow, task
from flowtel.telemetry._console import (
    ConsoleTreeProcessor,
    TreeStyle,
    format_duration,
    render_tree,
    safe_text,
    style_for,
)

DURATION = re.compile(r"\d+(\.\d+)? (µs|us|ms|s)\b")
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
✔ flow report  <d>  [run <id>]
│ ◆ artifact 'totals' (json): Totals
│ ★ result 'rows': 3 rows
├── ✔ fetch  <d>
│     • INFO fetched 3 rows
├── ✘ notify  <d>  ConnectionError: mail server down
└── ✔ publish  <d>
    └── ✔ flow nested_report  <d>  [run <id>]
        └── ✔ fetch  <d>
              • INFO fetched 3 rows
"""


def test_tree_of_a_real_run(console):
    """A finished run prints as a tree: flows, names, durations, ✔/✘, errors, messages, artifacts."""
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
    assert [True, True] == [line.startswith("✔ flow report  ") for line in roots]
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
    assert "✘ flow broken_flow  <d>  KeyError: 'missing column'  [run <id>]" == first


def test_flow_inside_a_user_span_prints_once_under_that_span(console, flowtel_telemetry):
    """A run inside an application span is printed once, when the application's root span ends."""
    tracer = flowtel_telemetry.tracer_provider.get_tracer("web-app")
    with tracer.start_as_current_span("GET /report"):
        nested_report().execute()
        assert "" == console.getvalue()
    assert [
        "✔ GET /report  <d>",
        "└── ✔ flow nested_report  <d>  [run <id>]",
        "    └── ✔ fetch  <d>",
    ] == [line for line in normalized(console.getvalue()).splitlines() if "•" not in line]


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
    assert ["✔ flow nested_report  <d>  [run <id>]", "└── ✔ fetch  <d>"] == [
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


# -- what the tree shows --------------------------------------------------------------------


@flow()
def failing_flow():
    load()


@task()
def load():
    raise FileNotFoundError("no such config")


def test_a_failure_text_appears_once_per_node(console):
    """A failing task and the flow it fails show the error once each, not in messages too."""
    with pytest.raises(FileNotFoundError):
        failing_flow().execute()
    lines = normalized(console.getvalue()).splitlines()
    assert [
        "✘ flow failing_flow  <d>  FileNotFoundError: no such config  [run <id>]",
        "└── ✘ load  <d>  FileNotFoundError: no such config",
    ] == lines


def test_a_users_own_error_message_is_still_shown(console):
    """Only flowtel's repeat of the node's failure is left out; a user's log_error stays."""

    @flow()
    def logs_an_error(this_flow):
        this_flow.log_error("disk almost full")

    logs_an_error().execute()
    assert [
        "✔ flow logs_an_error  <d>  [run <id>]",
        "  • ERROR disk almost full",
    ] == normalized(console.getvalue()).splitlines()


@task(task_run_name="price-{order_id}")
def price(order_id):
    return order_id


@flow(flow_run_name="orders-{day}")
def priced(day):
    price(1)
    price(2)


def test_run_names_tell_repeated_tasks_apart(console):
    """flow_run_name and task_run_name appear after the flow and task names."""
    priced("monday").execute()
    assert [
        "✔ flow priced (orders-monday)  <d>  [run <id>]",
        "├── ✔ price (price-1)  <d>",
        "└── ✔ price (price-2)  <d>",
    ] == normalized(console.getvalue()).splitlines()


def test_a_nested_flow_is_marked_as_a_flow_with_its_run_id(console):
    """A flow inside a task reads 'flow <name>' with its own run id; tasks do not."""
    report().execute()
    nested = [line for line in console.getvalue().splitlines() if "nested_report" in line]
    assert 1 == len(nested)
    assert "└── ✔ flow nested_report  " in nested[0]
    assert RUN_ID.search(nested[0]) is not None
    assert 0 == sum(" flow fetch" in line for line in console.getvalue().splitlines())


def test_artifact_and_result_lines_say_what_they_are(console):
    """Artifact and result lines name their kind and quote their key."""
    report().execute()
    lines = console.getvalue().splitlines()
    assert "│ ◆ artifact 'totals' (json): Totals" in lines
    assert "│ ★ result 'rows': 3 rows" in lines


def test_control_characters_in_names_and_messages_are_escaped(console):
    """Newlines, ESC and bidi overrides are shown as escapes: no forged lines, no raw ESC."""

    @task(task_name="step\n├── ✔ forged")
    def sneaky(this_task):
        this_task.log_info("clear\x1b[2J screen\r\u202eevil")

    @flow()
    def guarded():
        sneaky()

    guarded().execute()
    lines = normalized(console.getvalue()).splitlines()
    assert [
        "✔ flow guarded  <d>  [run <id>]",
        "└── ✔ step\\n├── ✔ forged  <d>",
        "      • INFO clear\\x1b[2J screen\\r\\u202eevil",
    ] == lines


def test_safe_text_keeps_printable_text_unchanged():
    """Ordinary text, including non-ASCII letters, is returned as it is."""
    assert "café: 5 € ✔" == safe_text("café: 5 € ✔")


# -- console encodings ------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_demo_tree_on_a_console_that_cannot_encode_the_glyphs(encoding):
    """Under PYTHONIOENCODING=cp1252 or ascii the demo prints the same tree in ASCII."""
    demo = subprocess.run(
        [sys.executable, "-m", "flowtel", "demo"],
        capture_output=True,
        env=child_environment({"PYTHONIOENCODING": encoding}),
        timeout=60,
    )
    out = demo.stdout.decode(encoding)
    assert (0, "") == (demo.returncode, demo.stderr.decode())
    lines = normalized(out).splitlines()
    assert "+ flow process_orders  <d>  [run <id>]" == lines[1]
    assert "| * artifact 'report' (json): Order totals" == lines[2]
    notify = "|-- x notify_warehouse  <d>  ConnectionError: warehouse API refused 5 orders"
    load = "`-- x load_config  <d>  FileNotFoundError: no such config: /etc/demo/sync.toml"
    assert f"{notify} (demo failure, tolerated)" in lines
    assert "`-- + flow publish_report  <d>  [run <id>]" in lines
    assert f"{load} (demo failure)" in lines


def test_the_ascii_tree_is_the_unicode_tree_with_other_glyphs(flowtel_telemetry):
    """TreeStyle(ascii=True) draws exactly the same tree, glyph for glyph."""
    report().execute()
    glyphs = {"✔": "+", "✘": "x", "├── ": "|-- ", "└── ": "`-- ", "│": "|", "•": "-", "◆": "*"}
    unicode_tree = render_tree(flowtel_telemetry.spans)
    for glyph, ascii_glyph in {**glyphs, "★": "=", "µs": "us"}.items():
        unicode_tree = unicode_tree.replace(glyph, ascii_glyph)
    ascii_tree = render_tree(flowtel_telemetry.spans, TreeStyle(ascii=True))
    assert unicode_tree == ascii_tree
    assert True is ascii_tree.isascii()


def test_an_unencodable_name_is_escaped_and_later_trees_still_print(flowtel_telemetry):
    """A character the stream cannot encode is escaped; it does not stop later trees."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", write_through=True)
    flowtel_telemetry.tracer_provider.add_span_processor(ConsoleTreeProcessor(lambda: stream))

    @flow(flow_name="café")
    def accented():
        fetch()

    accented().execute()
    accented().execute()
    text = raw.getvalue().decode("ascii")
    assert 2 == text.count("+ flow caf\\xe9  ")


def test_style_for_an_ascii_stream_uses_ascii_glyphs():
    """style_for picks ASCII for a stream whose encoding lacks the tree glyphs."""
    stream = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    assert (True, False) == (style_for(stream).ascii, style_for(io.StringIO()).ascii)


# -- colour ------------------------------------------------------------------------------

ESC = "\x1b["


def demo_on_a_terminal(extra_environment):
    """The demo's output when its stdout is a real pseudo-terminal."""
    controller, terminal = pty.openpty()
    demo = subprocess.Popen(
        [sys.executable, "-m", "flowtel", "demo"],
        stdout=terminal,
        stderr=subprocess.PIPE,
        env=child_environment(extra_environment),
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert 0 == demo.wait(timeout=60)
    return b"".join(chunks).decode()


def test_demo_on_a_terminal_is_coloured():
    """On a TTY failures are red, successes green and durations dim."""
    out = demo_on_a_terminal({"TERM": "xterm"})
    assert "\x1b[32m✔\x1b[0m flow process_orders" in out
    assert "\x1b[31m✘\x1b[0m \x1b[31mflow nightly_sync\x1b[0m" in out
    assert re.search(r"\x1b\[2m\d+(\.\d+)? (µs|ms|s)\x1b\[0m", out) is not None


def test_no_color_turns_colour_off_on_a_terminal():
    """NO_COLOR=1 gives a plain tree even on a TTY."""
    out = demo_on_a_terminal({"TERM": "xterm", "NO_COLOR": "1"})
    assert "✔ flow process_orders" in out
    assert ESC not in out


def test_piped_output_has_no_colour_unless_forced():
    """Piped output is plain; FORCE_COLOR=1 colours it anyway."""
    plain, forced = (
        subprocess.run(
            [sys.executable, "-m", "flowtel", "demo"],
            capture_output=True,
            text=True,
            env=child_environment(extra),
            timeout=60,
        ).stdout
        for extra in ({}, {"FORCE_COLOR": "1"})
    )
    assert (False, True) == (ESC in plain, ESC in forced)


def test_render_tree_colours_only_when_asked(flowtel_telemetry):
    """render_tree() is plain by default and ANSI-coloured with TreeStyle(colour=True)."""
    report().execute()
    plain = render_tree(flowtel_telemetry.spans)
    coloured = render_tree(flowtel_telemetry.spans, TreeStyle(colour=True))
    assert (False, True) == (ESC in plain, ESC in coloured)
    assert plain == re.sub(r"\x1b\[\d+m", "", coloured)
