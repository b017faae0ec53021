"""The demo flows behind ``flowtel demo``."""

from __future__ import annotations

import asyncio
import logging
import os
import random
from typing import Any, TextIO
from urllib.parse import urlsplit

from ._config import Flow_Run__Config
from ._decorators import flow, task
from ._flow import Flow
from .telemetry._attributes import mask_url_credentials


@task()
def fetch_orders(count: int, flow_data: dict | None = None) -> list[dict[str, Any]]:
    assert flow_data is not None  # injected
    orders = [{"id": n, "amount": round(10 + n * 7.5, 2)} for n in range(count)]
    flow_data["orders"] = orders
    print(f"fetched {len(orders)} orders")
    return orders


@task(task_run_name="order-{order[id]}")
async def price_order(order: dict[str, Any]) -> float:
    await asyncio.sleep(random.uniform(0.001, 0.005))
    return order["amount"] * 1.2


@task(raise_on_error=False)
def notify_warehouse(orders: list[dict[str, Any]]) -> None:
    raise ConnectionError(f"warehouse API refused {len(orders)} orders (demo failure, tolerated)")


@task()
def write_report(total: float, this_flow: Flow | None = None) -> str:
    assert this_flow is not None  # injected
    this_flow.add_flow_artifact(
        key="report",
        description="Order totals",
        data={"total": round(total, 2)},
        artifact_type="json",
    )
    return f"total={total:.2f}"


@flow(flow_name="publish_report")
def publish_report(report: str, this_flow: Flow | None = None) -> str:
    assert this_flow is not None  # injected
    this_flow.log_info(f"publishing {report}")
    return "published"


@flow(flow_name="process_orders")
async def process_orders(
    count: int, this_flow: Flow | None = None, flow_data: dict | None = None
) -> str:
    assert this_flow is not None and flow_data is not None  # injected
    orders = fetch_orders(count)
    prices = await asyncio.gather(*(price_order(order) for order in orders))
    notify_warehouse(orders)
    report = write_report(sum(prices))
    publish_report(report).execute()
    this_flow.add_flow_result(key="orders", description=f"{len(flow_data['orders'])} orders priced")
    return report


@task()
def load_config(path: str) -> dict[str, Any]:
    raise FileNotFoundError(f"no such config: {path} (demo failure)")


@flow(flow_name="nightly_sync", flow_config=Flow_Run__Config(raise_flow_error=False))
def nightly_sync() -> None:
    load_config("/etc/demo/sync.toml")


def run_demo(service_name: str, runs: int, out: TextIO) -> int:
    from .telemetry._configure import configure, export_ok, export_summaries, shutdown

    configure(service_name=service_name)
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    # One report on one stream, cause first: flowtel's export warnings go to ``out`` too.
    report = _ReportTo(out)
    for _ in range(runs):
        orders = process_orders(5).execute()
        failed = nightly_sync().execute()
    try:
        shutdown()
    finally:
        report.close()
    out.write(
        f"\nprocess_orders: {orders.flow_status} ({orders.flow_return_value}), "
        f"{len(orders.executed_tasks)} tasks, {orders.failed_tasks} tolerated failure\n"
        f"nightly_sync:   {failed.flow_status} ({failed.flow_error!r})\n"
    )
    for line in export_summaries():
        out.write(line + "\n")
    if not export_ok():
        return 1
    if endpoint:
        out.write(
            f"telemetry sent to {mask_url_credentials(endpoint)} as service '{service_name}'\n"
        )
    out.write(where_to_look(endpoint, service_name) + "\n")
    return 0


def where_to_look(endpoint: str | None, service_name: str) -> str:
    """One line after the demo: where its telemetry can be seen, or how to send it."""
    if not endpoint:
        return (
            "next: to see these runs in Jaeger and Grafana, start the stack (docker compose up -d)"
            " and run OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 flowtel demo"
        )
    host = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}").hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address in a URL
    return (
        f"next: with this repository's stack behind {mask_url_credentials(endpoint)}, open Jaeger at "
        f"http://{host}:16686 (service '{service_name}', Find Traces) or Grafana at "
        f"http://{host}:3000 (dashboard 'flowtel runs')"
    )


class _ReportTo(logging.Handler):
    """While the demo runs, flowtel's telemetry warnings are written to the demo's stream."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(logging.INFO)
        self.out = out
        self.logger = logging.getLogger("flowtel.telemetry")
        self.propagate = self.logger.propagate
        self.logger.addHandler(self)
        self.logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.out.write(record.getMessage() + "\n")

    def close(self) -> None:
        self.logger.removeHandler(self)
        self.logger.propagate = self.propagate
        super().close()
