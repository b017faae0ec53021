"""The README's Python examples run as written and print what their comments say."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import child_environment

from flowtel import Flow_Run__Config

REPO = Path(__file__).resolve().parent.parent
README_TEXT = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README_TEXT, re.DOTALL)
# `print(...)  # shown text` and `call()  # prints: shown text`: the text is a line of output.
EXPECTATION = re.compile(r"^(?:print\(.*\)  # |.*  # prints: )(?P<shown>.*)$")


def expected_lines(block):
    """The output lines a block's comments promise, in order."""
    return [m.group("shown") for m in map(EXPECTATION.match, block.splitlines()) if m]


def shown_as(expected, line):
    """True when ``line`` is ``expected``, where '...' in ``expected`` stands for any text."""
    pattern = ".*?".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, line) is not None


def is_pytest_module(block):
    return re.search(r"^def test_", block, re.MULTILINE) is not None


def run_block(block, tmp_path, name):
    """The block saved as ``name`` in tmp_path and run: as a script, or with pytest."""
    script = tmp_path / name
    script.write_text(block, encoding="utf-8")
    command = [sys.executable, str(script)]
    if is_pytest_module(block):
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=child_environment(),
    )


def test_readme_has_python_examples():
    """The README shows the flows, events, telemetry, testing and retries examples."""
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_example_runs_and_prints_what_it_says(number, tmp_path):
    """Each block runs in a fresh interpreter and prints, in order, the lines its comments show."""
    block = BLOCKS[number]
    done = run_block(block, tmp_path, f"test_readme_{number}.py")
    assert 0 == done.returncode, done.stdout + done.stderr
    if is_pytest_module(block):
        assert re.search(r"^\d+ passed", done.stdout, re.MULTILINE), done.stdout
        return
    expected = expected_lines(block)
    assert [] != expected, "the example shows no result: add a print(...)  # output comment"
    output = iter(done.stdout.splitlines())
    for line in expected:
        assert True is any(shown_as(line, shown) for shown in output), (line, done.stdout)


def test_readme_flows_example_prints_exactly_this(tmp_path):
    """The first example's whole output: the task's own print, then the commented lines."""
    lines = run_block(BLOCKS[0], tmp_path, "flows.py").stdout.splitlines()
    expected = ["fetched 3 rows from s3://bucket/day", *expected_lines(BLOCKS[0])]
    assert len(expected) == len(lines), lines
    assert [True] * len(lines) == [
        shown_as(e, line) for e, line in zip(expected, lines, strict=True)
    ], lines


def test_readme_pytest_example_is_self_contained():
    """The pytest example defines every flow and task it uses."""
    (block,) = [b for b in BLOCKS if is_pytest_module(b)]
    assert "from flowtel import" in block
    for name in re.findall(r"(\w+)\(\d*\)\.execute\(\)", block):
        assert f"def {name}(" in block


# -- Flow_Run__Config table ------------------------------------------------------------------


def config_defaults():
    return {f.name: f.default for f in dataclasses.fields(Flow_Run__Config)}


def test_readme_config_table_lists_every_field_with_its_default():
    """The README's Flow_Run__Config table has one row per field with the real default."""
    rows = re.findall(r"^\| `(\w+)` \| `(True|False)` \| (.+) \|$", README_TEXT, re.MULTILINE)
    assert config_defaults() == {name: default == "True" for name, default, _ in rows}


def test_config_docstring_table_lists_every_field_with_its_default():
    """help(Flow_Run__Config) shows each field with its real default."""
    rows = re.findall(r"^    (\w+) +(True|False) +\S", Flow_Run__Config.__doc__ or "", re.MULTILINE)
    assert config_defaults() == {name: default == "True" for name, default in rows}


# -- the stack section -----------------------------------------------------------------------

STACK = README_TEXT[README_TEXT.index("## The observability stack") :]
STACK = STACK[: STACK.index("\n## ", 3)]


def test_stack_section_gives_both_compose_spellings_to_start_and_stop():
    """Start and clean-up commands are given for `docker compose` and `docker-compose`."""
    for command in ("up -d", "down --volumes"):
        assert f"docker compose {command}" in STACK
        assert f"docker-compose {command}" in STACK


def test_stack_section_waits_on_the_health_port_compose_publishes():
    """The README waits on the collector's health port that compose publishes and otelcol uses."""
    port = re.search(r"until curl -fsS http://localhost:(\d+)/ ", STACK).group(1)
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    collector = yaml.safe_load((REPO / "collector-config" / "otelcol.yaml").read_text())
    assert f"127.0.0.1:{port}:{port}" in compose["services"]["otel-collector"]["ports"]
    assert collector["extensions"]["health_check"]["endpoint"].endswith(f":-0.0.0.0:{port}}}")
    assert STACK.index("until curl") < STACK.index("flowtel demo")
