"""Data safety of the telemetry mapping: valid UTF-8, bounded texts with markers, flowtel's own
exception event, unprintable objects, and one redaction policy for every export path.

Everything runs through the real SDK (the ``flowtel_telemetry`` fixture) and, where the wire
format matters, through the OTLP protobuf encoders the exporters use.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import types

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.trace import StatusCode

import flowtel
from flowtel import Flow, Flow_Run__Config, flow, task
from flowtel.testing import capture_telemetry

SURROGATE = "\udcff"  # what os.fsdecode(b"\xff") gives for a file name that is not UTF-8


class Unprintable:
    """An object whose __str__, __repr__ and __bool__ all raise."""

    def __str__(self):
        raise RuntimeError("no str")

    def __repr__(self):
        raise RuntimeError("no repr")

    def __bool__(self):
        raise RuntimeError("no truth value")


class UnprintableError(Exception):
    """An exception whose __str__ raises."""

    def __str__(self):
        raise RuntimeError("no str for this error")


def every_string(captured):
    """Every string flowtel handed to the SDK: names, keys, values, events, statuses, logs."""
    found = []
    for span in captured.spans:
        found.append(span.name)
        found.append(span.status.description or "")
        for key, value in (span.attributes or {}).items():
            found.append(key)
            found.extend(value if isinstance(value, tuple) else [value])
        for event in span.events:
            found.append(event.name)
            for key, value in (event.attributes or {}).items():
                found.extend([key, value])
    for record in captured.logs:
        found.append(record.log_record.body)
        for key, value in (record.log_record.attributes or {}).items():
            found.extend([key, value])
    for point in captured.metric_points():
        for key, value in point.attributes.items():
            found.extend([key, value])
    return [text for text in found if isinstance(text, str)]


def not_utf8(texts):
    """The texts that cannot be encoded as UTF-8."""
    bad = []
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            bad.append(text)
    return bad


# -- valid UTF-8 everywhere ----------------------------------------------------------------------


@task(name=f"read-{SURROGATE}", tags=[f"tag-{SURROGATE}"])
def read_file(name, this_task=None):
    this_task.log_warning(f"task saw {name}")
    print(f"printed {name}")
    raise OSError(f"cannot open {name}")


@flow(name=f"ingest-{SURROGATE}", flow_run_name="run-{name}", tags=[f"t-{SURROGATE}"])
def ingest(name, this_flow: Flow):
    this_flow.log_info(f"listing {name}")
    print(f"found {name}")
    this_flow.add_flow_artifact(
        key=f"file-{SURROGATE}",
        description=f"about {name}",
        data={f"k{SURROGATE}": [name, 1]},
        artifact_type=f"csv{SURROGATE}",
    )
    this_flow.add_flow_result(key=f"count-{SURROGATE}", description=name)
    read_file(name)


def test_lone_surrogates_in_every_channel_become_valid_utf8(flowtel_telemetry):
    """Names, tags, run names, messages, prints, artifacts, results, errors: all valid UTF-8."""
    with pytest.raises(OSError):
        ingest(f"r-{SURROGATE}.csv").execute()
    texts = every_string(flowtel_telemetry)
    assert [] == not_utf8(texts)
    assert {"ingest-\ufffd", "read-\ufffd"} == {span.name for span in flowtel_telemetry.spans}
    flow_span = flowtel_telemetry.span("ingest-\ufffd")
    assert ("run-r-\ufffd.csv", ("t-\ufffd",), "r-\ufffd.csv") == (
        flow_span.attributes["flowtel.flow.run_name"],
        flow_span.attributes["flowtel.tags"],
        flow_span.attributes["flowtel.result.count-\ufffd"],
    )
    bodies = flowtel_telemetry.log_bodies()
    for line in ("listing r-\ufffd.csv", "found r-\ufffd.csv", "printed r-\ufffd.csv"):
        assert True is (line in bodies), f"{line!r} missing from {bodies}"


def test_surrogate_laden_runs_encode_with_the_otlp_encoders(flowtel_telemetry):
    """The exporters' own protobuf encoders accept every span and log record of such a run."""
    with pytest.raises(OSError):
        ingest(f"{SURROGATE}\udc80\ud800").execute()
    spans_message = encode_spans(flowtel_telemetry.spans)
    logs_message = encode_logs(flowtel_telemetry.logs)
    assert (True, True) == (
        len(spans_message.SerializeToString()) > 0,
        len(logs_message.SerializeToString()) > 0,
    )


def test_metric_attributes_are_valid_utf8(flowtel_telemetry):
    """Flow and task names in metric attributes have their surrogates replaced."""
    with pytest.raises(OSError):
        ingest("x").execute()
    names = {
        (
            point.attributes.get("cicd.pipeline.name"),
            point.attributes.get("cicd.pipeline.task.name"),
        )
        for point in flowtel_telemetry.metric_points("flowtel.task.runs")
    }
    assert {("ingest-\ufffd", "read-\ufffd")} == names


# -- bounded texts, with markers -----------------------------------------------------------------


@flow()
def loud_flow(size, this_flow: Flow):
    this_flow.log_info("L" * size)


def test_a_huge_message_is_cut_to_the_message_limit_with_a_marker(flowtel_telemetry):
    """An 8 MB log_info becomes a log body and event message of 8192 chars ending in the marker."""
    run = loud_flow(8 * 1024 * 1024).execute()
    (body,) = flowtel_telemetry.log_bodies()
    (event,) = [
        e for e in flowtel_telemetry.span("loud_flow").events if e.name == "flowtel.message"
    ]
    expected_cut = 8 * 1024 * 1024 - (8192 - len("…[cut 8380425 chars]"))
    assert (8192, f"…[cut {expected_cut} chars]") == (
        len(body),
        body[-len("…[cut 8380425 chars]") :],
    )
    assert body == event.attributes["message"]
    assert 8 * 1024 * 1024 == len(run.log_messages()[1])  # the run's own log keeps it whole


def test_message_limit_is_configurable(flowtel_telemetry):
    """configure(message_limit=...) bounds message bodies; the default comes back after."""
    flowtel.configure(install_providers=False, message_limit=100)
    try:
        loud_flow(1000).execute()
    finally:
        flowtel.configure(install_providers=False, message_limit=8192)
    (body,) = flowtel_telemetry.log_bodies()
    assert ("L" * 84 + "…[cut 916 chars]") == body


@pytest.mark.parametrize("name", ["message_limit", "stacktrace_limit"])
@pytest.mark.parametrize("bad", [0, -1, 1.5, "100", True])
def test_limits_must_be_positive_ints(name, bad):
    """configure() rejects a limit that is not a positive int, naming the option."""
    with pytest.raises(ValueError, match=name):
        flowtel.configure(install_providers=False, **{name: bad})


@flow()
def shouting_failure(size):
    raise ValueError("E" * size)


def exception_event(span):
    """The attributes of the one exception event of ``span``."""
    (event,) = [event for event in span.events if event.name == "exception"]
    return event.attributes


def test_a_huge_exception_message_is_bounded_everywhere(flowtel_telemetry):
    """A 10 MB exception message: status, exception.message and stacktrace are all cut, marked."""
    with pytest.raises(ValueError) as raised:
        shouting_failure(10_000_000).execute()
    span = flowtel_telemetry.span("shouting_failure")
    event = exception_event(span)
    assert (8192, 8192, 16384) == (
        len(span.status.description),
        len(event["exception.message"]),
        len(event["exception.stacktrace"]),
    )
    for text in (
        span.status.description,
        event["exception.message"],
        event["exception.stacktrace"],
    ):
        assert True is text.endswith(" chars]"), text[-40:]
    assert 10_000_000 == len(str(raised.value))  # the user's exception is untouched
    assert 8192 >= max(len(body) for body in flowtel_telemetry.log_bodies())


def test_stacktrace_limit_is_configurable(flowtel_telemetry):
    """configure(stacktrace_limit=...) bounds exception.stacktrace."""
    flowtel.configure(install_providers=False, stacktrace_limit=300)
    try:
        with pytest.raises(ValueError):
            shouting_failure(10).execute()
    finally:
        flowtel.configure(install_providers=False, stacktrace_limit=16384)
    stacktrace = exception_event(flowtel_telemetry.span("shouting_failure"))["exception.stacktrace"]
    assert (300, "Traceback (most recent call last):") == (len(stacktrace), stacktrace[:34])


def test_event_texts_respect_a_smaller_otel_attribute_value_length_limit(monkeypatch):
    """With OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT below the message limit, flowtel cuts (with marker)
    to it, so the SDK's own unmarked cut never applies."""
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "200")
    with capture_telemetry() as captured:
        loud_flow(5000).execute()
        with pytest.raises(ValueError):
            shouting_failure(5000).execute()
    (message_event,) = [e for e in captured.span("loud_flow").events if e.name == "flowtel.message"]
    event = exception_event(captured.span("shouting_failure"))
    for text in (
        message_event.attributes["message"],
        event["exception.message"],
        event["exception.stacktrace"],
    ):
        assert (200, True) == (len(text), text.endswith(" chars]"))


# -- the exception event is flowtel's, and unprintable errors never break telemetry ---------------


def test_one_exception_event_per_failing_span_with_flowtel_attributes(flowtel_telemetry):
    """A failure records exactly one exception event with type, message and stacktrace."""
    with pytest.raises(ValueError):
        shouting_failure(3).execute()
    span = flowtel_telemetry.span("shouting_failure")
    (event,) = [event for event in span.events if event.name == "exception"]
    assert ("ValueError", "EEE", True) == (
        event.attributes["exception.type"],
        event.attributes["exception.message"],
        "in shouting_failure" in event.attributes["exception.stacktrace"],
    )


@task()
def unprintable_failure():
    raise UnprintableError()


@flow()
def unprintable_flow():
    unprintable_failure()


def test_an_exception_whose_str_raises_is_recorded_and_re_raised(flowtel_telemetry):
    """The user gets their own exception; both spans end with a placeholder message."""
    with pytest.raises(UnprintableError):
        unprintable_flow().execute()
    placeholder = "<unprintable UnprintableError: __str__ raised RuntimeError>"
    for name in ("unprintable_flow", "unprintable_failure"):
        span = flowtel_telemetry.span(name)
        assert (StatusCode.ERROR, f"UnprintableError: {placeholder}", placeholder) == (
            span.status.status_code,
            span.status.description,
            exception_event(span)["exception.message"],
        )
    assert True is any(placeholder in body for body in flowtel_telemetry.log_bodies())


@flow()
def unprintable_values(this_flow: Flow):
    this_flow.log_info(Unprintable())
    this_flow.add_flow_artifact(
        key="obj", data=Unprintable(), description=Unprintable(), artifact_type=Unprintable()
    )
    this_flow.add_flow_result(key="res", description=Unprintable())
    return Unprintable()


def test_unprintable_objects_in_messages_artifacts_results_and_return_values(flowtel_telemetry):
    """Objects whose __str__/__repr__ raise never break a run: placeholders are exported."""
    flowtel.configure(install_providers=False, record_return_values=True)
    try:
        run = unprintable_values().execute()
    finally:
        flowtel.configure(install_providers=False, record_return_values=False)
    attributes = flowtel_telemetry.span("unprintable_values").attributes
    assert ("completed", "success") == (run.flow_status, attributes["cicd.pipeline.result"])
    assert (
        "<unprintable Unprintable: __repr__ raised RuntimeError>",
        "<unprintable Unprintable: __repr__ raised RuntimeError>",
        "<unprintable Unprintable: __repr__ raised RuntimeError>",
        "<unprintable Unprintable: __repr__ raised RuntimeError>",
        "<unprintable Unprintable: __repr__ raised RuntimeError>",
    ) == (
        attributes["flowtel.artifact.obj.data"],
        attributes["flowtel.artifact.obj.description"],
        attributes["flowtel.artifact.obj.type"],
        attributes["flowtel.result.res"],
        attributes["flowtel.return_value"],
    )
    assert ["<unprintable Unprintable: __str__ raised RuntimeError>"] == (
        flowtel_telemetry.log_bodies()
    )


# -- one redaction policy --------------------------------------------------------------------------


@dataclasses.dataclass
class Login:
    user: str
    password: str


@flow()
def secretive(this_flow: Flow):
    this_flow.add_flow_artifact(key="api_token", data="tok-1", description="tok-1 again")
    this_flow.add_flow_artifact(
        key="config",
        data={
            "login": Login("ann", "hunter2"),
            "proxy": types.MappingProxyType({"password2": "hunter3"}),
            "user_dict": collections.UserDict({"myPassword1": "hunter4"}),
            "headers": {"X-Api-Key": "hunter5", "client_secret": "hunter6"},
            "url": "postgres://ann:hunter7@db/x",
        },
    )
    this_flow.add_flow_result(key="db_password", description="hunter8")
    this_flow.add_flow_result(key="endpoint", description="https://ann:hunter9@host/")
    this_flow.log_info("connecting to https://ann:hunter10@host/")
    return {"access_token": "hunter11", "rows": 3}


SECRETS = [f"hunter{number}" for number in range(2, 12)] + ["tok-1"]


def leaked(captured):
    """The planted secrets that appear anywhere in the captured telemetry."""
    return sorted({s for text in every_string(captured) for s in SECRETS if s in text})


def test_no_secret_reaches_any_export_path(flowtel_telemetry):
    """Artifacts, results, messages: secret keys redacted at any depth, URL passwords masked."""
    run = secretive().execute()
    assert [] == leaked(flowtel_telemetry)
    attributes = flowtel_telemetry.span("secretive").attributes
    config = json.loads(attributes["flowtel.artifact.config.data"])
    assert (
        {
            "login": {"user": "ann", "password": "[REDACTED]"},
            "proxy": {"password2": "[REDACTED]"},
            "user_dict": {"myPassword1": "[REDACTED]"},
            "headers": {"X-Api-Key": "[REDACTED]", "client_secret": "[REDACTED]"},
            "url": "postgres://ann:[REDACTED]@db/x",
        },
        "[REDACTED]",
        "[REDACTED]",
        "[REDACTED]",
        "https://ann:[REDACTED]@host/",
    ) == (
        config,
        attributes["flowtel.artifact.api_token.data"],
        attributes["flowtel.artifact.api_token.description"],
        attributes["flowtel.result.db_password"],
        attributes["flowtel.result.endpoint"],
    )
    assert True is ("flow-return-value" in {r["key"] for r in run.flow_results})
    assert [] == [key for key in attributes if "flow-return-value" in key]


def test_flow_return_value_result_is_exported_redacted_only_when_recorded(flowtel_telemetry):
    """With record_return_values, the flow-return-value result is the redacted JSON value."""
    flowtel.configure(install_providers=False, record_return_values=True, export_level="DEBUG")
    try:
        secretive().execute()
    finally:
        flowtel.configure(install_providers=False, record_return_values=False, export_level="INFO")
    assert [] == leaked(flowtel_telemetry)
    attributes = flowtel_telemetry.span("secretive").attributes
    expected = {"access_token": "[REDACTED]", "rows": 3}
    assert (expected, expected) == (
        json.loads(attributes["flowtel.result.flow-return-value"]),
        json.loads(attributes["flowtel.return_value"]),
    )


def test_deeply_nested_secrets_are_replaced_not_exported(flowtel_telemetry):
    """Past the depth limit the value is [TOO DEEP]: a secret there never leaves raw."""
    deep = {"password": "hunter2"}
    for _ in range(20):
        deep = {"next": deep}

    @flow()
    def deep_flow(this_flow: Flow):
        this_flow.add_flow_artifact(key="deep", data=deep)

    deep_flow().execute()
    data = flowtel_telemetry.span("deep_flow").attributes["flowtel.artifact.deep.data"]
    assert ([], True) == (leaked(flowtel_telemetry), '"[TOO DEEP]"' in data)


def test_arguments_with_digit_and_camel_case_secret_keys_are_redacted(flowtel_telemetry):
    """record_arguments redacts password2, myPassword1 and friends inside any mapping."""

    @task()
    def connect(options):
        return None

    @flow()
    def connect_flow():
        connect(types.MappingProxyType({"password2": "hunter2", "myPassword1": "hunter3"}))

    flowtel.configure(install_providers=False, record_arguments=True)
    try:
        connect_flow().execute()
    finally:
        flowtel.configure(install_providers=False, record_arguments=False)
    arguments = json.loads(flowtel_telemetry.span("connect").attributes["flowtel.arguments"])
    assert {"options": {"password2": "[REDACTED]", "myPassword1": "[REDACTED]"}} == arguments


def test_failed_run_messages_mask_url_passwords(flowtel_telemetry):
    """An error whose message holds a URL with a password is exported masked everywhere."""

    @flow(flow_config=Flow_Run__Config(raise_flow_error=False))
    def connection_flow():
        raise ConnectionError("cannot reach https://ann:hunter2@host/api")

    connection_flow().execute()
    span = flowtel_telemetry.span("connection_flow")
    assert ([], "ConnectionError: cannot reach https://ann:[REDACTED]@host/api") == (
        leaked(flowtel_telemetry),
        span.status.description,
    )


def test_async_runs_record_unprintable_errors_too(flowtel_telemetry):
    """Async tasks and flows: an exception whose __str__ raises is recorded, then re-raised."""
    import asyncio

    @task()
    async def async_failure():
        raise UnprintableError()

    @flow()
    async def async_unprintable_flow():
        await async_failure()

    with pytest.raises(UnprintableError):
        asyncio.run(async_unprintable_flow().execute_async())
    placeholder = "<unprintable UnprintableError: __str__ raised RuntimeError>"
    assert [placeholder, placeholder] == [
        exception_event(flowtel_telemetry.span(name))["exception.message"]
        for name in ("async_failure", "async_unprintable_flow")
    ]
