"""Prefect docs, "Retries": tasks and flows that retry with retry_delay_seconds."""

from flowtel.prefect import flow, task


class BrittleService:
    """stand-in for https://api.brittle-service.com/endpoint: fails the first N calls."""

    def __init__(self) -> None:
        self.failures_left = 0
        self.calls = 0

    def get(self) -> dict:
        self.calls += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            raise ConnectionError("503 Service Unavailable")
        return {"data": [1, 2, 3]}


brittle_service = BrittleService()


# this task will retry up to 2 times, waiting 5 seconds between attempts
@task(retries=2, retry_delay_seconds=5)
def get_data_task(url: str = "https://api.brittle-service.com/endpoint") -> dict:
    # If the service fails, this task doesn't handle the exception, so Prefect
    # will catch the exception and will consider the task run failed.
    return brittle_service.get()


@flow
def get_data_flow():
    get_data_task()


# wait 1 second before the first retry, 10 before the second, 100 before the third
@task(retries=3, retry_delay_seconds=[1, 10, 100])
def some_task_with_manual_retries():
    return brittle_service.get()


# jitter the 10 second delay by up to 100%
@task(retries=3, retry_delay_seconds=10, retry_jitter_factor=1)
def some_task_with_jitter():
    return brittle_service.get()


@flow
def retry_delays_flow(jitter: bool = False):
    if jitter:
        return some_task_with_jitter()
    return some_task_with_manual_retries()


# a flow can retry too: its whole body runs again
@flow(retries=3, retry_delay_seconds=2)
def flaky_flow():
    return brittle_service.get()
