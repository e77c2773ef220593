"""Offline events on Discord: in-place message edits and the Guild Scheduled Event mirror."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import discord

from bot.actors import Actor, Place
from bot.messages.replies import Reply
from bot.ports import MirroredEvent
from storage.records import GroupRec

from .files import JsonFile
from .identity import PLATFORM, member_name
from .render import MAX_CONTENT, escape_member_text, render

log = logging.getLogger("logoff.discord")

MAX_NAME = 100  # Discord's limits for a scheduled event's name and description
MAX_DESCRIPTION = 1000
USER_EVENTS = ("GUILD_SCHEDULED_EVENT_USER_ADD", "GUILD_SCHEDULED_EVENT_USER_REMOVE")
NEEDS_PERMISSION = (
    "I could also show **{title}** in this server's Events list, so members see it in Discord's "
    "calendar and can mark it Interested, but I need the **Manage Events** permission for that "
    "(Server Settings → Roles → my role). Everything else works without it; I won't ask again."
)

# Called with (actor, place, event id, interested?, idempotency key) when someone marks or
# unmarks Interested on a mirror; the core decides what that means for their answer.
InterestHook = Callable[[Actor, Place, int, bool, str], Awaitable[None]]
# (platform, scheduled event id) -> (Logoff event id, the group's channel id), or None.
MirrorLookup = Callable[[str, str], Awaitable[tuple[int, str] | None]]


async def edit_message(
    channel: discord.abc.Messageable, message_id: int, reply: Reply
) -> discord.Message:
    """Rewrite the bot's message with the reply's text and buttons (one message, no new ping)."""
    rendered = render(reply)
    text = "\n".join(rendered.chunks)
    if len(text) > MAX_CONTENT:
        text = text[: MAX_CONTENT - 1] + "…"
    message = discord.PartialMessage(channel=channel, id=message_id)  # type: ignore[arg-type]
    # An edit never notifies anyone: who was pinged stays as it was, nobody new is.
    return await message.edit(
        content=text, view=rendered.view, allowed_mentions=discord.AllowedMentions.none()
    )


class MirrorFile(JsonFile):
    """What only this adapter needs: the answer key of each Interested mark (to take exactly that
    back), and the servers already told about the permission. Which scheduled event mirrors
    which Logoff event is the event's own `mirror_id`, in the database."""

    def interested(self, pair: str, key: str) -> None:
        self.data.setdefault("interest", {})[pair] = key
        self.save()

    def uninterested(self, pair: str) -> str | None:
        key = self.data.get("interest", {}).pop(pair, None)
        if key is not None:
            self.save()
        return key if isinstance(key, str) else None

    def told(self, guild_id: int) -> bool:
        return guild_id in self.data.get("told", [])

    def tell(self, guild_id: int) -> None:
        self.data.setdefault("told", []).append(guild_id)
        self.save()


class ScheduledEvents:
    """Mirrors events as external Guild Scheduled Events; "Interested" counts as Maybe."""

    def __init__(
        self, client: discord.Client, path: Path, interest: InterestHook, find: MirrorLookup
    ) -> None:
        self.client = client
        self.file = MirrorFile(path)
        self.interest = interest
        self.find = find

    async def mirror(self, group: GroupRec, event: MirroredEvent) -> str | None:
        """Create, update or cancel the mirror; returns its id (None: none). Never raises."""
        try:
            return await self._mirror(group, event)
        except discord.HTTPException as exc:
            log.warning("mirroring event %s failed: %s %s", event.event_id, exc.status, exc.text)
        except Exception:
            log.exception("mirroring event %s failed", event.event_id)
        return event.mirror_id

    async def _mirror(self, group: GroupRec, event: MirroredEvent) -> str | None:
        channel = self.client.get_channel(int(group.external_id))
        guild = getattr(channel, "guild", None)
        if not isinstance(guild, discord.Guild):
            return None  # a DM "group" has no server calendar
        if not guild.me.guild_permissions.manage_events:
            if event.mirror_id is None and not event.cancelled:
                await self._ask_for_permission(guild, event)
            return event.mirror_id
        if event.mirror_id is not None and event.mirror_id.isdigit():
            return await self._update(guild, int(event.mirror_id), event)
        if event.cancelled or event.starts_at <= discord.utils.utcnow():
            return None  # Discord refuses scheduled events that start in the past
        created = await guild.create_scheduled_event(**_fields(event))
        log.info("event %s mirrored as scheduled event %s", event.event_id, created.id)
        return str(created.id)

    async def _update(
        self, guild: discord.Guild, scheduled_id: int, event: MirroredEvent
    ) -> str | None:
        try:
            # Fetched, not cached: its status may have changed by hand or by Discord's clock.
            scheduled = await guild.fetch_scheduled_event(scheduled_id, with_counts=False)
        except discord.NotFound:
            return None  # deleted by hand in Discord: leave it so
        if scheduled.status is not discord.EventStatus.scheduled:
            return str(scheduled_id)  # started, ended or cancelled: Discord allows no change
        if event.cancelled:
            await scheduled.cancel()
        else:
            await scheduled.edit(**_fields(event))
        return str(scheduled_id)

    async def _ask_for_permission(self, guild: discord.Guild, event: MirroredEvent) -> None:
        """Once per server, privately to whoever created the event: what the mirror needs."""
        creator = event.creator
        if self.file.told(guild.id) or creator is None or not creator.external_id.isdigit():
            return
        self.file.tell(guild.id)
        try:
            user = await self.client.fetch_user(int(creator.external_id))
            await user.send(
                NEEDS_PERMISSION.format(title=escape_member_text(event.title)),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            log.info("could not tell %s about Manage Events: %s", creator.external_id, exc.text)

    async def on_raw_gateway(self, raw: Any) -> None:
        """Interested on a mirror, from the raw frame: discord.py drops it for uncached users."""
        if not isinstance(raw, str) or "GUILD_SCHEDULED_EVENT_USER_" not in raw:
            return
        frame = json.loads(raw)
        if frame.get("t") not in USER_EVENTS:
            return
        data = frame.get("d") or {}
        try:
            scheduled_id, user_id = int(data["guild_scheduled_event_id"]), int(data["user_id"])
            guild_id = int(data["guild_id"])
        except (KeyError, TypeError, ValueError):
            return
        if self.client.user is not None and user_id == self.client.user.id:
            return
        known = await self.find(PLATFORM, str(scheduled_id))
        if known is None:
            return  # not one of ours
        event_id, channel_id = known
        added = frame["t"] == USER_EVENTS[0]
        pair = f"{scheduled_id}:{user_id}"
        if added:
            # The gateway sequence makes a second Interested (after an un-mark) a new answer.
            key = f"gse:{pair}:{frame.get('s', 0)}"
            self.file.interested(pair, key)
        else:
            key = self.file.uninterested(pair) or ""
            if not key:
                return
        name = await member_name(self.client, guild_id, user_id)
        actor = Actor(PLATFORM, str(user_id), name)
        await self.interest(actor, Place(PLATFORM, channel_id), event_id, added, key)


def _fields(event: MirroredEvent) -> dict[str, Any]:
    return {
        "name": event.title[:MAX_NAME],
        "description": event.description[:MAX_DESCRIPTION],
        "start_time": event.starts_at,
        "end_time": event.ends_at,
        "entity_type": discord.EntityType.external,
        "privacy_level": discord.PrivacyLevel.guild_only,
        "location": (event.place or "See the event message")[:MAX_NAME],
    }
