"""Prefect docs, "Logging": get_run_logger() in flows and tasks, and log_prints."""

from flowtel.prefect import flow, get_run_logger, task


@task
def log_task(name):
    logger = get_run_logger()
    logger.info("Hello %s!", name)
    logger.warning("This is a warning from %s", name)


@flow
def log_flow(name):
    logger = get_run_logger()
    logger.info("Hello from the flow, %s!", name)
    log_task(name)


@task
def my_task():
    print("we're logging print statements from a task")


@flow(log_prints=True)
def my_flow():
    print("we're logging print statements from a flow")
    my_task()


@flow
def silent_flow():
    print("not captured: log_prints is off by default")
