"""OSBot-Utils' own Duration, Random_Guid and Timestamp_Now when it is installed, else look-alikes.

Code migrating from OSBot-Utils has osbot-utils installed and checks types against its
classes (``type(collector.duration) is Duration``, ``isinstance(event.event_id,
Random_Guid)``), so flowtel.osbot hands out those classes when they import. Without
osbot-utils (or with a release that moved these modules), flowtel.osbot's own classes in
``_duration`` and ``_ids`` stand in: same attributes, same JSON. The three come as one set, so
records never mix the two families. flowtel's core never imports this module.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

__all__ = ["USING_OSBOT_UTILS", "Duration", "Random_Guid", "Timestamp_Now", "new_duration"]

if TYPE_CHECKING:
    # osbot-utils ships no type information: type-check against the look-alikes.
    from ._duration import Duration
    from ._ids import Random_Guid, Timestamp_Now

    USING_OSBOT_UTILS: bool
else:
    try:
        from osbot_utils.helpers.duration.Duration import Duration
        from osbot_utils.type_safe.primitives.domains.identifiers.Random_Guid import Random_Guid
        from osbot_utils.type_safe.primitives.domains.identifiers.safe_int.Timestamp_Now import (
            Timestamp_Now,
        )
    except ImportError:
        from ._duration import Duration
        from ._ids import Random_Guid, Timestamp_Now

        USING_OSBOT_UTILS = False
    else:
        USING_OSBOT_UTILS = True


# OSBot-Utils' Duration() also builds a Call_Stack, a Type_Safe object costing about 0.5 ms,
# more than a whole flowtel task call; the collectors make one Duration per task call.
_pristine_duration = Duration() if USING_OSBOT_UTILS else None


def new_duration() -> Duration:
    """A new, unstarted ``Duration``, in the state ``Duration()`` gives.

    With osbot-utils it is a copy of one pristine OSBot-Utils Duration, a few microseconds
    instead of ``Duration()``'s half millisecond. The copies share that Duration's
    ``call_stack``, which Duration uses only with ``print_stack``; the stats collectors never
    set it. Safe from any thread: the pristine Duration is never changed.
    """
    if _pristine_duration is None:
        return Duration()
    return copy.copy(_pristine_duration)
