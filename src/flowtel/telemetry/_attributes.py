"""Attribute values made OTLP-safe, in one place."""

from __future__ import annotations

import itertools
import json
import os
import re
from typing import Any

DEFAULT_VALUE_LIMIT = 4096
REDACTED = "[REDACTED]"
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
_WORD_BOUNDARY = re.compile(r"[^a-z0-9]+")
# scheme://user:password@host -> the password part; the user name is kept to say whose it was.
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^/\s@]*(?=@)")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def value_limit(default: int) -> int:
    """The attribute value length limit: OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, else ``default``."""
    raw = os.environ.get("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return default


def otlp_safe(value: Any, limit: int) -> str | bool | int | float:
    """A scalar OTLP attribute value for anything: JSON for structures, else repr; never raises.

    Strings longer than ``limit`` are cut to ``limit`` characters.
    """
    try:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value if -_INT64 <= value < _INT64 else _cut(str(value), limit)
        if isinstance(value, float):
            return value
        if isinstance(value, str):
            return _cut(value, limit)
        if isinstance(value, (dict, list, tuple)):
            try:
                text = json.dumps(value, default=_fallback, ensure_ascii=False)
            except (TypeError, ValueError, RecursionError):
                text = repr(value)
            return _cut(text, limit)
        return _cut(repr(value), limit)
    except Exception:
        return _cut(f"<unrepresentable {type(value).__qualname__}>", limit)


def _fallback(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__qualname__}>"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]


def is_secret_key(key: str) -> bool:
    """True when a key names a secret: password, token, api_key, authorization, ...

    Whole words count (``access_token``, ``X-Api-Key``, ``clientSecret``), not fragments
    inside other words (``author``, ``bypass_cache``).
    """
    words = [w for w in _WORD_BOUNDARY.split(_CAMEL_BOUNDARY.sub("_", key).lower()) if w]
    if any(word in _SECRET_WORDS for word in words):
        return True
    return any(a + b in _SECRET_WORDS for a, b in itertools.pairwise(words))


def redact(value: Any, depth: int = 0) -> Any:
    """``value`` with the values of secret-looking keys replaced, in nested dicts too."""
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and is_secret_key(key)
            else redact(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(item, depth + 1) for item in value]
    return value


def mask_url_credentials(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL replaced."""
    if "@" not in text:
        return text
    return _URL_PASSWORD.sub(lambda match: match["head"] + REDACTED, text)
