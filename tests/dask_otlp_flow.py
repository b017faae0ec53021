"""A flow process for test_dask_telemetry: configures flowtel to export to the OTLP endpoint in
argv[1], runs 50 mapped tasks on a temporary LocalCluster of 2 worker processes, and prints
what the flow recorded as JSON."""

from __future__ import annotations

import json
import logging
import os
import sys

import flowtel
from flowtel import flow
from flowtel.dask import DaskTaskRunner


def main(endpoint: str) -> None:
    from dask_tasks import flaky  # workers import the same module by name

    flowtel.configure(endpoint=endpoint, service_name="dask-flow")
    runner = DaskTaskRunner(
        cluster_class="distributed.LocalCluster",  # a dotted name, imported at the first submit
        adapt_kwargs={"minimum": 2, "maximum": 2},
        cluster_kwargs={
            "n_workers": 2,
            "threads_per_worker": 1,
            "processes": True,
            "host": "127.0.0.1",
            "dashboard_address": "127.0.0.1:0",
        },
    )

    @flow(task_runner=runner)
    def fifty() -> list:
        return flaky.map(range(50)).result()

    run = fifty().execute()
    flowtel.shutdown()
    print(
        json.dumps(
            {
                "flow_id": run.flow_id,
                "pid": os.getpid(),
                "returned": run.flow_return_value,
                "failed_tasks": run.failed_tasks,
                "task_ids": [task.task_id for task in run.executed_tasks],
                "attempts": {task.task_id: task.attempts for task in run.executed_tasks},
                "exported_messages": sum(
                    entry.level >= logging.INFO for entry in run.log_entries()
                ),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
