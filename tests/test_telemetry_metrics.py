"""Metrics of runs: counters, histograms and the active-runs up-down counter."""

from __future__ import annotations

import time

import pytest
from opentelemetry.sdk.metrics.export import Histogram, Sum

from flowtel import Flow_Run__Config, flow, task


def metric_by_name(captured):
    """{instrument name: SDK Metric} from one collection of the in-memory reader."""
    data = captured.metric_reader.get_metrics_data()
    found = {}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                found[metric.name] = metric
    return found


def values_by_attributes(captured, name):
    """{frozen attribute items: value (sums) or (count, sum) (histograms)} for one instrument."""
    values = {}
    for point in captured.metric_points(name):
        key = tuple(sorted(point.attributes.items()))
        values[key] = point.value if point.value is not None else (point.count, point.sum)
    return values


@task()
def check(value):
    if value < 0:
        raise ValueError(f"negative: {value}")
    return value


@task(raise_on_error=False)
def best_effort():
    raise ConnectionError("refused")


@flow(flow_config=Flow_Run__Config(raise_flow_error=False))
def checking_flow(value):
    best_effort()
    check(1)
    check(value)


def test_flow_runs_counter_by_flow_name_and_result(flowtel_telemetry):
    """flowtel.flow.runs counts runs per flow name and result."""
    checking_flow(1).execute()
    checking_flow(2).execute()
    checking_flow(-1).execute()
    assert {
        (("cicd.pipeline.name", "checking_flow"), ("cicd.pipeline.result", "success")): 2,
        (("cicd.pipeline.name", "checking_flow"), ("cicd.pipeline.result", "failure")): 1,
    } == values_by_attributes(flowtel_telemetry, "flowtel.flow.runs")


def test_task_runs_counter_by_flow_task_and_result(flowtel_telemetry):
    """flowtel.task.runs counts task runs per flow name, task name and result."""
    checking_flow(1).execute()
    checking_flow(-1).execute()

    def key(task_name, result):
        return (
            ("cicd.pipeline.name", "checking_flow"),
            ("cicd.pipeline.task.name", task_name),
            ("cicd.pipeline.task.run.result", result),
        )

    assert {
        key("check", "success"): 3,
        key("check", "failure"): 1,
        key("best_effort", "failure"): 2,
    } == values_by_attributes(flowtel_telemetry, "flowtel.task.runs")


def test_counters_are_monotonic_sums_and_active_is_not(flowtel_telemetry):
    """Run counters are monotonic sums, cicd.pipeline.run.active a non-monotonic one."""
    checking_flow(1).execute()
    metrics = metric_by_name(flowtel_telemetry)
    kinds = {
        name: (type(metrics[name].data).__name__, metrics[name].data.is_monotonic)
        for name in ("flowtel.flow.runs", "flowtel.task.runs", "cicd.pipeline.run.active")
    }
    assert {
        "flowtel.flow.runs": ("Sum", True),
        "flowtel.task.runs": ("Sum", True),
        "cicd.pipeline.run.active": ("Sum", False),
    } == kinds
    assert Sum is type(metrics["flowtel.flow.runs"].data)


@task()
def nap(seconds):
    time.sleep(seconds)


@flow()
def napping_flow():
    nap(0.05)
    nap(0.02)


def test_duration_histograms_are_in_seconds(flowtel_telemetry):
    """cicd.pipeline.run.duration and flowtel.task.duration are histograms with unit 's'."""
    napping_flow().execute()
    metrics = metric_by_name(flowtel_telemetry)
    for name in ("cicd.pipeline.run.duration", "flowtel.task.duration"):
        assert (Histogram, "s") == (type(metrics[name].data), metrics[name].unit)


def test_duration_histograms_record_each_run_in_seconds(flowtel_telemetry):
    """Each flow and task run is one histogram record whose value is its duration in seconds."""
    run = napping_flow().execute()
    (flow_point,) = flowtel_telemetry.metric_points("cicd.pipeline.run.duration")
    (task_point,) = flowtel_telemetry.metric_points("flowtel.task.duration")
    assert (1, {"cicd.pipeline.name": "napping_flow", "cicd.pipeline.result": "success"}) == (
        flow_point.count,
        flow_point.attributes,
    )
    assert run.flow_duration == pytest.approx(flow_point.sum)
    assert True is (0.07 <= flow_point.sum < 5), flow_point.sum
    assert (
        2,
        {
            "cicd.pipeline.name": "napping_flow",
            "cicd.pipeline.task.name": "nap",
            "cicd.pipeline.task.run.result": "success",
        },
    ) == (task_point.count, task_point.attributes)
    assert sum(t.duration for t in run.executed_tasks) == pytest.approx(task_point.sum)
    assert True is (0.07 <= task_point.sum < flow_point.sum), (task_point.sum, flow_point.sum)


def active_runs(captured):
    """{flow name: value} of cicd.pipeline.run.active right now."""
    return {
        point.attributes["cicd.pipeline.name"]: point.value
        for point in captured.metric_points("cicd.pipeline.run.active")
    }


def test_active_runs_is_one_during_a_run_and_zero_after(flowtel_telemetry):
    """cicd.pipeline.run.active is 1 while a flow runs (nested: both) and back to 0 after."""
    seen = []

    @task()
    def look(this_flow):
        seen.append(active_runs(flowtel_telemetry))

    @flow()
    def inner_flow():
        look()

    @flow()
    def outer_flow():
        look()
        inner_flow().execute()

    outer_flow().execute()
    assert [{"outer_flow": 1}, {"outer_flow": 1, "inner_flow": 1}] == seen
    assert {"outer_flow": 0, "inner_flow": 0} == active_runs(flowtel_telemetry)


def test_active_runs_goes_back_to_zero_after_a_failure(flowtel_telemetry):
    """A failing run also takes itself out of cicd.pipeline.run.active."""

    @flow()
    def broken():
        raise RuntimeError("broken")

    with pytest.raises(RuntimeError):
        broken().execute()
    assert {"broken": 0} == active_runs(flowtel_telemetry)


def test_metrics_never_carry_run_ids(flowtel_telemetry):
    """No metric attribute is a run id, and no attribute value equals any flow or task run id."""
    runs = [checking_flow(n).execute() for n in (1, 2, -1)]
    napping_flow().execute()
    run_ids = {run.flow_id for run in runs} | {
        task.task_id for run in runs for task in run.executed_tasks
    }
    points = flowtel_telemetry.metric_points()
    keys = {key for point in points for key in point.attributes}
    values = {value for point in points for value in point.attributes.values()}
    assert set() == {key for key in keys if "id" in key.split(".")}
    assert set() == values & run_ids
    assert {
        "cicd.pipeline.name",
        "cicd.pipeline.result",
        "cicd.pipeline.task.name",
        "cicd.pipeline.task.run.result",
    } == keys


def test_all_documented_instruments_are_emitted(flowtel_telemetry):
    """One run emits the five documented instruments."""
    napping_flow().execute()
    names = set(metric_by_name(flowtel_telemetry))
    expected = {
        "flowtel.flow.runs",
        "flowtel.task.runs",
        "cicd.pipeline.run.duration",
        "flowtel.task.duration",
        "cicd.pipeline.run.active",
    }
    assert expected == names & expected


# --- exemplars: from a measurement to the run's span ---------------------------------------------


def exemplar_ids(metrics, name, **attributes):
    """{(trace id, span id)} of the exemplars on the points of ``name`` with these attributes.

    ``metrics`` is one collection: the SDK hands out each exemplar in one collection only.
    """
    wanted = {key.replace("_", "."): value for key, value in attributes.items()}
    metric = metrics[name]
    return {
        (exemplar.trace_id, exemplar.span_id)
        for point in metric.data.data_points
        if wanted.items() <= dict(point.attributes).items()
        for exemplar in point.exemplars
    }


def span_ids(span):
    return (span.context.trace_id, span.context.span_id)


@flow(flow_config=Flow_Run__Config(raise_flow_error=False))
def failing_check_flow():
    check(-5)


def test_failure_counters_carry_exemplars_of_the_failed_runs(flowtel_telemetry):
    """The failure points of flowtel.task.runs and flowtel.flow.runs hold the failed run's span."""
    failing_check_flow().execute()
    metrics = metric_by_name(flowtel_telemetry)
    task_span = flowtel_telemetry.span("check")
    flow_span = flowtel_telemetry.span("failing_check_flow")
    assert {span_ids(task_span)} == exemplar_ids(
        metrics, "flowtel.task.runs", cicd_pipeline_task_run_result="failure"
    )
    assert {span_ids(flow_span)} == exemplar_ids(
        metrics, "flowtel.flow.runs", cicd_pipeline_result="failure"
    )
    assert task_span.context.trace_id == flow_span.context.trace_id


def test_duration_histograms_carry_exemplars_of_the_runs(flowtel_telemetry):
    """flowtel.task.duration and cicd.pipeline.run.duration hold exemplars of the timed spans."""
    napping_flow().execute()
    metrics = metric_by_name(flowtel_telemetry)
    # Both naps fall in one histogram bucket, which keeps the latest measurement.
    last_nap = flowtel_telemetry.spans_named("nap")[-1]
    assert {span_ids(last_nap)} == exemplar_ids(metrics, "flowtel.task.duration")
    assert {span_ids(flowtel_telemetry.span("napping_flow"))} == exemplar_ids(
        metrics, "cicd.pipeline.run.duration"
    )


def test_exemplar_values_are_the_measurements(flowtel_telemetry):
    """A duration exemplar's value is the run's recorded duration in seconds."""
    run = napping_flow().execute()
    [point] = metric_by_name(flowtel_telemetry)["cicd.pipeline.run.duration"].data.data_points
    [exemplar] = point.exemplars
    assert run.flow_duration == exemplar.value


def test_unsampled_runs_leave_no_exemplars():
    """With a sampler that drops every trace, the trace-based filter keeps no exemplar."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from flowtel.telemetry._runtime import RUNTIME

    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    RUNTIME.use_providers(TracerProvider(sampler=ALWAYS_OFF), None, meter_provider)
    failing_check_flow().execute()
    data = reader.get_metrics_data()
    points = [
        point
        for resource_metrics in data.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
        for point in metric.data.data_points
    ]
    assert 4 <= len(points)
    assert [] == [point for point in points if point.exemplars]
    meter_provider.shutdown()
