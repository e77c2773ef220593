"""Our own events coming back through our sync: when the homeserver has served a sent message."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Iterable

KEPT = 500  # recent echoes remembered: one can come back before its send's response does


class Echoes:
    """Waiters for the bot's own events to show in its sync.

    Synapse wakes every waiting sync (the bot's and the member's) when it stores an event.
    Events sent right after a message, such as the reactions seeded on it, reach Synapse while
    it is serving the message to those syncs and compete with them; once our own sync has the
    message, the member's has had its turn too (benchmarks/README.md, eighth session).
    """

    def __init__(self) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._waiting: dict[str, asyncio.Event] = {}
        self._released = False

    def seen(self, event_ids: Iterable[str]) -> None:
        """A sync brought these events (ours among them)."""
        for event_id in event_ids:
            self._seen[event_id] = None
            self._seen.move_to_end(event_id)
            waiter = self._waiting.pop(event_id, None)
            if waiter is not None:
                waiter.set()
        while len(self._seen) > KEPT:
            self._seen.popitem(last=False)

    def came(self, event_id: str) -> bool:
        """Whether a waiter for `event_id` goes on now (a sync brought it, or a stop)."""
        return self._released or event_id in self._seen

    async def wait(self, event_id: str, timeout: float) -> None:  # noqa: ASYNC109
        """Until a sync brought `event_id`, at most `timeout` seconds (a stop ends it now)."""
        if self.came(event_id):
            return
        waiter = self._waiting.setdefault(event_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout)
        self._waiting.pop(event_id, None)

    def release(self) -> None:
        """No more syncs are coming (a stop): every waiter goes on now, and later ones at once."""
        self._released = True
        for waiter in self._waiting.values():
            waiter.set()
        self._waiting.clear()
