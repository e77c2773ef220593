"""Crash points for soak tests: SIGKILL this process at a named step, when the env says so.

`LOGOFF_CRASH_POINTS="accepted:0.2,replied:0.1"` kills the process with a probability of 0.2
each time the scheduler reaches "accepted" (the platform took a batch, nothing is recorded
yet) and so on. Unset (always, outside tests) every point is a no-op. Named where they are
reached: the scheduler, the adapters, `bot.engine.claims` ("claimed", "undone").
"""

from __future__ import annotations

import os
import random
import signal

ENV = "LOGOFF_CRASH_POINTS"


def _parse(spec: str) -> dict[str, float]:
    points: dict[str, float] = {}
    for item in spec.split(","):
        name, _, chance = item.strip().partition(":")
        if name:
            points[name] = float(chance or "1")
    return points


def reached(name: str) -> None:
    """Die here, as a SIGKILL would, if the soak asked for it."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    chance = _parse(spec).get(name)
    if chance and random.random() < chance:
        os.kill(os.getpid(), signal.SIGKILL)
