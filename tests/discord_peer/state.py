"""In-memory Discord state of the fake peer: snowflakes, users, guilds, channels and messages."""

# ruff: noqa: ASYNC109 -- explicit timeout= parameters are the fixture's public API

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

DISCORD_EPOCH_MS = 1_420_070_400_000
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
ADD_REACTIONS = 1 << 6
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_APPLICATION_COMMANDS
)
EPHEMERAL = 1 << 6
LOADING = 1 << 7
IS_COMPONENTS_V2 = 1 << 15
TEXT_DISPLAY = 10
TEXT_CHANNEL = 0
DM_CHANNEL = 1
_MENTION_RE = re.compile(r"<@!?(\d+)>")

T = TypeVar("T")


class SnowflakeFactory:
    """Generates strictly increasing, well-formed Discord snowflakes."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._last = 0

    def __call__(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (ms << 22) | (1 << 17) | (next(self._counter) & 0xFFF)
        self._last = max(value, self._last + 1)
        return self._last


def snowflake_time(snowflake: int) -> str:
    """ISO-8601 timestamp encoded in a snowflake."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat()


def now_iso() -> str:
    """Current time as Discord formats it."""
    return dt.datetime.now(tz=dt.UTC).isoformat()


class Notifier:
    """Wakes waiters whenever something changes; waiters re-check their condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                continue


@dataclass
class PeerUser:
    """A Discord user (the bot or a human the test drives)."""

    id: int
    username: str
    bot: bool = False
    dms_closed: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.username,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class PeerRole:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    name: str
    permissions: int
    position: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class PeerChannel:
    """A guild text channel or a DM channel."""

    id: int
    name: str
    type: int = TEXT_CHANNEL
    guild_id: int | None = None
    recipient: PeerUser | None = None
    position: int = 0

    @property
    def is_dm(self) -> bool:
        return self.type == DM_CHANNEL

    def payload(self) -> dict[str, Any]:
        if self.is_dm:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": DM_CHANNEL,
                "last_message_id": None,
                "recipients": [self.recipient.payload()],
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "parent_id": None,
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }


@dataclass
class PeerMember:
    """Membership of a user in a guild."""

    user: PeerUser
    role_ids: list[int] = field(default_factory=list)
    joined_at: str = field(default_factory=now_iso)

    def payload(self, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self.user.payload(),
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "nick": None,
            "avatar": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class PeerGuild:
    """A guild with roles, text channels and members."""

    id: int
    name: str
    owner_id: int
    roles: list[PeerRole] = field(default_factory=list)
    channels: list[PeerChannel] = field(default_factory=list)
    members: dict[int, PeerMember] = field(default_factory=dict)

    def role(self, name: str) -> PeerRole:
        return next(r for r in self.roles if r.name == name)

    def permissions_of(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        role_ids = {self.id, *(member.role_ids if member else [])}
        perms = 0
        for role in self.roles:
            if role.id in role_ids:
                perms |= role.permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_id": str(self.owner_id),
            "unavailable": False,
            "large": False,
            "member_count": len(self.members),
            "roles": [r.payload() for r in self.roles],
            "channels": [c.payload() for c in self.channels],
            "threads": [],
            "members": [m.payload() for m in self.members.values()],
            "voice_states": [],
            "presences": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "application_id": None,
            "joined_at": now_iso(),
        }


@dataclass
class StoredMessage:
    """A message as the peer stores it: the payload returned to clients plus request details."""

    payload: dict[str, Any]
    source: str
    request: dict[str, Any] = field(default_factory=dict)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    interaction_id: int | None = None
    deleted: bool = False
    edits: list[dict[str, Any]] = field(default_factory=list)
    reactions: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])

    @property
    def content(self) -> str:
        return str(self.payload.get("content", ""))

    @property
    def flags(self) -> int:
        return int(self.payload.get("flags", 0))

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def components(self) -> list[dict[str, Any]]:
        return list(self.payload.get("components", []))

    @property
    def is_card(self) -> bool:
        """Sent with IS_COMPONENTS_V2: the components are the whole message."""
        return bool(self.flags & IS_COMPONENTS_V2)

    @property
    def text(self) -> str:
        """What a member reads: the content, or a card's text displays, one per line."""
        shown = [
            str(c.get("content", ""))
            for c in walk_components(self.components)
            if c.get("type") == TEXT_DISPLAY
        ]
        return "\n".join([self.content, *shown] if self.content else shown)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.payload.get("embeds", []))

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        return self.request.get("allowed_mentions")

    @property
    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in walk_components(self.components) if "custom_id" in c]

    @property
    def mentioned_user_ids(self) -> list[int]:
        return [int(m) for m in _MENTION_RE.findall(self.text)]

    @property
    def pinged_user_ids(self) -> list[int]:
        """Users Discord would actually notify, honouring allowed_mentions."""
        allowed = self.allowed_mentions
        mentioned = self.mentioned_user_ids
        if allowed is None:
            return mentioned
        if "users" in allowed.get("parse", []):
            return mentioned
        explicit = {int(u) for u in allowed.get("users", [])}
        return [u for u in mentioned if u in explicit]

    @property
    def pings_everyone(self) -> bool:
        allowed = self.allowed_mentions
        has_everyone = "@everyone" in self.text or "@here" in self.text
        if allowed is None:
            return has_everyone
        return has_everyone and "everyone" in allowed.get("parse", [])


def walk_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten nested component trees (action rows, containers, labels, sections)."""
    found: list[dict[str, Any]] = []
    for comp in components:
        found.append(comp)
        found.extend(walk_components(comp.get("components", [])))
        if "component" in comp:
            found.extend(walk_components([comp["component"]]))
        if "accessory" in comp:
            found.extend(walk_components([comp["accessory"]]))
    return found


def attachment_payload(att_id: int, filename: str, data: bytes, port: int) -> dict[str, Any]:
    """Attachment object for an uploaded file."""
    url = f"http://127.0.0.1:{port}/attachments/{att_id}/{filename}"
    return {
        "id": str(att_id),
        "filename": filename,
        "size": len(data),
        "url": url,
        "proxy_url": url,
        "content_type": "image/png" if filename.endswith(".png") else "application/octet-stream",
    }
