"""A stop asked for before the serve path listens for signals: kept, and honoured once it does."""

from __future__ import annotations

import signal
from types import FrameType

_requested: list[int] = []


def _remember(signum: int, _frame: FrameType | None) -> None:
    _requested.append(signum)


def install() -> None:
    """From here on SIGTERM and SIGINT no longer kill the process while it imports, opens the
    database and logs in: `logoff run` stopped by systemd or a container runtime in its first
    second exits 0 like a later stop, instead of dying by the signal (status -15)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(sig, _remember)
        except (ValueError, OSError):  # not the main thread: the serve path's handlers only
            return


def requested() -> bool:
    """A stop came before the serve path took the signals over."""
    return bool(_requested)
