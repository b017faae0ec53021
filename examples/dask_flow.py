import os

import flowtel
from flowtel import flow, get_run_logger, task
from flowtel.dask import DaskTaskRunner


@task(retries=2)
def checksum(name: str, this_flow=None) -> int:
    get_run_logger().info("checksumming %s", name)  # a log record of this task's span
    this_flow.add_flow_artifact(key=name, description="checked", data=len(name))
    return sum(name.encode())


# An existing scheduler (e.g. `docker compose --profile dask up -d`: tcp://localhost:8786),
# else a temporary LocalCluster started by the flow run and closed when it ends.
address = os.environ.get("DASK_SCHEDULER_ADDRESS")
runner = (
    DaskTaskRunner(address=address)
    if address
    else DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1})
)


@flow(task_runner=runner)
def checksums(names: list[str]) -> int:
    return sum(checksum.map(names).result())  # each call runs on a worker


if __name__ == "__main__":  # worker processes re-import this module: run the flow only here
    flowtel.configure(service_name="dask-example")  # OTEL_EXPORTER_OTLP_ENDPOINT, else console
    run = checksums([f"file-{i}" for i in range(20)]).execute()
    print(run.flow_return_value, len(run.executed_tasks), len(run.flow_artifacts))
    print(min(m for m in run.log_messages() if m.startswith("checksumming")))  # from a worker
