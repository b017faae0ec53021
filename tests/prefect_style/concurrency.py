"""Prefect docs, "Run tasks concurrently": submit, map, unmapped, wait, ThreadPoolTaskRunner."""

import threading
import time

from flowtel.prefect import ThreadPoolTaskRunner, as_completed, flow, task, unmapped, wait

# stand-in bookkeeping so the test can see how many tasks ran at once
active = {"now": 0, "peak": 0}
lock = threading.Lock()


@task
def stop_at_floor(floor):
    with lock:
        active["now"] += 1
        active["peak"] = max(active["peak"], active["now"])
    print(f"elevator moving to floor {floor}")
    time.sleep(floor / 100)  # the docs sleep `floor` seconds
    print(f"elevator stops on floor {floor}")
    with lock:
        active["now"] -= 1
    return floor


@flow(task_runner=ThreadPoolTaskRunner(max_workers=3))
def elevator():
    floors = []
    for floor in range(10, 0, -1):
        floors.append(stop_at_floor.submit(floor))
    wait(floors)
    return [future.result() for future in floors]


@task
def add_together(x, y):
    return x + y


@flow
def sum_it(numbers, static_value):
    futures = add_together.map(numbers, static_value)
    return futures.result()


@task
def sum_plus(x, static_iterable):
    return x + sum(static_iterable)


@flow
def sum_it_unmapped(numbers, static_iterable):
    futures = sum_plus.map(numbers, unmapped(static_iterable))
    return [future.result() for future in futures]


@task
def square(x):
    return x * x


@flow
def first_come_first_served(numbers):
    futures = square.map(numbers)
    results = []
    for future in as_completed(futures):
        results.append(future.result())
    return sorted(results)


@task
def say_hello(name):
    return f"Hello, {name}!"


@flow
def hello_submit():
    future = say_hello.submit("Marvin")
    return future.result()
