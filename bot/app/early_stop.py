"""A stop asked for before the serve path listens for signals: kept, and honoured once it does."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

_requested: list[int] = []
_installed: list[bool] = []
STOPS = (signal.SIGTERM, signal.SIGINT)


def _remember(signum: int, _frame: FrameType | None) -> None:
    _requested.append(signum)


def install() -> None:
    """From here on SIGTERM and SIGINT no longer kill the process while it imports, opens the
    database and logs in: `logoff run` stopped by systemd or a container runtime in its first
    second exits 0 like a later stop, instead of dying by the signal (status -15)."""
    if _installed:
        return
    for sig in STOPS:
        try:
            signal.signal(sig, _remember)
        except (ValueError, OSError):  # not the main thread: the serve path's handlers only
            return
    _installed.append(True)


def uninstall() -> None:
    """The default handlers back (a command other than `run` was meant after all); a stop
    that came meanwhile ends the process as it would have."""
    if not _installed:
        return
    _installed.clear()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if _requested:
        raise SystemExit(128 + _requested[0])


def starting_the_program() -> bool:
    """This process is `logoff run` (the console script, or `python -m bot.app.cli run`),
    judged from argv alone, before anything else is imported: never a test importing bot.app.
    While `-m` locates its module, argv[0] is "-m"."""
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    return program in ("logoff", "-m") and "run" in sys.argv[1:]


def requested() -> bool:
    """A stop came before the serve path took the signals over."""
    return bool(_requested)
