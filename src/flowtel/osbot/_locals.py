"""``__locals__()``: OSBot-Utils' view of an object's attribute values, for its Type_Safe users."""

from __future__ import annotations

import types
from typing import Any

__all__ = ["Locals"]


class Locals:
    """Mixin giving ``__locals__()`` as OSBot-Utils' ``Type_Safe`` does."""

    def __locals__(self) -> dict[str, Any]:
        """Name to value of this object's attributes, as OSBot-Utils' ``Type_Safe.__locals__()``.

        The names: every class attribute along the MRO (``object`` aside) that is not a
        function or classmethod, every annotated name, and every instance attribute that is
        not a function or classmethod; names starting with ``__`` are left out. Values are read
        from the object, so a property gives its value.
        """
        names: dict[str, None] = {}
        for cls in type(self).__mro__:
            if cls is object:
                continue
            for name, value in vars(cls).items():
                if not name.startswith("__") and not _is_method(value):
                    names[name] = None
            for name in vars(cls).get("__annotations__", {}):
                names[name] = None
        values = {name: getattr(self, name) for name in names}
        for name, value in getattr(self, "__dict__", {}).items():
            if not name.startswith("__") and not _is_method(value):
                values[name] = value
        return values


def _is_method(value: object) -> bool:
    return isinstance(value, (types.FunctionType, classmethod))
