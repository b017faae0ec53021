"""Seed example "Artifacts and Results" (flow-system.md)."""

from flowtel import flow, flow_events


# --- the seed's code ------------------------------------------------------------------------
# fmt: off
@flow()
def flow_with_artifacts(this_flow=None):
    # Store structured data as an artifact
    this_flow.add_flow_artifact(
        description="API Response",
        key="api-response",
        data={"status": "success"},
        artifact_type="json"
    )

    # Record a result
    this_flow.add_flow_result(
        key="calculation-result",
        description="Final calculation value: 42"
    )
# fmt: on


def main() -> dict:
    """Run the flow with a listener and report the recorded artifacts, results and events."""
    events = []
    flow_events.event_listeners.append(events.append)
    try:
        run = flow_with_artifacts().execute()
    finally:
        flow_events.event_listeners.remove(events.append)
    return {
        "artifacts": run.flow_artifacts,
        "results": run.flow_results,
        "event_payloads": [
            (event.event_type.value, event.event_data.data)
            for event in events
            if event.event_type.value in ("new_artifact", "new_result")
        ],
        "return_value": run.flow_return_value,
    }


if __name__ == "__main__":
    outcome = main()
    print(f"artifacts: {outcome['artifacts']}")
    print(f"results: {outcome['results']}")
