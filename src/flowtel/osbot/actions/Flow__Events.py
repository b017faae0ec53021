"""Flow_Events: OSBot-Utils' event emitter, and ``flow_events``, the one flowtel.osbot flows use.

This registry is separate from ``flowtel.flow_events``: flowtel.osbot flows and tasks raise
OSBot-shaped events here (in OSBot-Utils' order), and flowtel's own events there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..._events import Flow_Events as _CoreFlowEvents
from ..._run import plain_text
from ..models.Flow_Run__Event import Flow_Run__Event
from ..models.Flow_Run__Event_Data import Flow_Run__Event_Data
from ..models.Flow_Run__Event_Type import Flow_Run__Event_Type

__all__ = ["Flow_Events", "Flow_Run__Event_Type", "flow_events"]

Listener = Callable[[Flow_Run__Event], Any]


class Flow_Events(_CoreFlowEvents):
    """A list of listeners and one ``on__*`` method per event type.

    ``event_listeners`` is a plain list: append, remove or replace it. Listeners are called
    synchronously, in order, on the thread that raised the event. A listener that raises is
    reported once through ``logging`` (logger ``flowtel.osbot.events``) and otherwise
    ignored, so the run and the other listeners go on. Events raised while a listener runs
    (by a flow it runs, say) are not delivered to that same listener.
    """

    _logger = logging.getLogger("flowtel.osbot.events")
    event_listeners: list[Listener]  # type: ignore[assignment]

    def on__flow__start(self, event_data: Flow_Run__Event_Data) -> None:
        self._raise(Flow_Run__Event_Type.FLOW_START, event_data)

    def on__flow__stop(self, event_data: Flow_Run__Event_Data) -> None:
        self._raise(Flow_Run__Event_Type.FLOW_STOP, event_data)

    def on__flow_run__message(
        self, log_level: int, flow_run_id: str | None, task_run_id: str | None, message: str
    ) -> None:
        self._raise(
            Flow_Run__Event_Type.FLOW_MESSAGE,
            message_event_data(log_level, flow_run_id, task_run_id, message),
        )

    def on__new_artifact(self, event_data: Flow_Run__Event_Data) -> None:
        self._raise(Flow_Run__Event_Type.NEW_ARTIFACT, event_data)

    def on__new_result(self, event_data: Flow_Run__Event_Data) -> None:
        self._raise(Flow_Run__Event_Type.NEW_RESULT, event_data)

    def on__task__start(self, event_data: Flow_Run__Event_Data) -> None:
        self._raise(Flow_Run__Event_Type.TASK_START, event_data)

    def on__task__stop(self, event_data: Flow_Run__Event_Data) -> None:
        self._raise(Flow_Run__Event_Type.TASK_STOP, event_data)

    def _raise(self, event_type: Flow_Run__Event_Type, event_data: Flow_Run__Event_Data) -> None:
        if self.event_listeners:
            self.raise_event(Flow_Run__Event(event_type=event_type, event_data=event_data))

    def raise_event(self, flow_event: Flow_Run__Event) -> None:  # type: ignore[override]
        """Call every listener with ``flow_event``."""
        super().raise_event(flow_event)  # type: ignore[arg-type]


def message_event_data(
    log_level: int, flow_run_id: str | None, task_run_id: str | None, message: str
) -> Flow_Run__Event_Data:
    """The data of a FLOW_MESSAGE event: the message with and without ANSI colours."""
    return Flow_Run__Event_Data(
        flow_run_id=flow_run_id,
        task_run_id=task_run_id,
        log_level=log_level,
        data={
            "message_data": {
                "log_level": log_level,
                "message": message,
                "message_text": plain_text(message),
            }
        },
    )


flow_events = Flow_Events()
