"""Room upgrades seen in sync: the `m.room.tombstone` that names a room's replacement."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

TOMBSTONE = "m.room.tombstone"


def replacement_of(events: Iterable[Any]) -> str | None:
    """The `replacement_room` of the room's tombstone among these events (raw or nio), if any."""
    found = None
    for event in events:
        source = getattr(event, "source", None)
        if not isinstance(source, dict) or source.get("type") != TOMBSTONE:
            continue
        if source.get("state_key", "") != "":
            continue
        content = source.get("content") or {}
        room = content.get("replacement_room") if isinstance(content, dict) else None
        if isinstance(room, str) and room.startswith("!"):
            found = room  # the latest one wins
    return found
