"""Seed example "Integration Patterns: 2. Database Integration" (flow-system.md).

`Type_Safe` becomes a plain class; the seed leaves `db`, `Model` and `transform` undefined (a
fake async database and a function are assigned to the instance), and defines no flow, so a
small flow calls the two tasks.
"""

import asyncio

from flowtel import flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Model:
    rows = [{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}]


class Fake_Query:
    def __init__(self, model):
        self.model = model

    async def all(self):
        await asyncio.sleep(0)
        return list(self.model.rows)


class Fake_Session:
    def __init__(self, db):
        self.db = db

    async def __aenter__(self):
        self.db.log.append("open")
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        self.db.log.append("close")

    def query(self, model):
        self.db.log.append(f"query {model.__name__}")
        return Fake_Query(model)


class Fake_Database:
    def __init__(self):
        self.log = []

    def session(self):
        return Fake_Session(self)


# --- the seed's code (Type_Safe -> plain class) -------------------------------------------
# fmt: off
class DatabaseFlow:
    @task()
    async def fetch_records(self, flow_data: dict):
        async with self.db.session() as session:
            records = await session.query(Model).all()
            flow_data['records'] = records

    @task()
    def process_records(self, flow_data: dict):
        records = flow_data['records']
        return [self.transform(record) for record in records]
# fmt: on


@flow()
async def database_flow(database_flow_object):
    await database_flow_object.fetch_records()
    return database_flow_object.process_records()


def main() -> dict:
    """Run the database flow against the fake database and report the result."""
    db_flow = DatabaseFlow()
    db_flow.db = Fake_Database()
    db_flow.transform = lambda record: record["name"].title()
    run = database_flow(db_flow).execute()
    return {"return_value": run.flow_return_value, "db_log": db_flow.db.log}


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']}")
    print(f"db log: {outcome['db_log']}")
