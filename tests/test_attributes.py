"""Unit tests of flowtel.telemetry._attributes: OTLP-safe values, limits, secret redaction."""

from __future__ import annotations

import datetime

import pytest

from flowtel.telemetry._attributes import (
    DEFAULT_VALUE_LIMIT,
    REDACTED,
    is_secret_key,
    mask_url_credentials,
    otlp_safe,
    redact,
    value_limit,
)


class Point:
    def __repr__(self):
        return "Point(1, 2)"


class BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr for you")


class BadStr(str):
    """A str subclass whose len() raises: the cut itself fails."""

    def __len__(self):
        raise RuntimeError("no len")


# -- value_limit -----------------------------------------------------------------------


def test_default_value_limit_is_a_few_kib():
    """flowtel's default attribute value limit is 4096 characters."""
    assert 4096 == DEFAULT_VALUE_LIMIT


def test_value_limit_uses_the_default_without_the_env(monkeypatch):
    """Without OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT the given default is the limit."""
    monkeypatch.delenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", raising=False)
    assert 777 == value_limit(777)


def test_value_limit_prefers_the_env(monkeypatch):
    """OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, when set to a positive int, is the limit."""
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", " 64 ")
    assert 64 == value_limit(4096)


@pytest.mark.parametrize("raw", ["", "0", "-5", "lots", "1.5"])
def test_value_limit_ignores_unusable_env_values(monkeypatch, raw):
    """Empty, zero, negative or non-integer env values fall back to the default."""
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", raw)
    assert 4096 == value_limit(4096)


# -- otlp_safe -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (0, 0),
        (-(2**63), -(2**63)),
        (2**63 - 1, 2**63 - 1),
        (2**63, "9223372036854775808"),
        (1.25, 1.25),
        ("text", "text"),
        ("", ""),
        ({"a": 1, "b": [True, None]}, '{"a": 1, "b": [true, null]}'),
        ([1, 2.5, "x"], '[1, 2.5, "x"]'),
        ((1, 2), "[1, 2]"),
        ({"é": "ü"}, '{"é": "ü"}'),
        ({"p": Point()}, '{"p": "Point(1, 2)"}'),
        ({"d": datetime.date(2020, 5, 17)}, '{"d": "datetime.date(2020, 5, 17)"}'),
        (Point(), "Point(1, 2)"),
        (None, "None"),
        (b"raw", "b'raw'"),
        (frozenset({3}), "frozenset({3})"),
    ],
)
def test_otlp_safe_values(value, expected):
    """Scalars stay, structures become JSON, everything else its repr."""
    actual = otlp_safe(value, 1000)
    assert (expected, type(expected)) == (actual, type(actual))


def test_otlp_safe_json_keys_that_are_not_strings():
    """Dicts with non-string keys still become JSON (json's own key conversion)."""
    assert '{"1": "one", "2.5": "x"}' == otlp_safe({1: "one", 2.5: "x"}, 1000)


def test_otlp_safe_circular_structure_falls_back_to_repr():
    """A self-referencing list cannot be JSON; its repr is used instead."""
    loop = [1]
    loop.append(loop)
    assert "[1, [...]]" == otlp_safe(loop, 1000)


def test_otlp_safe_never_raises_for_a_raising_repr():
    """An object whose repr raises gives a placeholder naming its type, not an exception."""
    assert "<unrepresentable BadRepr: repr() raised RuntimeError>" == otlp_safe(BadRepr(), 1000)


def test_otlp_safe_never_raises_for_a_raising_repr_inside_a_structure():
    """A structure holding an object whose repr raises still gives a string."""
    assert str is type(otlp_safe({"bad": BadRepr(), "good": 1}, 1000))


def test_otlp_safe_never_raises_when_even_cutting_fails():
    """A string whose length cannot be taken still yields some string value."""
    assert str is type(otlp_safe(BadStr("abc"), 10))


@pytest.mark.parametrize(
    "value",
    ["a" * 50, ["a" * 30, "b" * 30], {"k": "v" * 60}, Point(), 10**30],
)
def test_otlp_safe_cuts_text_to_the_limit(value):
    """Every string produced (plain, JSON, repr, big int) is at most ``limit`` characters."""
    assert 10 == len(otlp_safe(value, 10))


def test_otlp_safe_keeps_text_at_the_limit_whole():
    """A value exactly at the limit is not cut."""
    assert "x" * 10 == otlp_safe("x" * 10, 10)


def test_otlp_safe_cut_keeps_the_start():
    """The cut keeps the beginning of the text."""
    assert '{"rows": [' == otlp_safe({"rows": list(range(100))}, 10)


# -- secret keys and redaction ---------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWORD",
        "db_password",
        "passwd",
        "passphrase",
        "token",
        "access_token",
        "refreshToken",
        "secret",
        "client_secret",
        "api_key",
        "api-key",
        "apikey",
        "X-API-Key",
        "authorization",
        "Authorization",
        "proxy_authorisation",
        "credentials",
        "private_key",
        "session_id",
        "cookie",
        "signature",
    ],
)
def test_secret_looking_keys_are_secret(key):
    """Keys naming passwords, tokens, secrets, API keys, authorization... are secret."""
    assert True is is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["user", "name", "count", "path", "url", "rows", "amount", "email", "id"]
)
def test_ordinary_keys_are_not_secret(key):
    """Ordinary keys are kept."""
    assert False is is_secret_key(key)


@pytest.mark.parametrize("key", ["author", "passenger_count", "compass_heading", "bypass_cache"])
def test_words_merely_containing_secret_fragments_are_not_secret(key):
    """Keys that only contain 'auth'/'pass' inside another word are not redacted."""
    assert False is is_secret_key(key)


def test_redact_replaces_values_of_secret_keys_at_any_depth():
    """Secret keys are redacted in nested dicts and in dicts inside lists."""
    value = {
        "user": "ann",
        "password": "hunter2",
        "config": {"api_key": "k", "retries": 3, "auth": {"token": "t"}},
        "hosts": [{"name": "a", "secret": "s"}, "plain"],
    }
    assert {
        "user": "ann",
        "password": REDACTED,
        "config": {"api_key": REDACTED, "retries": 3, "auth": REDACTED},
        "hosts": [{"name": "a", "secret": REDACTED}, "plain"],
    } == redact(value)


def test_redact_does_not_change_its_input():
    """redact() returns a new structure and leaves the caller's dict alone."""
    value = {"token": "t", "inner": {"password": "p"}}
    redact(value)
    assert {"token": "t", "inner": {"password": "p"}} == value


def test_redact_keeps_non_string_keys_and_scalars():
    """Non-string keys and plain scalars pass through unchanged."""
    assert ({1: "one", None: 2}, 5, "text") == (
        redact({1: "one", None: 2}),
        redact(5),
        redact("text"),
    )


def test_redacted_marker():
    """Redacted values read [REDACTED]."""
    assert "[REDACTED]" == REDACTED


def test_redact_survives_very_deep_nesting():
    """Deeply nested structures do not raise (recursion is bounded)."""
    deep = {"password": "p"}
    for _ in range(2000):
        deep = {"next": deep}
    assert dict is type(redact(deep))


def test_mask_url_credentials_hides_passwords_in_urls():
    """The password of a user:password@ URL is masked; user, host and other text stay."""
    text = "could not reach http://user:s3cret@collector:4318/v1/traces (and postgres://a:b@db/x)"
    expected = (
        "could not reach http://user:[REDACTED]@collector:4318/v1/traces"
        " (and postgres://a:[REDACTED]@db/x)"
    )
    assert expected == mask_url_credentials(text)


def test_mask_url_credentials_leaves_urls_without_passwords():
    """URLs without a password, and e-mail addresses, are left as they are."""
    text = "http://collector:4318 grpc://token@host admin@example.com"
    assert text == mask_url_credentials(text)
