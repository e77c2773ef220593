"""The peer's Guild Scheduled Events work with plain discord.py: create, edit, cancel, refusals,
the gateway events, and Interested as a raw gateway frame."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator

import discord
import pytest

from tests.discord_peer import MANAGE_EVENTS, DiscordPeer, run_client


class EventClient(discord.Client):
    def __init__(self) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_scheduled_events = True
        super().__init__(intents=intents, enable_debug_events=True)
        self.seen: list[tuple[str, int]] = []
        self.changed = asyncio.Event()

    def _saw(self, name: str, value: int) -> None:
        self.seen.append((name, value))
        self.changed.set()

    async def on_scheduled_event_create(self, event: discord.ScheduledEvent) -> None:
        self._saw("create", event.id)

    async def on_scheduled_event_update(
        self, before: discord.ScheduledEvent, after: discord.ScheduledEvent
    ) -> None:
        self._saw("update", after.id)

    async def on_socket_raw_receive(self, raw: str) -> None:
        # discord.py drops USER_ADD for users it has not cached (no members intent): the raw
        # frame is what a bot like Logoff reads.
        frame = json.loads(raw)
        if frame.get("t") == "GUILD_SCHEDULED_EVENT_USER_ADD":
            self._saw("interested", int(frame["d"]["user_id"]))

    async def wait(self, name: str) -> int:
        async def poll() -> int:
            while True:
                for seen, value in self.seen:
                    if seen == name:
                        return value
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(poll(), 5)


@pytest.fixture
async def peer() -> AsyncIterator[DiscordPeer]:
    async with DiscordPeer() as p:
        yield p


def _soon(days: int = 2) -> dt.datetime:
    return discord.utils.utcnow() + dt.timedelta(days=days)


async def _create(guild: discord.Guild) -> discord.ScheduledEvent:
    return await guild.create_scheduled_event(
        name="Assembly",
        start_time=_soon(),
        end_time=_soon() + dt.timedelta(hours=2),
        entity_type=discord.EntityType.external,
        privacy_level=discord.PrivacyLevel.guild_only,
        location="Hall",
    )


async def test_an_external_event_is_created_edited_and_cancelled(peer: DiscordPeer) -> None:
    role = peer.add_role(peer.guild, "Events", MANAGE_EVENTS)
    peer.add_member(peer.guild, peer.bot, [role])
    async with run_client(EventClient()) as client:
        assert isinstance(client, EventClient)
        guild = client.get_guild(peer.guild.id)
        assert guild is not None
        assert guild.me.guild_permissions.manage_events
        created = await _create(guild)
        assert created.location == "Hall"
        assert await client.wait("create") == created.id
        edited = await created.edit(location="Library", name="Assembly (moved)")
        assert (edited.location, edited.name) == ("Library", "Assembly (moved)")
        listed = await guild.fetch_scheduled_events()
        assert [e.id for e in listed] == [created.id]
        cancelled = await edited.cancel()
        assert cancelled.status is discord.EventStatus.cancelled
        with pytest.raises(discord.HTTPException) as final:
            await cancelled.edit(name="again")
        assert final.value.status == 400


async def test_refusals_match_discord_no_permission_a_past_start_no_location(
    peer: DiscordPeer,
) -> None:
    async with run_client(EventClient()) as client:
        guild = client.get_guild(peer.guild.id)
        assert guild is not None
        fields = {
            "start_time": _soon(),
            "end_time": _soon() + dt.timedelta(hours=1),
            "entity_type": discord.EntityType.external,
            "privacy_level": discord.PrivacyLevel.guild_only,
            "location": "Hall",
        }
        with pytest.raises(discord.Forbidden) as forbidden:
            await guild.create_scheduled_event(name="Nope", **fields)  # type: ignore[call-overload]
        assert forbidden.value.code == 50013
        role = peer.add_role(peer.guild, "Events", MANAGE_EVENTS)
        peer.guild.members[peer.bot.id].role_ids.append(role.id)
        past = {**fields, "start_time": _soon(-1), "end_time": _soon(-1) + dt.timedelta(hours=1)}
        with pytest.raises(discord.HTTPException) as in_past:
            await guild.create_scheduled_event(name="Past", **past)  # type: ignore[call-overload]
        assert in_past.value.code == 50035


async def test_interested_reaches_the_client_as_a_gateway_event(peer: DiscordPeer) -> None:
    role = peer.add_role(peer.guild, "Events", MANAGE_EVENTS)
    peer.add_member(peer.guild, peer.bot, [role])
    async with run_client(EventClient()) as client:
        assert isinstance(client, EventClient)
        guild = client.get_guild(peer.guild.id)
        assert guild is not None
        await _create(guild)
        await client.wait("create")
        mirror = await peer.scheduled_events.wait_for(peer.guild)
        await peer.scheduled_events.mark_interested(peer.member, mirror)
        assert await client.wait("interested") == peer.member.id
        assert mirror.interested == [peer.member.id]
