"""Matrix sends that are idempotent: txn ids derived from a key, and finding a sent message.

Two windows, two mechanisms. Synapse returns the first event again for a repeated
`PUT /send/{type}/{txnId}` from the same device for about 30 minutes (in memory): a retry soon
after a crash, on the saved login, posts nothing new. Past that (a new login, a Synapse restart,
a database outage of longer, another process with its own device) the key travels in the
event's content too (`org.logoff.key`) and the bot's own recent events in the room are
searched for it before anything is sent again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from nio import AsyncClient, RoomMessagesError, RoomMessagesResponse
from nio.api import MessageDirection

CONTENT_KEY = "org.logoff.key"
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


def _key_of(event: Any) -> str | None:
    source = getattr(event, "source", None)
    if not isinstance(source, dict):
        return None
    content = source.get("content")
    if not isinstance(content, dict):
        return None
    # An encrypted event nio decrypted carries the clear content in `source` too.
    value = content.get(CONTENT_KEY)
    return str(value) if value is not None else None


async def find_by_key(client: AsyncClient, room_id: str, sender: str, key: str) -> str | None:
    """The event id of `sender`'s message in `room_id` carrying `key`, or None."""
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
                return None  # not in the room (any more): nothing of ours to find there
            raise LookupFailed(f"cannot read {room_id}: {resp}")
        assert isinstance(resp, RoomMessagesResponse)
        for event in resp.chunk:
            if _key_of(event) == key:
                return str(event.event_id)
        if not resp.chunk or not resp.end or resp.end == start:
            return None
        start = resp.end
    return None
