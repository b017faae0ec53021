"""Every code example of the seed (flow-system.md), as files in examples/, executed for real."""

from __future__ import annotations

import base64
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from flowtel import Flow, Flow_Run__Event_Data, Flow_Run__Event_Type, flow_events

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"

EXPECTED_STDOUT = {
    "seed_01_quick_start": ["return value: HELLO WORLD"],
    "seed_02_context_manager_style": [
        "Processing complete: <Flow 'complex_data_flow'",
        "return value: {'records': ['alpha', 'beta', 'gamma'], 'count': 3}",
    ],
    "seed_03_prefect_compatibility": [
        "pdf: %PDF-1.4 fake pdf of https://httpbin.org/get",
        "file: %PDF-1.4 fake pdf of https://example.com (application/pdf)",
    ],
    "seed_04_data_processing_pipeline": [
        "return value: processing complete",
        "saved: [{'total': 12, 'rows': 2}]",
        "invalid data: ValueError('Invalid data format')",
    ],
    "seed_05_web_automation": [
        "return value: automation complete",
        "browser calls: ['launch', 'new_page', 'goto https://example.com', 'click #main-button']",
    ],
    "seed_06_task_level_recovery": ["return value: fallback_value"],
    "seed_07_flow_level_recovery": ["flow status: completed"],
    "seed_08_context_manager_pattern": ["return value: ManagedResourceFlow"],
    "seed_09_async_resource_management": ["timeline: ['setup', 'query', 'cleanup']"],
    "seed_10_minimal_logging": ["return value: 42", "kept log messages: []"],
    "seed_11_efficient_task_design": ["total: 12"],
    "seed_12_mock_dependencies": ["return value: mocked result (service called 1x)"],
    "seed_13_flow_testing": ["test_flow passed; fake charges: [25]"],
    "seed_14_custom_event_handler": [
        "handler events: ['Started: extract', 'Completed: extract', 'Started: load', "
        "'Completed: load']"
    ],
    "seed_15_custom_flow_config": ["greeting_flow", "return value: hello flowtel"],
    "seed_16_service_integration": ["return value: Lisbon: 21C"],
    "seed_17_database_integration": [
        "return value: ['Ada', 'Grace']",
        "db log: ['open', 'query Model', 'close']",
    ],
    "seed_18_event_types": [
        "event types: ['FLOW_START', 'FLOW_STOP', 'TASK_START', 'TASK_STOP', 'FLOW_MESSAGE', "
        "'NEW_ARTIFACT', 'NEW_RESULT']"
    ],
    "seed_19_flow_run_config": ["defaults match the seed"],
    "seed_20_basic_flow_usage": ["return value: {'orders': 3, 'status': 'processed'}"],
    "seed_21_dependency_injection": [
        "reader saw: {'task_data': {}, 'flow_data': {'shared': 'visible to all tasks'}}"
    ],
    "seed_22_async_support": ["return value: completed"],
    "seed_23_web_automation_flow": [
        "return value: completed",
        "browser calls: ['launch', 'goto https://example.com/login']",
    ],
    "seed_24_playwright_operation": ["return value: all done"],
    "seed_25_data_transform": [
        "return value: transformation complete",
        "transformed: {'size': 20, 'kind': 'PNG'}",
    ],
    "seed_26_flow_composition": [
        "return value: operation complete",
        "tasks: [('common_setup', 'completed'), ('specific_operation', 'completed')]",
    ],
    "seed_27_error_handling": ["return value: Flow completed despite error"],
    "seed_28_event_listening": [
        "Task started: say_hello",
        "Log message: hello from the task",
        "return value: hello",
    ],
    "seed_29_artifacts_and_results": [
        "artifacts: [{'key': 'api-response', 'type': 'json', 'description': 'API Response', "
        "'data': {'status': 'success'}}]"
    ],
    "seed_30_context_discovery": ["stack inspection, contextvars and injection agree: True"],
    "seed_31_event_data_structure": ["event data: flow=warning_flow task=warn level=30"],
}


def load_example(name: str):
    """Import examples/<name>.py as a fresh module (its top-level code runs)."""
    path = EXAMPLES_DIR / f"{name}.py"
    module_name = f"flowtel_example_{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(module_name, None)
    return module


def run_main(name: str) -> dict:
    """Import an example and call its main()."""
    return load_example(name).main()


# -- every example exists and runs as a script -------------------------------------------------


def test_every_seed_example_has_a_file():
    """examples/ holds exactly one runnable file per code example of the seed."""
    assert sorted(EXPECTED_STDOUT) == sorted(p.stem for p in EXAMPLES_DIR.glob("seed_*.py"))


@pytest.mark.parametrize("name", sorted(EXPECTED_STDOUT))
def test_example_runs_as_a_script(name):
    """`python examples/<file>.py` exits 0, without a traceback, printing its outcome."""
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / f"{name}.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert 0 == completed.returncode, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr, completed.stderr[-2000:]
    for expected in EXPECTED_STDOUT[name]:
        assert expected in completed.stdout, completed.stdout[-2000:]


# -- each example's real outcome ---------------------------------------------------------------


def test_quick_start_upper_cases_through_its_task():
    """Quick start: the flow returns the task's upper-cased text, at import and in main()."""
    outcome = run_main("seed_01_quick_start")
    assert "HELLO WORLD" == outcome["return_value"]
    assert "HELLO WORLD" == outcome["module_result"].flow_return_value
    assert [("process_data", "completed", "HELLO WORLD")] == outcome["tasks"]


def test_context_manager_style_runs_the_flow_in_its_with_block():
    """Context manager style: `with ComplexDataFlow() as flow` yields the Flow; execute() returns it."""
    outcome = run_main("seed_02_context_manager_style")
    assert outcome["flow"] is outcome["result"]
    assert {"records": ["alpha", "beta", "gamma"], "count": 3} == outcome["return_value"]
    assert {"record_count": 3} == outcome["flow_data"]
    assert ["clean_records", "summarise_records"] == outcome["tasks"]


def test_prefect_compatibility_url_pdf_returns_json_and_file():
    """Prefect example: url_pdf runs the PDF flow and builds both kinds of response."""
    outcome = run_main("seed_03_prefect_compatibility")
    assert outcome["browser_installed"] is True
    assert b"%PDF-1.4 fake pdf of https://httpbin.org/get" == outcome["pdf_from_json"]
    assert (
        outcome["json_response"]["pdf_base64"]
        == base64.b64encode(outcome["pdf_from_json"]).decode()
    )
    assert b"%PDF-1.4 fake pdf of https://example.com" == outcome["file_body"]
    assert "application/pdf" == outcome["file_media_type"]
    assert {"Content-Disposition": "attachment; filename=document.pdf"} == outcome["file_headers"]


def test_data_processing_pipeline_mixes_sync_and_async_tasks():
    """Pipeline: four mixed tasks share flow_data; invalid data stops the run with ValueError."""
    outcome = run_main("seed_04_data_processing_pipeline")
    assert "processing complete" == outcome["return_value"]
    assert [{"total": 12, "rows": 2}] == outcome["saved"]
    assert [
        ("fetch_data", "completed"),
        ("validate_data", "completed"),
        ("transform_data", "completed"),
        ("store_results", "completed"),
    ] == outcome["tasks"]
    assert ["raw_data", "transformed_data"] == outcome["flow_data_keys"]
    assert "Invalid data format" == str(outcome["bad_error"])
    assert outcome["bad_run"].flow_error is outcome["bad_error"]
    assert "failed" == outcome["bad_run"].flow_status
    assert [("fetch_data", "completed"), ("validate_data", "failed")] == outcome["bad_tasks"]
    assert [] == outcome["bad_saved"]


def test_web_automation_drives_the_browser_and_captures_print():
    """Web automation: tasks run in order, share page content, and the print is in the run log."""
    outcome = run_main("seed_05_web_automation")
    assert "automation complete" == outcome["return_value"]
    assert [
        "launch",
        "new_page",
        "goto https://example.com",
        "click #main-button",
    ] == outcome["browser_calls"]
    assert {"length": 63, "has_button": True} == outcome["analysis"]
    assert [
        ("setup_browser", "completed"),
        ("navigate_and_wait", "completed"),
        ("perform_interactions", "completed"),
        ("process_results", "completed"),
    ] == outcome["tasks"]
    assert "Browser setup complete" in outcome["log_messages"]


def test_task_level_recovery_returns_fallback_and_records_artifact():
    """Task-level recovery: the task catches, records an 'error' artifact, returns the fallback."""
    outcome = run_main("seed_06_task_level_recovery")
    assert "fallback_value" == outcome["return_value"]
    assert [
        {
            "key": "error_details",
            "type": "error",
            "description": None,
            "data": "service unavailable",
        }
    ] == outcome["artifacts"]
    assert [("resilient_task", "completed")] == outcome["tasks"]
    assert "completed" == outcome["flow_status"]


def test_flow_level_recovery_runs_cleanup_and_fallback():
    """Flow-level recovery: the failing task's error reaches the flow, which recovers."""
    outcome = run_main("seed_07_flow_level_recovery")
    assert "completed" == outcome["flow_status"]
    assert outcome["flow_error"] is None
    assert ["cleanup", "fallback"] == outcome["steps"]
    assert [
        ("main_task", "failed"),
        ("cleanup_task", "completed"),
        ("fallback_task", "completed"),
    ] == outcome["tasks"]
    assert "main task failed" == str(outcome["main_task_error"])


def test_context_manager_pattern_runs_a_flow_inside_the_block():
    """Resource management: the with block yields the resource and a flow runs inside it."""
    outcome = run_main("seed_08_context_manager_pattern")
    assert outcome["entered_same_object"] is True
    assert "ManagedResourceFlow" == outcome["return_value"]
    assert outcome["log_has_message"] is True


def test_async_resource_management_brackets_the_flow():
    """Async resources: setup, then the flow's task, then cleanup."""
    outcome = run_main("seed_09_async_resource_management")
    assert ["setup", "query", "cleanup"] == outcome["timeline"]
    assert "rows" == outcome["return_value"]


def test_minimal_logging_keeps_nothing_in_memory_but_still_raises_events():
    """Minimal logging: nothing in the run's log, messages still reach listeners."""
    outcome = run_main("seed_10_minimal_logging")
    assert 42 == outcome["return_value"]
    assert [] == outcome["log_messages"]
    assert "this message is not kept in memory" in outcome["event_messages"]
    assert "neither is this print" in outcome["event_messages"]
    assert (False, False) == (outcome["config"].log_to_memory, outcome["config"].log_to_console)


def test_efficient_task_design_updates_shared_data():
    """Efficient task: reads only the required keys and adds its result to flow_data."""
    outcome = run_main("seed_11_efficient_task_design")
    assert 12 == outcome["return_value"]
    assert {"price": 3, "quantity": 4, "comment": "not needed", "total": 12} == outcome["flow_data"]


def test_mock_dependencies_reaches_the_service_through_this_flow():
    """Mock dependencies: this_flow is the (subclassed) Flow built with setup(), holding the mock."""
    outcome = run_main("seed_12_mock_dependencies")
    assert "mocked result" == outcome["return_value"]
    assert 1 == outcome["service_calls"]
    assert "flow_with_services" == outcome["run"].flow_name
    assert ["testable_task"] == [t.task_name for t in outcome["run"].executed_tasks]


def test_flow_testing_runs_the_seed_test_function():
    """Flow testing: the seed's test_flow passes and the fake gateway was charged."""
    outcome = run_main("seed_13_flow_testing")
    assert [25] == outcome["fake_charges"]
    assert "Real_Payment_Gateway" == outcome["gateway_restored"]


def test_custom_event_handler_sees_task_starts_and_stops():
    """Custom event handler: one Started/Completed pair per task, in order."""
    outcome = run_main("seed_14_custom_event_handler")
    assert [
        "Started: extract",
        "Completed: extract",
        "Started: load",
        "Completed: load",
    ] == outcome["handler_events"]
    assert 3 == outcome["return_value"]
    assert [] == flow_events.event_listeners


def test_custom_flow_config_logs_to_console_and_prints_logs(capsys):
    """Custom config subclass: console lines while running, then the whole log printed again."""
    outcome = run_main("seed_15_custom_flow_config")
    out_lines = capsys.readouterr().out.splitlines()
    assert "hello flowtel" == outcome["return_value"]
    assert {"log_to_console": True, "print_logs": True} == outcome["config"]
    assert ("greet", "hello flowtel") in outcome["log_entries"]
    greeting_lines = [
        line for line in out_lines if line.endswith(": hello flowtel") and "value" not in line
    ]
    assert 2 == len(greeting_lines)
    for message in outcome["log_messages"]:
        assert 2 <= len([line for line in out_lines if line.endswith(message)]), message


def test_service_integration_processes_the_response():
    """Service integration: async call, then sync processing of the shared response."""
    outcome = run_main("seed_16_service_integration")
    assert "Lisbon: 21C" == outcome["return_value"]
    assert {"city": "Lisbon", "celsius": 21} == outcome["service_response"]
    assert [("call_service", None), ("process_response", "Lisbon: 21C")] == outcome["tasks"]


def test_database_integration_uses_an_async_session():
    """Database integration: the session opens, queries and closes; records are transformed."""
    outcome = run_main("seed_17_database_integration")
    assert ["Ada", "Grace"] == outcome["return_value"]
    assert ["open", "query Model", "close"] == outcome["db_log"]


def test_event_types_listing_matches_and_every_type_is_raised():
    """Event types: the seed's listing equals the enum, and one run raises every type."""
    outcome = run_main("seed_18_event_types")
    assert outcome["listed"] == outcome["members"]
    assert sorted(outcome["members"]) == outcome["seen_types"]


def test_flow_run_config_block_matches_flowtel_defaults():
    """Flow_Run__Config block: flowtel's defaults are the seed's, field by field."""
    outcome = run_main("seed_19_flow_run_config")
    assert 8 == len(outcome["seed_defaults"])
    assert outcome["seed_defaults"] == outcome["flowtel_defaults"]


def test_basic_flow_usage_runs_at_import():
    """Basic usage: `my_flow(data).execute()` at module level returns the task's data."""
    outcome = run_main("seed_20_basic_flow_usage")
    assert {"orders": 3, "status": "processed"} == outcome["return_value"]
    assert isinstance(outcome["flow_instance"], Flow)
    assert "my_flow" == outcome["flow_name"]
    assert [("process_data", "completed")] == outcome["tasks"]
    assert "flow-return-value" == outcome["results"][0]["key"]


def test_dependency_injection_scopes_task_and_flow_data():
    """Injection: task_data stays with its call, flow_data is seen by the next task."""
    outcome = run_main("seed_21_dependency_injection")
    assert {"task_data": {}, "flow_data": {"shared": "visible to all tasks"}} == outcome[
        "reader_saw"
    ]
    assert {"local": "only visible to this task"} == outcome["first_task_data"]
    assert {"shared": "visible to all tasks"} == outcome["flow_data"]


def test_async_support_runs_from_sync_code():
    """Async support: the async flow runs with execute() and its task sleeps a second."""
    outcome = run_main("seed_22_async_support")
    name, status, duration = outcome["task"]
    assert "completed" == outcome["return_value"]
    assert ("async_task", "completed") == (name, status)
    assert duration >= 0.9


def test_web_automation_flow_captures_task_prints():
    """WebAutomationFlow: prints inside async tasks become that task's log messages."""
    outcome = run_main("seed_23_web_automation_flow")
    assert "completed" == outcome["return_value"]
    assert ["launch", "goto https://example.com/login"] == outcome["browser_calls"]
    assert ("launch_browser", "launched browser") in outcome["log_entries"]
    assert ("navigate", "opening url: https://example.com/login") in outcome["log_entries"]


def test_playwright_operation_flow_method_named_execute():
    """Playwright operation: `obj.execute()` builds the Flow, `.execute()` runs it."""
    outcome = run_main("seed_24_playwright_operation")
    assert "pending" == outcome["status_before"]
    assert "all done" == outcome["return_value"]
    assert ["launch", "new_page"] == outcome["browser_calls"]
    assert [
        ("check_config", "completed"),
        ("launch_browser", "completed"),
        ("new_page", "completed"),
        ("perform_operation", "completed"),
    ] == outcome["tasks"]
    assert "checking config" in outcome["log_messages"]


def test_data_transform_pattern_shares_raw_and_transformed_data():
    """Data transformation: capture then transform through flow_data."""
    outcome = run_main("seed_25_data_transform")
    assert "transformation complete" == outcome["return_value"]
    assert {
        "raw_data": b"\x89PNG fake screenshot",
        "transformed": {"size": 20, "kind": "PNG"},
    } == outcome["flow_data"]


def test_flow_composition_runs_inherited_and_own_tasks():
    """Composition: an inherited task and the subclass's task run in the subclass's flow."""
    outcome = run_main("seed_26_flow_composition")
    assert "operation complete" == outcome["return_value"]
    assert "execute" == outcome["flow_name"]
    assert [("common_setup", "completed"), ("specific_operation", "completed")] == outcome["tasks"]


def test_error_handling_tolerates_the_task_failure():
    """Error handling: the raise_on_error=False task fails, the flow completes with its value."""
    outcome = run_main("seed_27_error_handling")
    assert "Flow completed despite error" == outcome["return_value"]
    assert "completed" == outcome["flow_status"]
    assert outcome["flow_error"] is None
    assert ("task_continues_on_error", "failed", "ValueError('Task error')") == outcome["task"]


def test_event_listening_listener_prints_do_not_feed_back_into_the_run(capsys):
    """Event listening: the seed's printing listener runs once per event; its output is not re-logged."""
    outcome = run_main("seed_28_event_listening")
    out = capsys.readouterr().out
    assert "hello" == outcome["return_value"]
    assert [] == [m for m in outcome["log_messages"] if m.startswith("Log message:")]
    assert [] == [m for m in outcome["log_messages"] if m.startswith("Task started:")]
    assert 1 == out.count("Task started: say_hello")
    assert 1 == out.count("Log message: hello from the task")
    assert "Log message: Log message:" not in out
    assert [] == flow_events.event_listeners


def test_artifacts_and_results_are_recorded_and_announced():
    """Artifacts and results: kept on the run and raised as NEW_ARTIFACT / NEW_RESULT events."""
    outcome = run_main("seed_29_artifacts_and_results")
    artifact = {
        "key": "api-response",
        "type": "json",
        "description": "API Response",
        "data": {"status": "success"},
    }
    result = {"key": "calculation-result", "description": "Final calculation value: 42"}
    assert [artifact] == outcome["artifacts"]
    assert [result] == outcome["results"]
    assert [
        ("new_artifact", {"artifact_data": artifact}),
        ("new_result", {"result_data": result}),
    ] == outcome["event_payloads"]
    assert outcome["return_value"] is None


def test_context_discovery_block_agrees_with_contextvars():
    """Context discovery: the seed's stack walk finds the same Flow flowtel injects."""
    outcome = run_main("seed_30_context_discovery")
    assert outcome["all_same"] is True
    assert outcome["found"]["injected"] is outcome["run"]
    assert outcome["outside_a_flow"] is None


def test_event_data_structure_block_matches_real_events():
    """Event data block: a real event's data has the seed's fields with the seed's types."""
    outcome = run_main("seed_31_event_data_structure")
    data = outcome["event_data"]
    assert isinstance(data, Flow_Run__Event_Data)
    assert {name: True for name in outcome["seed_fields"]} == outcome["field_types_match"]
    assert ("warning_flow", "warn", 30) == (data.flow_name, data.task_name, data.log_level)
    assert outcome["run"].flow_id == data.flow_run_id
    assert outcome["run"].executed_tasks[0].task_id == data.task_run_id
    assert Flow_Run__Event_Type.FLOW_MESSAGE.value == "flow_message"
