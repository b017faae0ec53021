"""The README's stack instructions work against the real collector running the shipped config."""

from __future__ import annotations

import re
import subprocess

from .servers import REPO, Collector, system_tool

README_TEXT = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_wait_for_the_collector_returns_once_it_is_healthy(collector: Collector):
    """The README's `until curl ... 13133` loop ends at once against a running collector."""
    (wait,) = re.findall(r"^ +(until curl .*)$", README_TEXT, re.MULTILINE)
    health = collector.env["OTELCOL_HEALTH_ENDPOINT"]
    command = wait.replace("localhost:13133", health)
    assert command != wait
    system_tool("curl")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
    assert (0, "") == (done.returncode, done.stderr)
