"""Direct rooms: what a DM the bot opens looks like, and the `m.direct` account data naming them."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from nio import AsyncClient

from adapters.matrix.client_api import account_data_path, call

log = logging.getLogger("logoff.matrix")

DIRECT = "m.direct"
MEGOLM = "m.megolm.v1.aes-sha2"


def encryption_state() -> dict[str, Any]:
    """The `m.room.encryption` state event for a new room's `initial_state`."""
    return {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}


def direct_with(content: dict[str, Any], user_id: str, room_id: str) -> dict[str, Any] | None:
    """`m.direct` content with `room_id` listed for `user_id`, or None when it already is."""
    rooms = content.get(user_id)
    listed = [r for r in rooms if isinstance(r, str)] if isinstance(rooms, list) else []
    if room_id in listed:
        return None
    return {**content, user_id: [*listed, room_id]}


async def mark_direct(client: AsyncClient, user_id: str, room_id: str) -> bool:
    """Record `room_id` as the bot's DM with `user_id` in its `m.direct` (so clients show it so).

    Read-modify-write of one account-data object: the caller serialises calls (one lock).
    Best effort: a failure is logged and the room works as a DM for the bot regardless.
    """
    path = account_data_path(client.user_id, DIRECT)
    status, current = await call(client, "GET", path)
    if status == 404:
        current = {}
    elif status != 200:
        log.warning("could not read m.direct (%s %s)", status, current.get("errcode", ""))
        return False
    content = direct_with(current, user_id, room_id)
    if content is None:
        return True
    status, answer = await call(client, "PUT", path, content)
    if status != 200:
        log.warning("could not write m.direct (%s %s)", status, answer.get("errcode", ""))
        return False
    return True


async def still_in(client: AsyncClient, room_id: str, user_id: str) -> bool:
    """Whether the homeserver has the member joined or invited in the room.

    What a sync showed may be half a room (a just-made DM: the bot's join, not yet the invite);
    this asks the room's state. Network errors raise.
    """
    path = f"/rooms/{quote(room_id, safe='')}/state/m.room.member/{quote(user_id, safe='')}"
    status, content = await call(client, "GET", path)
    return status == 200 and content.get("membership") in ("join", "invite")
