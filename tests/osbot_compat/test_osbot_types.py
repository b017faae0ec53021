"""_osbot_types: OSBot-Utils' own Duration, Random_Guid and Timestamp_Now when installed, else look-alikes.

osbot-utils is in the ``test`` extra, so this process takes the installed path; the
not-installed path runs in subprocesses that block the import.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from flowtel.osbot import _osbot_types
from flowtel.osbot._duration import Schema__Duration, duration_record
from flowtel.osbot.actions.Flow__Stats__Collector import Flow__Stats__Collector
from flowtel.osbot.actions.Task__Stats__Collector import Task__Stats__Collector
from flowtel.osbot.decorators.flow import flow
from flowtel.osbot.decorators.task import task
from flowtel.osbot.models.Flow_Run__Event import Flow_Run__Event
from flowtel.osbot.schemas.Schema__Flow__Data import Schema__Flow__Data

# The test extra's osbot-utils releases (3.74, 3.75) install on Python 3.10, but their Duration
# imports enum.EnumType (new in 3.11): there flowtel.osbot must stand in with its look-alikes.
OSBOT_TYPES_IMPORT = sys.version_info >= (3, 11)
needs_osbot_types = pytest.mark.skipif(
    not OSBOT_TYPES_IMPORT, reason="osbot-utils 3.74/3.75 do not import on Python 3.10"
)
if OSBOT_TYPES_IMPORT:
    from osbot_utils.helpers.duration.Duration import Duration as OSBot_Duration
    from osbot_utils.type_safe.primitives.domains.identifiers.Random_Guid import (
        Random_Guid as OSBot_Random_Guid,
    )
    from osbot_utils.type_safe.primitives.domains.identifiers.safe_int.Timestamp_Now import (
        Timestamp_Now as OSBot_Timestamp_Now,
    )


def test_osbot_utils_types_are_used_exactly_where_they_import():
    """Installed osbot-utils is used on Python 3.11+; on 3.10, where it cannot import, it is not."""
    event = Flow_Run__Event()
    expected_module = "osbot_utils" if OSBOT_TYPES_IMPORT else "flowtel"
    assert (OSBOT_TYPES_IMPORT, [expected_module] * 2) == (
        _osbot_types.USING_OSBOT_UTILS,
        [
            type(event.event_id).__module__.split(".")[0],
            type(event.timestamp).__module__.split(".")[0],
        ],
    )


@needs_osbot_types
def test_installed_osbot_utils_supplies_the_three_types():
    """With osbot-utils installed, flowtel.osbot hands out OSBot-Utils' own classes."""
    event = Flow_Run__Event()
    assert [True, OSBot_Random_Guid, OSBot_Timestamp_Now, OSBot_Timestamp_Now] == [
        _osbot_types.USING_OSBOT_UTILS,
        type(event.event_id),
        type(event.timestamp),
        type(Schema__Flow__Data().start_time),
    ]
    assert [OSBot_Duration, OSBot_Duration] == [
        type(Task__Stats__Collector().duration),
        type(Flow__Stats__Collector().duration),
    ]


@needs_osbot_types
def test_new_duration_is_an_unstarted_osbot_duration_of_its_own():
    """new_duration() gives Duration()'s state, and two of them measure independently."""
    first, second = _osbot_types.new_duration(), _osbot_types.new_duration()
    assert vars(OSBot_Duration()).keys() == vars(first).keys()
    assert (True, True, None, None) == (
        first.print_result,
        first.use_utc,
        first.start_time,
        first.duration,
    )
    first.print_result = second.print_result = False
    first.start()
    time.sleep(0.002)
    second.start()
    first.end()
    second.end()
    assert first.seconds() > second.seconds()
    assert (True, None) == (_osbot_types.new_duration().print_result, OSBot_Duration().start_time)


@needs_osbot_types
def test_duration_record_matches_osbot_utils_own_data():
    """duration_record() of an OSBot-Utils Duration equals that Duration's own data()."""
    duration = OSBot_Duration(print_result=False)
    duration.start()
    time.sleep(0.001)
    duration.end()
    record = duration_record(duration)
    assert Schema__Duration is type(record)
    assert duration.data().json() == record.json()


@needs_osbot_types
def test_task_stats_are_measured_by_osbot_utils_duration():
    """A task's stats hold the length OSBot-Utils' Duration measured around the call."""

    @task()
    def wait():
        time.sleep(0.01)

    @flow()
    def waits():
        wait()

    run = waits().execute_flow()
    [task_stats] = run.flow_stats.stats.tasks_stats.values()
    task_seconds = task_stats.duration.duration_seconds
    assert 0.01 <= task_seconds <= run.flow_stats.stats.duration.duration_seconds
    assert OSBot_Duration is type(run.flow_stats.duration)


NOT_INSTALLED = textwrap.dedent(
    """
    import json, sys
    for name in sys.argv[1:]:
        sys.modules[name] = None  # import of this module raises ImportError
    from flowtel.osbot import _osbot_types
    from flowtel.osbot.Task import Task
    from flowtel.osbot.actions.Flow__Stats__Collector import Flow__Stats__Collector
    from flowtel.osbot.decorators.flow import flow
    from flowtel.osbot.decorators.task import task
    from flowtel.osbot.models.Flow_Run__Event import Flow_Run__Event, Random_Guid

    @task()
    def load():
        return 2

    @flow()
    def job():
        with Task(task_name="double") as double:
            double.task_target = lambda value: value * 2
            double.task_args = (load(),)
            return double.execute__sync()

    run = job().execute_flow()
    try:
        Random_Guid("nope")
    except ValueError as error:
        guid_error = str(error)
    event = Flow_Run__Event()
    print(json.dumps({
        "using_osbot_utils": _osbot_types.USING_OSBOT_UTILS,
        "types": sorted({type(run.flow_stats.duration).__module__,
                         type(event.event_id).__module__, type(event.timestamp).__module__}),
        "return_value": run.flow_return_value,
        "task_statuses": [t.status.value for t in run.flow_stats.stats.tasks_stats.values()],
        "flow_seconds": run.flow_stats.stats.duration.duration_seconds,
        "locals": sorted(Flow__Stats__Collector().__locals__()),
        "guid_error": guid_error,
        "osbot_modules": sorted(n for n, m in sys.modules.items()
                                if n.startswith("osbot_utils") and m is not None),
    }))
    """
)


def run_without(*blocked_modules: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", NOT_INSTALLED, *blocked_modules],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 0 == completed.returncode, completed.stderr
    return json.loads(completed.stdout.splitlines()[-1])


def expected_without_osbot_utils(flow_seconds: float, osbot_modules: list[str]) -> dict:
    return {
        "using_osbot_utils": False,
        "types": ["flowtel.osbot._duration", "flowtel.osbot._ids"],
        "return_value": 4,
        "task_statuses": ["completed", "completed"],
        "flow_seconds": flow_seconds,
        "locals": ["duration", "stats", "task_execution_counter"],
        "guid_error": "Random_Guid needs a GUID such as <uuid>, got 'nope'",
        "osbot_modules": osbot_modules,
    }


def masked(report: dict) -> dict:
    """The report with the random example GUID in the error message replaced by <uuid>."""
    prefix, _, rest = report["guid_error"].partition("such as ")
    return {**report, "guid_error": prefix + "such as <uuid>" + rest[36:]}


def test_without_osbot_utils_flowtel_osbot_runs_on_its_look_alikes():
    """With osbot_utils not importable, flowtel.osbot imports, runs and uses its own classes."""
    report = masked(run_without("osbot_utils"))
    assert report["flow_seconds"] > 0.0
    assert expected_without_osbot_utils(report["flow_seconds"], []) == report


@needs_osbot_types  # its premise: the other two modules import
def test_a_release_missing_one_module_falls_back_for_all_three():
    """If one of the three OSBot-Utils modules does not import, none of the three is used."""
    moved = "osbot_utils.type_safe.primitives.domains.identifiers.safe_int.Timestamp_Now"
    report = masked(run_without(moved))
    assert "osbot_utils.helpers.duration.Duration" in report["osbot_modules"]
    assert expected_without_osbot_utils(report["flow_seconds"], report["osbot_modules"]) == report
