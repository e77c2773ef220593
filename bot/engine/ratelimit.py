"""A per-member command rate limit: beyond it, one private notice, then silence."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=1)


class RateLimiter:
    """Sliding one-minute window per member; `check` says allow, notify once, or stay quiet."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[datetime]] = {}
        self._notified: dict[str, datetime] = {}
        self._swept: datetime | None = None

    @property
    def tracked(self) -> int:
        """Members held in memory: those with a command in the last window."""
        return len(self._seen)

    def check(self, key: str, now: datetime) -> str:
        """'allow', 'notify' (the first refusal in a window) or 'quiet'."""
        if self.per_minute <= 0:
            return "allow"
        if self._swept is None or now - self._swept >= WINDOW:
            # Once a window, forget who went quiet: memory follows the active members,
            # not every member ever seen.
            self.forget_idle(now)
            self._swept = now
        seen = self._seen.setdefault(key, deque())
        while seen and now - seen[0] >= WINDOW:
            seen.popleft()
        if len(seen) < self.per_minute:
            seen.append(now)
            return "allow"
        told = self._notified.get(key)
        if told is not None and now - told < WINDOW:
            return "quiet"
        self._notified[key] = now
        return "notify"

    def forget_idle(self, now: datetime) -> None:
        """Drop members with no command in the window, so memory stays flat."""
        for key in [k for k, v in self._seen.items() if not v or now - v[-1] >= WINDOW]:
            self._seen.pop(key, None)
            self._notified.pop(key, None)
