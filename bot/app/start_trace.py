"""`LOGOFF_TRACE_START`: one log line per step of the start, with the seconds since launch.

Off unless the variable is set. Its value is the launch instant in epoch seconds (what
`benchmarks/ready_trace.py` passes), or anything else to count from the first step traced.
"""

from __future__ import annotations

import logging
import os
import time

log = logging.getLogger("logoff.start")
_VALUE = os.environ.get("LOGOFF_TRACE_START", "")
_origin: float | None = None
_early: list[tuple[float, str]] = []  # steps before logging was set up


def _launch() -> float:
    try:
        return float(_VALUE)
    except ValueError:
        return time.time()


def mark(step: str) -> None:
    """Log `step` with the seconds since launch (nothing when tracing is off)."""
    global _origin
    if not _VALUE:
        return
    now = time.time()
    if _origin is None:
        _origin = _launch()
    _early.append((now - _origin, step))
    if not logging.getLogger().handlers:
        return
    for seconds, early in _early:
        log.info("start +%.3fs %s", seconds, early)
    _early.clear()
