"""OSBot-Utils' Flow API on flowtel: change ``osbot_utils.helpers.flows`` to ``flowtel.osbot``.

The modules mirror ``osbot_utils.helpers.flows`` (``Flow``, ``Task``, ``decorators.flow``,
``decorators.task``, ``models.*``, ``schemas.*``, ``actions.Flow__Events``,
``actions.Flow__Stats__Collector``, ``actions.Task__Stats__Collector``,
``actions.Flow__Data``). Runs go through flowtel's one engine, so every run is still an
OpenTelemetry span with its tasks as child spans and its messages as span events and log
records. flowtel's core never imports this package.
"""

from __future__ import annotations

__all__: list[str] = []
