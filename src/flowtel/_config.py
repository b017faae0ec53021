"""Flow_Run__Config: the per-flow switches documented in the seed."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class Flow_Run__Config:
    """Switches for one flow's logging, output and error handling.

    Pass one as ``@flow(flow_config=Flow_Run__Config(...))`` or ``Flow(flow_config=...)``.
    Fields (all bool; default, then effect on each run of the flow):

    ======================== ======= =========================================================
    field                    default effect
    ======================== ======= =========================================================
    add_task_to_self         True    keep each task call in ``run.executed_tasks`` (and in
                                     ``run.durations()``); False keeps none. A kept call
                                     refers to its run weakly once it has ended (its
                                     ``task_flow`` is None once the run is released)
    log_to_console           False   write each message to the real stdout as it happens, as
                                     ``LEVEL   flow.task: text`` (prints then show as these
                                     lines instead of raw)
    log_to_memory            True    keep messages in the run's own log
                                     (``run.log_messages()``, ``run.log_entries()``)
    logging_enabled          True    master switch: False records no messages at all (no
                                     log, no message events, no span events or log records)
    print_logs               False   after the run, print its whole log to the real stdout
    print_none_return_value  False   log None return values too: an INFO message "Flow
                                     return value: None" for the flow, a DEBUG "Task return
                                     value: None" for each task returning None
    print_finished_message   False   add a last INFO message "Finished flow run '<id>'" to the
                                     run's log (and telemetry); it prints nothing by itself
    raise_flow_error         True    ``execute()`` re-raises the flow's exception; False
                                     returns the run with ``flow_error`` set
    echo_prints              True    ``print()`` inside the run also reaches the real stdout
                                     as written (it is captured as an INFO message either
                                     way); False keeps prints off the terminal
    split_print_lines        True    each printed line is a message of its own; False makes
                                     each ``print()`` call one message, lines kept together
                                     (as Prefect and ``logging`` do; ``flowtel.prefect``)
    ======================== ======= =========================================================

    The first eight fields are the original Flow documentation's; ``echo_prints`` and
    ``split_print_lines`` are flowtel's. Assigning a non-bool raises TypeError naming the field, both in the
    constructor and on later assignment (so subclasses that set fields in ``__init__`` are
    checked too). Runs never mutate a config.
    """

    add_task_to_self: bool = True
    log_to_console: bool = False
    log_to_memory: bool = True
    logging_enabled: bool = True
    print_logs: bool = False
    print_none_return_value: bool = False
    print_finished_message: bool = False
    raise_flow_error: bool = True
    echo_prints: bool = True
    split_print_lines: bool = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FIELD_NAMES and type(value) is not bool:
            raise TypeError(
                f"Flow_Run__Config.{name} must be a bool (True or False), "
                f"got {type(value).__name__} {value!r}"
            )
        object.__setattr__(self, name, value)


_FIELD_NAMES = frozenset(f.name for f in fields(Flow_Run__Config))

DEFAULT_CONFIG = Flow_Run__Config()
_DEFAULT_FIELDS = dict(vars(DEFAULT_CONFIG))


def default_config() -> Flow_Run__Config:
    """A new ``Flow_Run__Config()``: each flow has its own, as a run's config may be changed.

    The defaults are copied rather than checked again (a flow is made on every decorated
    call, and checking ten fields costs more than the rest of making it).
    """
    config = object.__new__(Flow_Run__Config)
    config.__dict__.update(_DEFAULT_FIELDS)
    return config
