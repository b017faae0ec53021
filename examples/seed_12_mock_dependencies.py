"""Seed example "Testing Strategies: 1. Mock Dependencies" (flow-system.md).

The seed calls `this_flow.get_service()`, which a Flow does not have: here a Flow subclass
holds a (mock) service, and `Flow(...).setup(...)` builds the run by hand.
"""

from flowtel import Flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Mock_Service:
    def __init__(self):
        self.calls = 0

    def operation(self):
        self.calls += 1
        return "mocked result"


class Flow_With_Services(Flow):
    def __init__(self, service):
        super().__init__(flow_name="flow_with_services")
        self.service = service

    def get_service(self):
        return self.service


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
@task()
def testable_task(this_flow=None):
    # Dependencies can be mocked for testing
    service = this_flow.get_service()
    return service.operation()
# fmt: on


def run_testable_task():
    return testable_task()


def main() -> dict:
    """Run the task in a flow whose service is a mock."""
    service = Mock_Service()
    run = Flow_With_Services(service).setup(run_testable_task).execute()
    return {"return_value": run.flow_return_value, "service_calls": service.calls, "run": run}


if __name__ == "__main__":
    outcome = main()
    print(f"return value: {outcome['return_value']} (service called {outcome['service_calls']}x)")
