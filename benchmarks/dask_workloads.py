"""The Dask row's task body, importable by name on the workers (see dask_row.py)."""

from __future__ import annotations

from dask_body import LOOPS, cpu

from flowtel import task

__all__ = ["LOOPS", "cpu", "cpu_task", "install_dropping_providers"]


@task()
def cpu_task(x: int) -> int:
    """The same body as a flowtel task."""
    return cpu(x)


def install_dropping_providers() -> str:
    """Install global SDK providers whose exporters drop (as in the main benchmark) in this
    process: a worker with providers of its own, which flowtel then uses as they are."""
    from opentelemetry import _logs, metrics, trace
    from workloads import sdk_providers

    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return "already installed"
    tracer_provider, logger_provider, meter_provider = sdk_providers()
    trace.set_tracer_provider(tracer_provider)
    _logs.set_logger_provider(logger_provider)
    metrics.set_meter_provider(meter_provider)
    return "installed"
