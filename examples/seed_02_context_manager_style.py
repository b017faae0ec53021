"""Seed example "Context manager style for more complex flows" (flow-system.md, Quick Start).

`ComplexDataFlow` and `my_data` are not defined by the seed: here ComplexDataFlow is a Flow
subclass whose flow function cleans and summarises `input_data` with two tasks.
"""

from flowtel import Flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


@task()
def clean_records(records):
    return [record.strip().lower() for record in records if record.strip()]


@task()
def summarise_records(records, flow_data):
    flow_data["record_count"] = len(records)
    return {"records": records, "count": len(records)}


class ComplexDataFlow(Flow):
    """A Flow that processes `input_data` (set before execute())."""

    def __init__(self):
        super().__init__(flow_name="complex_data_flow")
        self.input_data = None
        self.setup(self.process)

    def process(self):
        cleaned = clean_records(self.input_data)
        return summarise_records(cleaned)


my_data = ["  Alpha", "beta ", "   ", "GAMMA"]


def main() -> dict:
    """Run the seed's context-manager snippet and report what it did."""
    # fmt: off
    with ComplexDataFlow() as flow:
        flow.input_data = my_data
        result = flow.execute()
        print(f"Processing complete: {result}")
    # fmt: on
    return {
        "flow": flow,
        "result": result,
        "return_value": result.flow_return_value,
        "flow_data": dict(result.data),
        "tasks": [t.task_name for t in result.executed_tasks],
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
