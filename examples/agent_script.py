"""flowtel under OpenTelemetry zero-code instrumentation (``opentelemetry-instrument``).

Run it (from a clone of this repository):

    python -m pip install -e '.[agent]'   # opentelemetry-distro, -instrumentation-logging
    OTEL_SERVICE_NAME=billing OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 \\
        opentelemetry-instrument python examples/agent_script.py

The agent installs the tracer, logger and meter providers and their exporters before the
script starts; flowtel emits through them. ``flowtel.configure()`` is kept so the same
script also works without the agent: under it, configure() adds nothing and logs one
warning line saying so. The ``logging`` records written inside tasks are exported once, by
the handler of opentelemetry-instrumentation-logging, with the trace and span ids of the
task span they were written in; flowtel's own messages (``log_info``...) are exported once,
by flowtel.
"""

from __future__ import annotations

import logging

import flowtel
from flowtel import flow, task

log = logging.getLogger("billing")


@task()
def charge(customer: str) -> int:
    log.info("charging %s", customer)  # a plain logging record, inside the task span
    return len(customer)


@flow()
def billing_run(customers: list[str], this_flow=None) -> int:
    total = sum(charge(customer) for customer in customers)
    this_flow.log_info(f"charged {len(customers)} customers: {total}")
    return total


if __name__ == "__main__":
    flowtel.configure()  # under the agent: one warning, then flowtel uses the agent's providers
    logging.getLogger().setLevel(logging.INFO)
    billing_run(["ada", "grace"]).execute()
