"""Seed example "Testing Strategies: 2. Flow Testing" (flow-system.md).

The seed leaves `MockedDependencies` and `TestFlow` undefined. Here MockedDependencies swaps a
payment gateway for a fake while the block runs; TestFlow is a Flow subclass (set up by hand)
whose `status` reports 'success' when the run completed.
"""

from flowtel import Flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Real_Payment_Gateway:
    def charge(self, amount):
        raise RuntimeError("no network in tests")


class Fake_Payment_Gateway:
    def __init__(self):
        self.charges = []

    def charge(self, amount):
        self.charges.append(amount)
        return "charged"


SERVICES = {"payments": Real_Payment_Gateway()}
FAKES_USED = []


class MockedDependencies:
    def __enter__(self):
        self.saved = dict(SERVICES)
        SERVICES["payments"] = Fake_Payment_Gateway()
        FAKES_USED.append(SERVICES["payments"])
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        SERVICES.clear()
        SERVICES.update(self.saved)


@task()
def charge_order(amount):
    return SERVICES["payments"].charge(amount)


def checkout():
    return charge_order(25)


class TestFlow(Flow):
    __test__ = False  # not a pytest test class

    def __init__(self):
        super().__init__(flow_name="checkout")
        self.setup(checkout)

    @property
    def status(self):
        return "success" if self.flow_status == "completed" else self.flow_status


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
def test_flow():
    with MockedDependencies():
        flow = TestFlow()
        result = flow.execute()
        assert result.status == 'success'
# fmt: on

test_flow.__test__ = False  # collected by nobody: main() runs it


def main() -> dict:
    """Run the seed's test function and report what the fake gateway saw."""
    test_flow()
    return {
        "fake_charges": FAKES_USED[-1].charges,
        "gateway_restored": type(SERVICES["payments"]).__name__,
    }


if __name__ == "__main__":
    outcome = main()
    print(f"test_flow passed; fake charges: {outcome['fake_charges']}")
