"""flowtel inside a FastAPI service: each request's flow run is part of the request's trace.

Run it (from a clone of this repository):

    python -m pip install -e '.[web]'
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 OTEL_SERVICE_NAME=shop \\
        python examples/web_service.py          # serves http://127.0.0.1:8000 (PORT=...)

    curl http://127.0.0.1:8000/quotes/7          # sync flow in a sync endpoint
    curl http://127.0.0.1:8000/stock/apples      # async flow awaited in an async endpoint
    curl -X POST http://127.0.0.1:8000/reports/2026-11-30   # flow run after the response

In Jaeger each request is one trace: the server span ``GET /quotes/{order_id}`` is the parent
of the ``quote`` flow span, whose task spans sit below it, and the flow's log records carry
the request's trace id. A flow raising in a request makes the flow span and the server span
errors (HTTP 500); a task failure the flow tolerates (``notify``, ``raise_on_error=False``)
leaves the request a success. The report flow runs after the response is sent, so it is
``detach()``-ed: it starts its own trace, with a span link to the request that queued it.
"""

from __future__ import annotations

import asyncio
import os
import time

import uvicorn
from fastapi import BackgroundTasks, FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

import flowtel
from flowtel import flow, task

# Seconds each simulated database or network call takes.
IO_SECONDS = float(os.environ.get("EXAMPLE_IO_SECONDS", "0.01"))

PRICES = {"apples": 0.5, "pears": 0.75}


# -- the flows ---------------------------------------------------------------------------


@task()
def load_order(order_id: int) -> dict:
    time.sleep(IO_SECONDS)
    if order_id <= 0:
        raise LookupError(f"no order {order_id}")
    return {"id": order_id, "item": "apples", "count": order_id}


@task()
def price(order: dict) -> float:
    return PRICES[order["item"]] * order["count"]


@task(raise_on_error=False)  # a mail outage must not fail the quote
def notify(order: dict) -> None:
    if order["id"] % 2:
        raise ConnectionError("mail server down")


@flow()
def quote(order_id: int, this_flow=None) -> float:
    order = load_order(order_id)
    total = price(order)
    notify(order)
    this_flow.log_info(f"quote for order {order_id}: {total}")
    return total


@task()
async def count_stock(item: str) -> int:
    await asyncio.sleep(IO_SECONDS)
    return len(item) * 10


@flow()
async def stock(item: str, this_flow=None) -> int:
    count = await count_stock(item)
    this_flow.log_info(f"{count} {item} in stock")
    return count


@task()
def render(day: str) -> str:
    time.sleep(IO_SECONDS)
    return f"report for {day}"


@flow()
def report(day: str, this_flow=None) -> None:
    text = render(day)
    this_flow.add_flow_artifact(key="report", description=text, data=text, artifact_type="text")


# -- the service ---------------------------------------------------------------------------

app = FastAPI()


@app.get("/quotes/{order_id}")
def get_quote(order_id: int) -> dict:
    # A sync endpoint runs in a worker thread that carries the request's context.
    run = quote(order_id).execute()  # raises if the flow fails: FastAPI answers 500
    return {"total": run.flow_return_value, "run_id": run.flow_id}


@app.get("/stock/{item}")
async def get_stock(item: str) -> dict:
    run = await stock(item).execute_async()
    return {"count": run.flow_return_value, "run_id": run.flow_id}


@app.post("/reports/{day}", status_code=202)
def post_report(day: str, background_tasks: BackgroundTasks) -> dict:
    # Work that outlives the request gets its own trace, linked to this request's span.
    run = report(day).detach()
    background_tasks.add_task(run.execute)
    return {"run_id": run.flow_id}


def main() -> None:
    flowtel.configure(service_name=os.environ.get("OTEL_SERVICE_NAME") or "shop")
    FastAPIInstrumentor.instrument_app(app)
    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
