"""The flowtel command line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import child_environment
from otlp_receiver import OtlpReceiver

import flowtel
import flowtel.cli
from flowtel.cli import main


def test_demo_piped_into_a_reader_that_stops_early_exits_quietly():
    """`flowtel demo | head -1` exits 0 without a traceback when the reader closes the pipe."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "flowtel", "demo", "--runs", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_environment(),
    )
    first_line = demo.stdout.readline()
    demo.stdout.close()
    stderr = demo.stderr.read().decode()
    assert 0 == demo.wait(timeout=60)
    assert "fetched 5 orders\n" == first_line.decode()  # the demo task's print, echoed
    assert "" == stderr


def test_demo_rejects_a_non_positive_run_count(capsys):
    """`flowtel demo --runs 0` is a usage error naming the bad value."""
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--runs", "0"])
    assert 2 == stopped.value.code
    assert "--runs must be at least 1, got 0" in capsys.readouterr().err


def flowtel_command(*arguments, extra_environment=None):
    """`python -m flowtel ARGUMENTS` in a child process: (exit status, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "flowtel", *arguments],
        capture_output=True,
        text=True,
        env=child_environment(extra_environment),
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


def test_help_is_plain_text_with_the_commands_and_examples():
    """`flowtel --help` has no reST markup and names the demo command and an example."""
    status, out, err = flowtel_command("--help")
    assert (0, "") == (status, err)
    assert "``" not in out
    assert out.startswith("usage: flowtel [-h] [--version] COMMAND ...")
    assert "    demo      run example flows" in out
    assert "  flowtel demo                 run example flows" in out


def test_version_prints_the_package_version():
    """`flowtel --version` prints 'flowtel <version>' and exits 0."""
    assert (0, f"flowtel {flowtel.__version__}\n", "") == flowtel_command("--version")


def test_bare_command_prints_the_help():
    """`flowtel` with no command prints the same help as --help and exits 0."""
    assert flowtel_command("--help") == flowtel_command()


def test_demo_help_describes_the_demo_and_its_options():
    """`flowtel demo --help` names the demo flows, its options and the variables it reads."""
    status, out, _ = flowtel_command("demo", "--help")
    assert 0 == status
    for text in (
        "process_orders",
        "nightly_sync",
        "--runs N",
        "--service-name NAME",
        "NO_COLOR",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ):
        assert True is (text in out), text


def test_a_new_subcommand_is_one_function_in_subcommands(monkeypatch, capsys):
    """A function appended to SUBCOMMANDS adds a command whose handler gives the exit status."""

    def add_hello(commands):
        hello = commands.add_parser("hello", help="say hello")
        hello.add_argument("name")
        hello.set_defaults(handler=lambda arguments: print(f"hello {arguments.name}") or 3)

    monkeypatch.setattr(flowtel.cli, "SUBCOMMANDS", [*flowtel.cli.SUBCOMMANDS, add_hello])
    assert 3 == main(["hello", "ada"])
    assert "hello ada\n" == capsys.readouterr().out


def test_after_the_demo_one_line_says_how_to_send_the_runs():
    """Without an endpoint the demo's last line says how to send the runs to the stack."""
    status, out, _ = flowtel_command("demo")
    assert 0 == status
    assert (
        "next: to see these runs in Jaeger and Grafana, start the stack (docker compose up -d)"
        " and run OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 flowtel demo"
    ) == out.splitlines()[-1]


def test_after_sending_one_line_says_where_to_look():
    """When sending, the demo's last line names the endpoint and the Jaeger and Grafana URLs."""
    with OtlpReceiver("grpc") as receiver:
        status, out, _ = flowtel_command(
            "demo", extra_environment={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        )
    assert 0 == status
    assert (
        f"next: with this repository's stack behind {receiver.endpoint}, open Jaeger at "
        "http://127.0.0.1:16686 (service 'flowtel-demo', Find Traces) or Grafana at "
        "http://127.0.0.1:3000 (dashboard 'flowtel runs')"
    ) == out.splitlines()[-1]
