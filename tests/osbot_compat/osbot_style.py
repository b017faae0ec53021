"""An OSBot-Utils style pipeline, written against ``flowtel.osbot`` import paths only.

It is what an OSBot user's module looks like after the one-line migration: a class with
@flow/@task methods, hand-made ``Task`` objects, ``this_flow`` artifacts and a flow config.
"""

from __future__ import annotations

from flowtel.osbot.decorators.flow import flow
from flowtel.osbot.decorators.task import task
from flowtel.osbot.Flow import Flow
from flowtel.osbot.models.Flow_Run__Config import Flow_Run__Config
from flowtel.osbot.Task import Task

CONFIG = Flow_Run__Config(
    print_finished_message=True, print_none_return_value=True, raise_flow_error=False
)


class Feed_Pipeline:
    """Loads a feed, parses it with a hand-made task, and tolerates a failing notifier."""

    @task()
    def load_feed(self, url, flow_data=None):
        print(f"loading {url}")
        flow_data["url"] = url
        return ["a", "b", "c"]

    @task(raise_on_error=False)
    def notify(self):
        raise ConnectionError("mail server down")

    @flow(flow_config=CONFIG, flow_name="feed-pipeline")
    def run(self, url, this_flow: Flow = None):
        items = self.load_feed(url)
        with Task(task_name="parse_items") as parse:
            parse.task_target = lambda rows: [row.upper() for row in rows]
            parse.task_args = (items,)
            parsed = parse.execute__sync()
        self.notify()
        this_flow.add_flow_artifact(
            description="parsed items", key="items", data=parsed, artifact_type="json"
        )
        print("pipeline done")
        return len(parsed)
