"""Record classes in OSBot's style: dataclasses with json(), obj(), from_json(), ``with``
and ``__locals__()``.

OSBot-Utils builds these on its Type_Safe base; here they are plain dataclasses with the
same field names and defaults, and the same JSON shape (enums as their values, nested
records as dicts).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any, TypeVar

from ._locals import Locals

R = TypeVar("R", bound="Schema")


class Schema(Locals):
    """Mixin for dataclass records. Not thread-safe: a record belongs to one run."""

    def __enter__(self: R) -> R:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def json(self) -> dict[str, Any]:
        """The record as JSON-ready builtins (enums by value, nested records as dicts)."""
        return {
            field.name: to_json(getattr(self, field.name))
            for field in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    def obj(self) -> types.SimpleNamespace:
        """The record's JSON as nested namespaces (``record.obj().status``)."""
        return to_namespace(self.json())

    @classmethod
    def from_json(cls: type[R], data: dict[str, Any]) -> R:
        """A record rebuilt from ``json()`` output; unknown keys raise TypeError."""
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__}.from_json() needs a dict, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        unknown = sorted(set(data) - set(hints))
        if unknown:
            raise TypeError(f"{cls.__name__}.from_json() got unknown field(s) {unknown}")
        return cls(**{name: from_json(hints[name], value) for name, value in data.items()})


def to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Schema):
        return value.json()
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    # Id and timestamp types are str and int subclasses: give their plain values.
    for plain in (str, int, float):
        if isinstance(value, plain):
            return plain(value)
    return value


def to_namespace(value: Any) -> Any:
    if isinstance(value, dict):
        return types.SimpleNamespace(**{str(k): to_namespace(v) for k, v in value.items()})
    if isinstance(value, list):
        return [to_namespace(item) for item in value]
    return value


def from_json(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return from_json(options[0], value) if len(options) == 1 else value
    if origin is dict:
        value_hint = typing.get_args(hint)[1] if typing.get_args(hint) else Any
        return {key: from_json(value_hint, item) for key, item in value.items()}
    if origin is list:
        item_hint = typing.get_args(hint)[0] if typing.get_args(hint) else Any
        return [from_json(item_hint, item) for item in value]
    if isinstance(hint, type):
        if issubclass(hint, Schema):
            return hint.from_json(value)
        if issubclass(hint, enum.Enum) or hint in (str, int, float, bool):
            return hint(value)
        if issubclass(hint, (str, int)):
            return hint(value)
    return value
