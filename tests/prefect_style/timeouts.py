"""Prefect docs, "Timeouts": timeout_seconds on flows and tasks."""

import asyncio
import time

from flowtel.prefect import flow, task

SLOW_SECONDS = 1  # the docs sleep 5 seconds


@flow(timeout_seconds=0.2, log_prints=True)
def show_timeouts():
    print("I will execute")
    time.sleep(SLOW_SECONDS)
    return "I will not be returned"


@task(timeout_seconds=0.1)
async def slow_async_task():
    await asyncio.sleep(SLOW_SECONDS)


@flow
async def async_timeout_flow():
    state = await slow_async_task(return_state=True)
    return state.name, state.is_failed()
