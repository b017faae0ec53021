"""Every string and value flowtel hands to OpenTelemetry, made OTLP-safe in one place.

OTLP needs valid UTF-8 (one lone surrogate, e.g. from ``os.fsdecode`` of a non-UTF-8 file
name, makes the exporter drop the whole batch) and collectors refuse oversized requests, so
every string is checked here: lone surrogates become U+FFFD, text over its limit is cut and
ends with a marker saying how much was cut, credentials in URLs are masked, and values of
secret-looking keys are redacted. Short ASCII strings (names, ids, ordinary messages) pass
after a few C-level checks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import traceback
from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_VALUE_LIMIT = 4096
DEFAULT_MESSAGE_LIMIT = 8192
DEFAULT_STACKTRACE_LIMIT = 16384
NAME_LIMIT = 1024
MAX_DEPTH = 8
REDACTED = "[REDACTED]"
TOO_DEEP = "[TOO DEEP]"
REPLACEMENT_CHARACTER = "\ufffd"
_INT64 = 2**63

_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "passphrase",
        "pwd",
        "secret",
        "secrets",
        "token",
        "tokens",
        "auth",
        "authorization",
        "authorisation",
        "credential",
        "credentials",
        "cookie",
        "cookies",
        "session",
        "signature",
        "apikey",
        "privatekey",
        "accesskey",
        "secretkey",
        "jwt",
        "bearer",
    }
)
# Long enough to be secret wherever they appear in a key written without separators
# (dbpassword, xapikey); the short words above count only as whole words (bypass, author).
_SECRET_INFIXES = ("password", "passwd", "passphrase", "apikey", "secretkey", "privatekey")
_NOT_LETTERS = re.compile(r"[^a-z]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# scheme://user:password@host -> the password part; the user name is kept to say whose it
# was. Quantifiers are bounded so that hostile text cannot make the search quadratic.
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]{0,31}://[^/\s:@]{0,256}:)[^/\s@]{1,2048}(?=@)"
)
_SURROGATES = re.compile("[\ud800-\udfff]")


def value_limit(default: int) -> int:
    """The attribute value length limit: OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, else ``default``."""
    raw = os.environ.get("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return default


# -- strings ---------------------------------------------------------------------------


def cut_marker(cut: int) -> str:
    """The marker that ends a value of which ``cut`` characters were cut off."""
    return f"…[cut {cut} chars]"


def safe_name(text: Any, limit: int = NAME_LIMIT) -> str:
    """A span name, attribute key or metric attribute value: valid UTF-8, at most ``limit``."""
    if type(text) is str and text.isascii() and len(text) <= limit:
        return text
    return _clean(text, limit, mask=False)


def safe_text(text: Any, limit: int) -> str:
    """A message, description or attribute text: valid UTF-8, URL passwords masked, bounded.

    A cut value is at most ``limit`` characters and ends with ``cut_marker()``.
    """
    if type(text) is str and text.isascii() and len(text) <= limit and "@" not in text:
        return text
    return _clean(text, limit, mask=True)


def _clean(text: Any, limit: int, mask: bool) -> str:
    if type(text) is not str:
        text = str.__str__(text) if isinstance(text, str) else text_of(text)
    if len(text) > limit:
        # Cut before the regular expressions run, so their cost is bounded by the limit.
        text = _cut(text, limit)
    if mask and "@" in text:
        text = mask_url_credentials(text)
        if len(text) > limit:
            text = _cut(text, limit)
    if not text.isascii():
        text = _SURROGATES.sub(REPLACEMENT_CHARACTER, text)
    return text


def _cut(text: str, limit: int) -> str:
    keep = limit - len(cut_marker(len(text) - limit))
    while keep > 0 and keep + len(cut_marker(len(text) - keep)) > limit:
        keep -= 1  # the count in the marker grew by a digit
    if keep < 1:  # no room for a marker: a tiny limit set by the user
        return text[: max(limit, 0)]
    return text[:keep] + cut_marker(len(text) - keep)


def text_of(value: Any) -> str:
    """``str(value)``, or a placeholder naming its type when ``__str__`` raises; never raises."""
    return _printed(str, value, "__str__")


def repr_of(value: Any) -> str:
    """``repr(value)``, or a placeholder naming its type when ``__repr__`` raises."""
    return _printed(repr, value, "__repr__")


def _printed(printer: Callable[[Any], str], value: Any, method: str) -> str:
    try:
        text = printer(value)
        return text if type(text) is str else str.__str__(text)
    except Exception as error:
        # The same stand-in as the engine's messages (flowtel._run.safe_str).
        return f"<unprintable {type(value).__qualname__}: {method} raised {type(error).__name__}>"


# -- attribute values --------------------------------------------------------------------


def otlp_safe(value: Any, limit: int) -> str | bool | int | float:
    """A scalar OTLP attribute value for anything: JSON for structures, else repr; never raises.

    Strings pass through ``safe_text`` (cut to ``limit`` with a marker).
    """
    try:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value if -_INT64 <= value < _INT64 else safe_text(str(int(value)), limit)
        if isinstance(value, float):
            return value
        if isinstance(value, str):
            return safe_text(value, limit)
        if isinstance(value, (dict, list, tuple)):
            try:
                text = json.dumps(value, default=repr_of, ensure_ascii=False)
            except (TypeError, ValueError, RecursionError):
                text = repr_of(value)
            return safe_text(text, limit)
        return safe_text(repr_of(value), limit)
    except Exception:
        return safe_text(f"<unprintable {type(value).__qualname__}>", limit)


def safe_attributes(attributes: Mapping[str, Any], limit: int) -> dict[str, Any]:
    """Attributes with safe keys and OTLP-safe values (str sequences stay sequences)."""
    safe: dict[str, Any] = {}
    for key, value in attributes.items():
        if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            safe[safe_name(key)] = [safe_text(item, limit) for item in value]
        else:
            safe[safe_name(key)] = otlp_safe(value, limit)
    return safe


# -- exceptions ------------------------------------------------------------------------


def exception_type(error: BaseException) -> str:
    """``module.QualName`` of the exception's type (just ``QualName`` for builtins)."""
    kind = type(error)
    module = getattr(kind, "__module__", None)
    name = getattr(kind, "__qualname__", kind.__name__)
    return safe_name(f"{module}.{name}" if module and module != "builtins" else name)


def exception_attributes(
    error: BaseException, message_limit: int, stacktrace_limit: int
) -> dict[str, str]:
    """The ``exception.*`` attributes of an exception event, safe and bounded; never raises."""
    return {
        "exception.type": exception_type(error),
        "exception.message": safe_text(text_of(error), message_limit),
        "exception.stacktrace": safe_text(stacktrace_of(error), stacktrace_limit),
    }


def stacktrace_of(error: BaseException) -> str:
    """The formatted traceback of ``error`` (with its chain), or as much of it as formats."""
    try:
        return "".join(traceback.format_exception(type(error), error, error.__traceback__))
    except Exception:
        try:
            frames = "".join(traceback.format_tb(error.__traceback__))
        except Exception:
            frames = ""
        return f"Traceback (most recent call last):\n{frames}{exception_type(error)}\n"


def error_description(error: BaseException, limit: int) -> str:
    """``Type: message`` for a span status (just the type when the message is empty)."""
    message = text_of(error)
    name = type(error).__name__
    return safe_text(f"{name}: {message}" if message else name, limit)


# -- secrets ---------------------------------------------------------------------------


def is_secret_key(key: str) -> bool:
    """True when a key names a secret: password, token, api_key, authorization, ...

    Case, separators and digits do not matter (``password2``, ``myPassword1``,
    ``X-Api-Key``, ``client_secret``, ``dbpassword``); short words count as whole words
    only, so ``author`` and ``bypass_cache`` are not secret.
    """
    words = [w for w in _NOT_LETTERS.split(_CAMEL_BOUNDARY.sub("_", key).lower()) if w]
    for index, word in enumerate(words):
        if word in _SECRET_WORDS:
            return True
        if index and words[index - 1] + word in _SECRET_WORDS:
            return True
    squashed = "".join(words)
    return any(infix in squashed for infix in _SECRET_INFIXES)


def redact(value: Any, depth: int = 0) -> Any:
    """``value`` with the values of secret-looking keys replaced; never raises.

    Looks into every ``Mapping``, list, tuple (named tuples by field name), dataclass,
    attrs class and pydantic-style model; what lies deeper than ``MAX_DEPTH`` levels
    becomes ``TOO_DEEP``, so nothing below the limit is exported unchecked.
    """
    try:
        return _redact(value, depth)
    except Exception:
        return f"<unprintable {type(value).__qualname__}>"


def _redact(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (str, bool, int, float, bytes)):
        return value
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    fields = _fields(value)
    if fields is not None:
        return {
            key: REDACTED
            if isinstance(key, str) and is_secret_key(key)
            else _redact(item, depth + 1)
            for key, item in fields.items()
        }
    if isinstance(value, (list, tuple)):
        return [_redact(item, depth + 1) for item in value]
    return value


def _fields(value: Any) -> Mapping[Any, Any] | None:
    """The named fields of a structure, or None for anything that has none."""
    if isinstance(value, Mapping):
        return value
    kind = type(value)
    if isinstance(value, tuple):
        names = getattr(kind, "_fields", None)  # a named tuple
        return dict(zip(names, value, strict=False)) if isinstance(names, tuple) else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    attrs_fields = getattr(kind, "__attrs_attrs__", None)
    if attrs_fields is not None and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in attrs_fields}
    model_fields = getattr(kind, "model_fields", None)  # pydantic 2
    if model_fields is None:
        model_fields = getattr(kind, "__fields__", None)  # pydantic 1
    if isinstance(model_fields, Mapping) and not isinstance(value, type):
        return {name: getattr(value, name, None) for name in model_fields}
    return None


def mask_url_credentials(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL replaced."""
    if "@" not in text:
        return text
    return _URL_PASSWORD.sub(lambda match: match["head"] + REDACTED, text)
