"""Room facts the adapter needs per event, kept from sync: creators (v12 admins) and invites."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ADMIN_LEVEL = 50
# Room versions where the creator is an ordinary member with a power level; from version 12
# on, creators have unlimited power and are absent from m.room.power_levels.
PLAIN_CREATOR_VERSIONS = frozenset(str(v) for v in range(1, 12))


@dataclass(frozen=True)
class RoomCreation:
    version: str
    creators: frozenset[str]

    @property
    def creators_rule(self) -> bool:
        return self.version not in PLAIN_CREATOR_VERSIONS


def creation_from(source: dict[str, Any]) -> RoomCreation | None:
    """Read an `m.room.create` event (raw JSON) into who created the room and its version."""
    if source.get("type") != "m.room.create" or source.get("state_key", "") != "":
        return None
    content = source.get("content") or {}
    creators = {str(source.get("sender", ""))}
    extra = content.get("additional_creators") or []
    if isinstance(extra, list):
        creators.update(str(c) for c in extra if isinstance(c, str))
    creators.discard("")
    return RoomCreation(str(content.get("room_version", "1")), frozenset(creators))


def is_admin(user_id: str, power_level: int, creation: RoomCreation | None) -> bool:
    """Power level >= 50, or a creator of a room version where creators outrank everyone."""
    if power_level >= ADMIN_LEVEL:
        return True
    return creation is not None and creation.creators_rule and user_id in creation.creators


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def inviter_allowed(inviter: str, allowed: Iterable[str], own_user_id: str) -> bool:
    """Exact user ids or `*:server` patterns; an empty list means the bot's own server only."""
    patterns = list(allowed)
    if not patterns:
        return server_of(inviter) == server_of(own_user_id) != ""
    for pattern in patterns:
        if pattern.startswith("*:"):
            if server_of(inviter) == pattern[2:]:
                return True
        elif pattern == inviter:
            return True
    return False


def invite_details(events: Iterable[Any], own_user_id: str) -> tuple[str, bool]:
    """(inviter, is_direct) from a room's invite_state: the sender of our m.room.member invite."""
    for event in events:
        # nio's InviteMemberEvent moves `content` out of `source`; read its attributes.
        if getattr(event, "state_key", None) != own_user_id:
            continue
        content = getattr(event, "content", None) or {}
        if getattr(event, "membership", content.get("membership")) == "invite":
            return str(getattr(event, "sender", "")), bool(content.get("is_direct"))
    return "", False
