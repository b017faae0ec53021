"""The ``flowtel`` command: ``flowtel demo`` runs example flows and shows their telemetry;
``flowtel run MODULE:FLOW`` runs one flow as a batch job."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``flowtel`` command."""
    parser = argparse.ArgumentParser(prog="flowtel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="run demo flows; prints trace trees, or sends OTLP when "
        "OTEL_EXPORTER_OTLP_ENDPOINT is set",
    )
    demo.add_argument("--service-name", default=None, help="service.name (default flowtel-demo)")
    demo.add_argument("--runs", type=int, default=1, help="how many times to run the demo flows")
    from ._batch import add_run_command, run_command

    add_run_command(commands)
    arguments = parser.parse_args(argv)
    if arguments.command == "run":
        return run_command(arguments)
    if arguments.command == "demo":
        if arguments.runs < 1:
            parser.error(f"--runs must be at least 1, got {arguments.runs}")
        from ._demo import run_demo

        service_name = (
            arguments.service_name or os.environ.get("OTEL_SERVICE_NAME") or "flowtel-demo"
        )
        try:
            return run_demo(service_name=service_name, runs=arguments.runs, out=sys.stdout)
        except BrokenPipeError:
            # stdout's reader went away (`flowtel demo | head`): exit quietly like other CLIs.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    return 2  # pragma: no cover - argparse rejects other commands
