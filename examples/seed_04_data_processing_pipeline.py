"""Seed example "Data Processing Pipeline" (flow-system.md, Common Patterns and Examples).

`Type_Safe` becomes a plain class. The seed leaves `data_source`, `validator`, `transformer`
and `storage` undefined: small fakes are assigned to the instance before the flow runs.
"""

import asyncio

from flowtel import Flow, flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Fake_Data_Source:
    def __init__(self, rows):
        self.rows = rows

    async def fetch(self):
        await asyncio.sleep(0)
        return list(self.rows)


class Fake_Validator:
    def is_valid(self, raw_data):
        return all(isinstance(row, dict) and "amount" in row for row in raw_data)


class Fake_Transformer:
    def process(self, raw_data):
        return {"total": sum(row["amount"] for row in raw_data), "rows": len(raw_data)}


class Fake_Storage:
    def __init__(self):
        self.saved = []

    async def save(self, data):
        await asyncio.sleep(0)
        self.saved.append(data)


# --- the seed's code (Type_Safe -> plain class) -------------------------------------------
# fmt: off
class DataProcessingFlow:
    @task()
    async def fetch_data(self, flow_data: dict):
        # Simulating data fetch
        raw_data = await self.data_source.fetch()
        flow_data['raw_data'] = raw_data

    @task()
    def validate_data(self, flow_data: dict):
        raw_data = flow_data['raw_data']
        if not self.validator.is_valid(raw_data):
            raise ValueError("Invalid data format")

    @task()
    def transform_data(self, flow_data: dict):
        raw_data = flow_data['raw_data']
        transformed = self.transformer.process(raw_data)
        flow_data['transformed_data'] = transformed

    @task()
    async def store_results(self, flow_data: dict):
        transformed = flow_data['transformed_data']
        await self.storage.save(transformed)

    @flow()
    async def process_data(self) -> Flow:
        await self.fetch_data()
        self.validate_data()
        self.transform_data()
        await self.store_results()
        return 'processing complete'
# fmt: on


def make_pipeline(rows) -> DataProcessingFlow:
    pipeline = DataProcessingFlow()
    pipeline.data_source = Fake_Data_Source(rows)
    pipeline.validator = Fake_Validator()
    pipeline.transformer = Fake_Transformer()
    pipeline.storage = Fake_Storage()
    return pipeline


def main() -> dict:
    """Run the pipeline on valid data, then on invalid data, and report both runs."""
    good = make_pipeline([{"amount": 5}, {"amount": 7}])
    good_run = good.process_data().execute()

    bad = make_pipeline([{"amount": 5}, {"no_amount": 1}])
    bad_run = bad.process_data()
    try:
        bad_run.execute()
    except ValueError as error:
        bad_error = error
    else:  # pragma: no cover - the seed's validator must reject the data
        raise AssertionError("invalid data was accepted")
    return {
        "return_value": good_run.flow_return_value,
        "saved": good.storage.saved,
        "tasks": [(t.task_name, t.status) for t in good_run.executed_tasks],
        "flow_data_keys": sorted(good_run.data),
        "bad_error": bad_error,
        "bad_run": bad_run,
        "bad_tasks": [(t.task_name, t.status) for t in bad_run.executed_tasks],
        "bad_saved": bad.storage.saved,
    }


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"saved: {outcome['saved']}")
    print(f"invalid data: {outcome['bad_error']!r}, tasks {outcome['bad_tasks']}")
