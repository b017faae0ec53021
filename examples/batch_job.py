"""A flow run as a batch job with ``flowtel run`` (cron, a Kubernetes Job, a CI step).

Run it (from a clone of this repository):

    python -m pip install -e .
    flowtel run examples/batch_job.py:nightly_load --param day=2026-11-30 --param limit=500
    # to a collector, with a machine-readable summary on stdout:
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 OTEL_SERVICE_NAME=nightly-load \\
        flowtel run examples/batch_job.py:nightly_load --params-json '{"day": "2026-11-30"}' --json

``day`` arrives as a ``datetime.date`` and ``limit`` as an ``int`` (converted by the
annotations). The exit code is 0 when the flow completed, 1 when it failed, 2 for a usage
error, 130 on Ctrl-C and 143 on SIGTERM, always after the telemetry was flushed. As the
run starts, a "flow started" log record carrying its trace id is exported, so a long job
can be found in Loki or Grafana while it still runs.
"""

from __future__ import annotations

import datetime

from flowtel import flow, task


@task()
def extract(day: datetime.date, limit: int) -> list[dict]:
    return [{"day": day.isoformat(), "order": n, "amount": n % 7} for n in range(limit)]


@task()
def transform(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row["amount"]]


@task()
def load(rows: list[dict], dry_run: bool) -> int:
    return 0 if dry_run else len(rows)


@flow()
def nightly_load(
    day: datetime.date, limit: int = 100, dry_run: bool = False, this_flow=None
) -> int:
    rows = transform(extract(day, limit))
    loaded = load(rows, dry_run)
    this_flow.log_info(f"loaded {loaded} of {limit} rows for {day}")
    this_flow.add_flow_result(key="loaded", description=str(loaded))
    return loaded
