"""SIGTERM ends the program the way Ctrl-C would, so finished telemetry is flushed, not lost.

Kubernetes, systemd and docker stop a process with SIGTERM. Its default disposition kills the
process at once: atexit never runs and whatever the batch queues hold is lost. When flowtel
installed the telemetry providers and SIGTERM still has that default disposition, flowtel
installs a handler that raises ``SystemExit(143)`` in the main thread: running flows and tasks
end as cancelled (their spans are exported), ``finally`` blocks run, atexit flushes within the
shutdown deadline, and the exit status is the conventional 128 + 15. An application's own
handler (or an ignored SIGTERM) is left alone; ``configure(handle_sigterm=False)`` or
``FLOWTEL_HANDLE_SIGTERM=0`` opts out. A second SIGTERM kills at once (default disposition).

A command line that runs user code gets this by calling ``configure()`` before it and letting
``SystemExit`` propagate (flowtel's atexit handler then flushes).
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

__all__ = ["SIGTERM_EXIT_STATUS", "install_sigterm_handler", "sigterm_handler_installed"]

SIGTERM_EXIT_STATUS = 128 + int(signal.SIGTERM)
ENV_OPT_OUT = "FLOWTEL_HANDLE_SIGTERM"


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # The next SIGTERM (an impatient supervisor) kills at once, as it would have without flowtel.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise SystemExit(SIGTERM_EXIT_STATUS)


def wanted(handle_sigterm: bool | None) -> bool:
    """Whether the caller and the environment allow flowtel to handle SIGTERM."""
    if handle_sigterm is not None:
        if type(handle_sigterm) is not bool:
            raise TypeError(f"handle_sigterm must be True or False, got {handle_sigterm!r}")
        return handle_sigterm
    value = os.environ.get(ENV_OPT_OUT, "").strip().lower()
    if value in ("", "1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{ENV_OPT_OUT}={value!r} is not supported; use 1 or 0")


def install_sigterm_handler() -> bool:
    """Handle SIGTERM if it has its default disposition and this is the main thread.

    Returns True when flowtel's handler is (now) installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        current = signal.getsignal(signal.SIGTERM)
    except (AttributeError, ValueError):
        return False
    if current is _on_sigterm:
        return True
    if current is not signal.SIG_DFL:
        return False
    signal.signal(signal.SIGTERM, _on_sigterm)
    return True


def sigterm_handler_installed() -> bool:
    """True while flowtel's SIGTERM handler is the installed one."""
    return signal.getsignal(signal.SIGTERM) is _on_sigterm
