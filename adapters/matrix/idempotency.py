"""Matrix sends that are idempotent: txn ids derived from a key, and finding a sent message.

Two windows, two mechanisms. Synapse returns the first event again for a repeated
`PUT /send/{type}/{txnId}` from the same device for about 30 minutes (in memory): a retry soon
after a crash, on the saved login, posts nothing new. Past that (a new login, a Synapse restart,
a database outage of longer, another process with its own device) the key travels in the
event's content too (`org.logoff.key`) and the bot's own recent events in the room are
searched for it before anything is sent again.

A batch sent in several parts (a reminder of more than ten pledges) keys each follow-up
`<key>:partN` and says in its first part how many parts there are (`org.logoff.parts`): a
first part found without all its follow-ups is a send cut short, whose missing parts are
still to be posted (`find_parts`).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from nio import AsyncClient, RoomMessagesError, RoomMessagesResponse
from nio.api import MessageDirection

CONTENT_KEY = "org.logoff.key"
# In the first part of a batch sent in several: how many parts it has (namespaced, as the
# spec asks of custom keys in event content).
PARTS_KEY = "org.logoff.parts"
# How far back a lookup reads: the bot's own messages only, newest first.
FIND_PAGE = 100
FIND_PAGES = 5


class LookupFailed(Exception):
    """The homeserver could not be asked (yet); the caller retries later."""


def txn_id(key: str, part: str = "") -> str:
    """A transaction id that is the same for the same key (and part) on every attempt."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"logoff-{digest}{'-' + part if part else ''}"


def keyed(content: dict[str, Any], key: str) -> dict[str, Any]:
    return {**content, CONTENT_KEY: key} if key else content


def part_key(key: str, number: int) -> str:
    """The key of part `number` (from 1) of a batch: the job's own key for the first."""
    return f"{key}:part{number}" if number > 1 else key


@dataclass(frozen=True)
class FoundBatch:
    """A message found by its key, with the parts of its batch that are in the room."""

    event_id: str  # the event carrying the key itself (the first part)
    parts: int = 1  # how many parts the batch has
    found: dict[int, str] = field(default_factory=dict)  # part number (from 1) -> event id

    @property
    def complete(self) -> bool:
        return all(n in self.found for n in range(1, self.parts + 1))


def _content_of(event: Any) -> dict[str, Any]:
    """The event's content as sent; an encrypted event nio decrypted carries the clear content
    in `source` too. Empty when there is none."""
    source = getattr(event, "source", None)
    content = source.get("content") if isinstance(source, dict) else None
    return content if isinstance(content, dict) else {}


def _key_of(event: Any) -> str | None:
    value = _content_of(event).get(CONTENT_KEY)
    return str(value) if value is not None else None


def _parts_of(event: Any) -> int:
    value = _content_of(event).get(PARTS_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


async def _own_events(client: AsyncClient, room_id: str, sender: str) -> AsyncIterator[Any]:
    """`sender`'s recent messages in `room_id`, newest first (nothing when not in the room)."""
    message_filter = {"senders": [sender], "types": ["m.room.message", "m.room.encrypted"]}
    start: str | None = None
    for _ in range(FIND_PAGES):
        resp = await client.room_messages(
            room_id,
            start=start,
            direction=MessageDirection.back,
            limit=FIND_PAGE,
            message_filter=message_filter,
        )
        if isinstance(resp, RoomMessagesError):
            if resp.status_code in ("M_FORBIDDEN", "M_NOT_FOUND"):
                return  # not in the room (any more): nothing of ours to find there
            raise LookupFailed(f"cannot read {room_id}: {resp}")
        assert isinstance(resp, RoomMessagesResponse)
        for event in resp.chunk:
            yield event
        if not resp.chunk or not resp.end or resp.end == start:
            return
        start = resp.end


async def find_by_key(client: AsyncClient, room_id: str, sender: str, key: str) -> str | None:
    """The event id of `sender`'s message in `room_id` carrying `key`, or None."""
    async with aclosing(_own_events(client, room_id, sender)) as events:
        async for event in events:
            if _key_of(event) == key:
                return str(event.event_id)
    return None


async def find_parts(client: AsyncClient, room_id: str, sender: str, key: str) -> FoundBatch | None:
    """`sender`'s message in `room_id` carrying `key` and, for a batch sent in parts, which
    of its follow-ups are there too; None when the first part is not there.

    Follow-ups are posted after the first part, so reading back from the newest, every one
    there is seen before the first part is.
    """
    prefix = f"{key}:part"
    later: dict[int, str] = {}
    async with aclosing(_own_events(client, room_id, sender)) as events:
        async for event in events:
            found = _key_of(event)
            if found == key:
                event_id = str(event.event_id)
                return FoundBatch(event_id, _parts_of(event), {**later, 1: event_id})
            number = found[len(prefix) :] if found and found.startswith(prefix) else ""
            if number.isdigit():
                later.setdefault(int(number), str(event.event_id))
    return None
