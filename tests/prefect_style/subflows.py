"""Prefect docs, "Nested flows": a flow calling another flow."""

from flowtel.prefect import flow, task


@task(name="Print Hello")
def print_hello(name):
    msg = f"Hello {name}!"
    print(msg)
    return msg


@flow(name="Subflow")
def my_subflow(msg):
    print(f"Subflow says: {msg}")
    return len(msg)


@flow(name="Hello Flow")
def hello_world(name="world"):
    message = print_hello(name)
    return my_subflow(message)
