"""The flowtel command line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import child_environment

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
    assert first_line.decode().startswith("✔ process_orders")
    assert "" == stderr


def test_demo_rejects_a_non_positive_run_count(capsys):
    """`flowtel demo --runs 0` is a usage error naming the bad value."""
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--runs", "0"])
    assert 2 == stopped.value.code
    assert "--runs must be at least 1, got 0" in capsys.readouterr().err
