"""Unit tests of flowtel.telemetry._attributes: safe strings, limits and cut markers, exceptions, redaction."""

from __future__ import annotations

import datetime

import pytest

from flowtel.telemetry._attributes import (
    DEFAULT_MESSAGE_LIMIT,
    DEFAULT_STACKTRACE_LIMIT,
    DEFAULT_VALUE_LIMIT,
    MAX_DEPTH,
    NAME_LIMIT,
    REDACTED,
    TOO_DEEP,
    cut_marker,
    error_description,
    exception_attributes,
    exception_type,
    is_secret_key,
    mask_url_credentials,
    otlp_safe,
    redact,
    repr_of,
    safe_attributes,
    safe_name,
    safe_text,
    text_of,
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
    assert "<unprintable BadRepr: __repr__ raised RuntimeError>" == otlp_safe(BadRepr(), 1000)


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


# -- safe strings: valid UTF-8, bounded, marked when cut -----------------------------------------

LONE_SURROGATE = "r-\udcff.csv"  # os.fsdecode(b"r-\xff.csv")


class RaisingStr:
    def __str__(self):
        raise RuntimeError("no str")

    def __repr__(self):
        raise ValueError("no repr")


class RaisingStrError(Exception):
    def __str__(self):
        raise RuntimeError("no str for this error")


def test_documented_default_limits():
    """Messages 8192, stacktraces 16384, names 1024 characters; depth 8."""
    assert (8192, 16384, 1024, 8) == (
        DEFAULT_MESSAGE_LIMIT,
        DEFAULT_STACKTRACE_LIMIT,
        NAME_LIMIT,
        MAX_DEPTH,
    )


def test_lone_surrogates_become_replacement_characters():
    """A lone surrogate (undecodable file name) becomes U+FFFD; the text encodes as UTF-8."""
    assert ("r-\ufffd.csv", "r-\ufffd.csv") == (
        safe_text(LONE_SURROGATE, 100),
        safe_name(LONE_SURROGATE),
    )
    assert "\ufffd\ufffd" == safe_text("\ud83d\ude00", 100)  # a split pair is two lone halves


def test_valid_non_ascii_text_is_kept():
    """Accents, CJK, emoji, NUL and control characters are valid UTF-8 and pass unchanged."""
    text = "é中😀\x00\x1b[31m\u2028"
    assert (text, text) == (safe_text(text, 100), safe_name(text))


def test_short_ascii_strings_are_returned_as_they_are():
    """The fast path: an ordinary short ASCII string is the same object."""
    text = "load_rows"
    assert (True, True) == (safe_text(text, 100) is text, safe_name(text) is text)


def test_a_cut_value_ends_with_a_marker_saying_how_much_was_cut():
    """Text over the limit keeps its start, is exactly the limit long, and says how much was cut."""
    cut = safe_text("a" * 1000, 100)
    kept = 100 - len(cut_marker(1000 - 84))
    assert ("a" * kept + "…[cut 916 chars]", 100) == (cut, len(cut))


def test_cut_text_is_at_most_the_limit_across_digit_boundaries():
    """Around the lengths where the count gains a digit, the result still fits the limit."""
    lengths = {len(safe_text("b" * n, 30)) for n in range(31, 1200)}
    assert {30} == lengths


def test_tiny_limits_cut_without_marker():
    """A limit too small to hold a marker cuts plainly (never longer than the limit)."""
    assert "abcde" == safe_text("abcdefghijklmnop", 5)


def test_names_are_bounded():
    """Span names and keys are cut to NAME_LIMIT characters with a marker."""
    name = safe_name("n" * 5000)
    assert (NAME_LIMIT, True) == (len(name), name.endswith("chars]"))


def test_surrogates_are_replaced_after_a_cut_too():
    """A long text with surrogates is cut and still valid UTF-8."""
    text = safe_text("\udcff" * 50_000, 1000)
    assert (1000, text[:3]) == (len(text), "\ufffd" * 3)
    text.encode("utf-8")


def test_safe_text_masks_url_passwords_but_safe_name_does_not_scan():
    """Message texts get URL passwords masked; names are only made valid and bounded."""
    assert "see https://bot:[REDACTED]@git.example/x" == safe_text(
        "see https://bot:tok123@git.example/x", 1000
    )


def test_non_string_input_is_made_a_string():
    """Non-str input (and str subclasses) become plain str; a raising __str__ a placeholder."""
    assert ("42", "abc", str) == (
        safe_name(42),
        safe_text(BadStr("abc"), 10),
        type(safe_text(BadStr("abc"), 10)),
    )
    assert "<unprintable RaisingStr: __str__ raised RuntimeError>" == safe_text(RaisingStr(), 1000)


def test_text_of_and_repr_of_never_raise():
    """str()/repr() of objects whose __str__/__repr__ raise give placeholders naming the error."""
    assert (
        "<unprintable RaisingStr: __str__ raised RuntimeError>",
        "<unprintable RaisingStr: __repr__ raised ValueError>",
    ) == (text_of(RaisingStr()), repr_of(RaisingStr()))


def test_hostile_url_like_text_is_masked_in_linear_time():
    """Long runs of scheme-like text with '@' do not make the URL search quadratic."""
    hostile = "a" * 200_000 + "@" + "http://" * 50_000 + "@"
    masked = safe_text(hostile, 10**7)
    assert len(hostile) == len(masked)


def test_otlp_safe_marks_cut_structures_and_replaces_surrogates_in_json():
    """JSON of a structure holding surrogates is valid UTF-8; a long one ends with the marker."""
    value = otlp_safe({"file": LONE_SURROGATE, "rows": list(range(1000))}, 60)
    assert (True, True, 60) == (
        value.startswith('{"file": "r-\ufffd.csv", "rows": [0, 1'),
        value.endswith("chars]"),
        len(value),
    )


def test_otlp_safe_survives_deep_nesting():
    """A structure nested far past the recursion limit still gives a bounded string."""
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    value = otlp_safe(deep, 100)
    assert (str, True) == (type(value), len(value) <= 100)


def test_safe_attributes_keeps_string_sequences_and_cleans_keys():
    """Tag lists stay lists of safe strings; keys and other values are made safe."""
    assert {"flowtel.tags": ["a\ufffd", "b"], "k\ufffd": "x" * 3} == safe_attributes(
        {"flowtel.tags": ["a\udcff", "b"], "k\udcff": "xxx"}, 100
    )


# -- exceptions ----------------------------------------------------------------------------------


def test_exception_attributes_are_bounded_and_valid():
    """type, message and stacktrace of a huge, surrogate-laden exception are safe and cut."""
    try:
        raise ValueError("\udcff" + "m" * 100_000)
    except ValueError as error:
        attributes = exception_attributes(error, 500, 800)
    assert ("ValueError", 500, 800) == (
        attributes["exception.type"],
        len(attributes["exception.message"]),
        len(attributes["exception.stacktrace"]),
    )
    assert "\ufffd" == attributes["exception.message"][0]
    assert True is attributes["exception.stacktrace"].startswith("Traceback")
    for text in attributes.values():
        text.encode("utf-8")


def test_exception_whose_str_raises_is_described_not_raised():
    """An exception whose __str__ raises gets a placeholder message and a stacktrace."""
    try:
        raise RaisingStrError()
    except RaisingStrError as error:
        attributes = exception_attributes(error, 500, 5000)
        description = error_description(error, 500)
    assert (
        "<unprintable RaisingStrError: __str__ raised RuntimeError>",
        "RaisingStrError: <unprintable RaisingStrError: __str__ raised RuntimeError>",
    ) == (attributes["exception.message"], description)
    assert True is ("RaisingStrError" in attributes["exception.stacktrace"])


def test_exception_type_is_qualified_except_for_builtins():
    """exception.type: QualName for builtins, module.QualName otherwise (as the SDK records)."""
    assert ("KeyError", f"{__name__}.RaisingStrError") == (
        exception_type(KeyError("k")),
        exception_type(RaisingStrError()),
    )


# -- secret keys: case, separators, digits; every kind of structure ------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "password2",
        "myPassword1",
        "X-Api-Key",
        "XApiKey",
        "client_secret",
        "clientSecret2",
        "DBPassword",
        "dbpassword",
        "x_apikey",
        "API KEY",
        "oauth2_token",
        "Set-Cookie",
    ],
)
def test_secret_keys_with_digits_case_and_separators(key):
    """Secret words are found whatever the case, separators or digits around them."""
    assert True is is_secret_key(key)


def test_redact_looks_into_every_mapping_and_field_structure():
    """MappingProxyType, UserDict, dataclasses, named tuples, attrs- and pydantic-style objects."""
    import collections
    import dataclasses
    import types

    @dataclasses.dataclass
    class Login:
        user: str
        password: str

    Creds = collections.namedtuple("Creds", ["user", "api_key"])

    class AttrsStyle:
        __attrs_attrs__ = (types.SimpleNamespace(name="user"), types.SimpleNamespace(name="token"))

        def __init__(self):
            self.user, self.token = "ann", "t-1"

    class PydanticStyle:
        model_fields = {"user": None, "client_secret": None}

        def __init__(self):
            self.user, self.client_secret = "bob", "s-1"

    value = {
        "proxy": types.MappingProxyType({"password2": "p"}),
        "user_dict": collections.UserDict({"myPassword1": "p"}),
        "login": Login("ann", "hunter2"),
        "creds": Creds("ann", "k-1"),
        "attrs": AttrsStyle(),
        "model": PydanticStyle(),
    }
    assert {
        "proxy": {"password2": REDACTED},
        "user_dict": {"myPassword1": REDACTED},
        "login": {"user": "ann", "password": REDACTED},
        "creds": {"user": "ann", "api_key": REDACTED},
        "attrs": {"user": "ann", "token": REDACTED},
        "model": {"user": "bob", "client_secret": REDACTED},
    } == redact(value)


def test_redact_replaces_what_lies_past_the_depth_limit():
    """Below MAX_DEPTH levels values are replaced by [TOO DEEP], never exported raw."""
    deep = {"password": "p", "note": "n"}
    for _ in range(MAX_DEPTH):
        deep = {"next": deep}
    redacted = redact(deep)
    for _ in range(MAX_DEPTH):
        redacted = redacted["next"]
    assert TOO_DEEP == redacted


def test_redact_never_raises():
    """A mapping whose items() raises gives a placeholder, not an exception."""
    from collections.abc import Mapping

    class Broken(Mapping):
        def __getitem__(self, key):
            raise KeyError(key)

        def __iter__(self):
            raise RuntimeError("no iteration")

        def __len__(self):
            return 1

    assert "<unprintable test_redact_never_raises.<locals>.Broken>" == redact(Broken())
