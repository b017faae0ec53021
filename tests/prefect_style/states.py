"""Prefect docs, "States": return_state=True, is_completed(), is_failed(), result()."""

from flowtel.prefect import flow, task


@task
def always_fails_task():
    raise ValueError("I fail successfully")


@task
def always_succeeds_task():
    print("I'm fail safe!")
    return "success"


@flow
def always_succeeds_flow():
    x = always_fails_task(return_state=True)
    y = always_succeeds_task(return_state=True)
    if x.is_failed():
        print("The first task failed, but the flow carries on")
    return y.result()


@flow
def always_fails_flow():
    always_fails_task()
    return "never reached"


@flow
def state_inspection_flow():
    state = always_fails_task(return_state=True)
    maybe_result = state.result(raise_on_failure=False)
    if isinstance(maybe_result, ValueError):
        return f"recovered from: {maybe_result}"
    return "no error"
