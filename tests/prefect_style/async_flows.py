"""Prefect docs, "Async": async tasks gathered in an async flow, and an async subflow."""

import asyncio

from flowtel.prefect import flow, task


@task
async def print_values(values):
    result = []
    for value in values:
        await asyncio.sleep(0.01)  # the docs sleep 1 second
        print(value, end=" ")
        result.append(value)
    return result


@flow
async def async_flow():
    first = await print_values([1, 2])  # runs immediately
    coros = [print_values("abcd"), print_values("6789")]
    # asynchronously gather the tasks
    gathered = await asyncio.gather(*coros)
    return [first, *gathered]


@flow
async def async_subflow(x):
    await asyncio.sleep(0)
    return x * 2


@flow
async def async_parent_flow():
    results = await asyncio.gather(async_subflow(1), async_subflow(2))
    return sum(results)
