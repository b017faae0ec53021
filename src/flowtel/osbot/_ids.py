"""The id and timestamp types of OSBot's event records: a GUID string and epoch milliseconds."""

from __future__ import annotations

import time
import uuid
from typing import Any


class Random_Guid(str):
    """A random UUID4 as a str; given a value, it must be a GUID."""

    def __new__(cls, value: Any = None) -> Random_Guid:
        if value is None:
            return super().__new__(cls, str(uuid.uuid4()))
        try:
            uuid.UUID(str(value))
        except ValueError:
            raise ValueError(
                f"Random_Guid needs a GUID such as {uuid.uuid4()}, got {value!r}"
            ) from None
        return super().__new__(cls, str(value))


class Timestamp_Now(int):
    """Epoch milliseconds (UTC) as an int: now, or the given value."""

    def __new__(cls, value: Any = None) -> Timestamp_Now:
        if value is None:
            return super().__new__(cls, time.time_ns() // 1_000_000)
        return super().__new__(cls, int(value))
