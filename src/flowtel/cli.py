"""The ``flowtel`` command line: one argparse subcommand per entry of ``SUBCOMMANDS``.

A subcommand is a function that adds its parser to the ``commands`` sub-parsers and sets
``handler`` with ``set_defaults``: called with the parsed arguments, it returns the exit
status. Adding a subcommand is appending its function to ``SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from ._batch import add_run_command

DESCRIPTION = """\
flowtel runs Python flows and tasks whose every run is OpenTelemetry telemetry:
a flow run is a trace, each task a child span, messages are span events and log records.
"""

EPILOG = """\
examples:
  flowtel demo                 run example flows and print each run as a trace tree
  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 flowtel demo
                               send the demo's traces, logs and metrics over OTLP instead
  flowtel run jobs:nightly --param day=2026-11-30
                               run one flow as a batch job (exit 0 completed, 1 failed)

Run 'flowtel COMMAND --help' for a command's options.
"""

DEMO_DESCRIPTION = """\
Run two example flows and show their telemetry:

  process_orders  an async flow: fetches 5 orders, prices them concurrently (5 tasks
                  named by order), a tolerated failure (notify_warehouse), an artifact,
                  a result, and a nested flow (publish_report)
  nightly_sync    a flow whose task fails, so the flow fails (recorded, not raised)

Without an OTLP endpoint each run is printed as a trace tree (coloured on a terminal;
NO_COLOR=1 turns colour off, FORCE_COLOR=1 turns it on when piped). With
OTEL_EXPORTER_OTLP_ENDPOINT set, the spans, logs and metrics are sent there instead, and
the exit status is 1 when they could not be delivered.
"""

DEMO_EPILOG = """\
environment:
  OTEL_EXPORTER_OTLP_ENDPOINT  where to send, e.g. http://localhost:4317 (gRPC)
  OTEL_EXPORTER_OTLP_PROTOCOL  grpc (default) or http/protobuf (port 4318)
  OTEL_SERVICE_NAME            service.name when --service-name is not given
"""


def _add_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run example flows; print them as trace trees, or send them over OTLP",
        description=DEMO_DESCRIPTION,
        epilog=DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--service-name",
        default=None,
        metavar="NAME",
        help="service.name of the telemetry (default: $OTEL_SERVICE_NAME, else flowtel-demo)",
    )
    demo.add_argument(
        "--runs",
        type=int,
        default=1,
        metavar="N",
        help="run the demo flows N times (default: 1)",
    )
    demo.set_defaults(handler=lambda arguments: _run_demo(arguments, demo))


def _run_demo(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if arguments.runs < 1:
        parser.error(f"--runs must be at least 1, got {arguments.runs}")
    from ._demo import run_demo

    service_name = arguments.service_name or os.environ.get("OTEL_SERVICE_NAME") or "flowtel-demo"
    return run_demo(service_name=service_name, runs=arguments.runs, out=sys.stdout)


SUBCOMMANDS: list[Callable[[Any], Any]] = [_add_demo, add_run_command]


def build_parser() -> argparse.ArgumentParser:
    """The ``flowtel`` parser with every subcommand of ``SUBCOMMANDS``."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="flowtel",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"flowtel {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for add_subcommand in SUBCOMMANDS:
        add_subcommand(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``flowtel`` command; returns the exit status."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help()
        return 0
    try:
        return int(arguments.handler(arguments))
    except BrokenPipeError:
        # stdout's reader went away (`flowtel demo | head`): exit quietly like other CLIs.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
