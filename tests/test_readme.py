"""The README's Python examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_has_python_examples():
    """The README shows at least the flows, events, telemetry, testing and retries examples."""
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_example_runs(number, tmp_path):
    """Each README Python block runs in a fresh interpreter without an error."""
    script = tmp_path / f"readme_{number}.py"
    script.write_text(BLOCKS[number], encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ""},
    )
    assert 0 == result.returncode, result.stderr


def test_readme_flows_example_reports_what_it_says():
    """The first example's commented values are what the run really reports."""
    code = BLOCKS[0] + (
        "\nprint(run.flow_return_value, run.flow_status, run.failed_tasks,"
        " sorted(run.durations()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert (
        "3 completed 1 ['flow_duration', 'flow_name', 'flow_status', 'flow_tasks']"
        == (result.stdout.strip().splitlines()[-1])
    )
