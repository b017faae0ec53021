"""The README's "Coming from OSBot-Utils" example runs against this checkout and says true things.

Its block is fenced ```py, so tests/test_readme.py (which runs ```python blocks against the
installed flowtel) leaves it to this test, which runs it with this checkout's src/ first.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Coming from OSBot-Utils", 1)[1].split("\n## ", 1)[0]
(EXAMPLE,) = re.findall(r"```py\n(.*?)```", SECTION, re.DOTALL)


def test_osbot_readme_example_reports_what_its_comments_say():
    """The example runs; its listener prints events; the commented values are the real ones."""
    code = EXAMPLE + (
        "\nprint(run.flow_return_value, run.captured_logs()[1:3],"
        " sorted(run.durations__with_tasks_status()['flow_tasks']), run.flow_stats.stats.status)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert 0 == result.returncode, result.stderr
    lines = result.stdout.strip().splitlines()
    assert ["FLOW_START", "FLOW_MESSAGE"] == lines[:2]
    assert "FLOW_STOP" == lines[-2]
    assert (
        "['A', 'B'] [\"Executing task 'load'\", 'loading https://example.org/rss'] [1, 2] "
        "Schema__Flow__Status.COMPLETED"
    ) == lines[-1]


def test_migration_is_the_import_prefix():
    """The diff in the section changes only osbot_utils.helpers.flows to flowtel.osbot."""
    (diff,) = re.findall(r"```diff\n(.*?)```", SECTION, re.DOTALL)
    removed, added = (line[1:] for line in diff.strip().splitlines())
    assert added == removed.replace("osbot_utils.helpers.flows", "flowtel.osbot")
