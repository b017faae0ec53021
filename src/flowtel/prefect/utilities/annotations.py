"""Prefect's ``prefect.utilities.annotations``: markers for task arguments.

``unmapped`` (pass whole to every ``map()`` call), ``allow_failure`` (a failed upstream does not
stop the task), ``quote`` and ``opaque`` (pass the value as is: futures inside are not looked
for; the task receives the value itself).
"""

from __future__ import annotations

from ..._futures import unmapped
from ..futures import allow_failure, opaque, quote

__all__ = ["allow_failure", "opaque", "quote", "unmapped"]
