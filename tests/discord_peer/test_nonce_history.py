"""The peer keeps Discord's rules: message nonces, history reads, a session per process, 3 s."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord
import pytest

from tests.discord_peer import DiscordPeer, patch_discord, run_client
from tests.discord_peer.rest import RecordedRequest

MESSAGES = "/channels/{channel_id}/messages"


@pytest.fixture
async def peer() -> AsyncIterator[DiscordPeer]:
    async with DiscordPeer() as p:
        yield p


async def _channel(client: discord.Client, peer: DiscordPeer) -> discord.TextChannel:
    channel = client.get_channel(peer.channel.id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_a_repeated_nonce_returns_the_first_message_and_posts_nothing(
    peer: DiscordPeer,
) -> None:
    async with run_client(discord.Client(intents=discord.Intents.default())) as client:
        channel = await _channel(client, peer)
        first = await channel.send("Reminder", nonce="job-1")
        again = await channel.send("Reminder (retry)", nonce="job-1")
        other = await channel.send("Reminder", nonce="job-2")
    assert again.id == first.id
    assert again.content == "Reminder"  # the original, not the retry's text
    assert other.id != first.id
    bodies = [r.json for r in peer.requests if r.route == MESSAGES and r.method == "POST"]
    assert all(b["enforce_nonce"] is True for b in bodies)  # discord.py 2.7 always sets it
    assert [m.content for m in peer.channel_messages(peer.channel)] == ["Reminder", "Reminder"]


async def test_a_nonce_older_than_the_window_posts_again(peer: DiscordPeer) -> None:
    async with run_client(discord.Client(intents=discord.Intents.default())) as client:
        channel = await _channel(client, peer)
        first = await channel.send("Reminder", nonce="job-1")
        peer.nonce_window = 0.0  # as if the first send was longer ago than Discord remembers
        again = await channel.send("Reminder", nonce="job-1")
    assert again.id != first.id
    assert len(peer.channel_messages(peer.channel)) == 2


async def test_a_nonce_of_a_deleted_message_is_refused_and_a_long_nonce_is_invalid(
    peer: DiscordPeer,
) -> None:
    async with run_client(discord.Client(intents=discord.Intents.default())) as client:
        channel = await _channel(client, peer)
        first = await channel.send("Reminder", nonce="job-1")
        await first.delete()
        with pytest.raises(discord.NotFound):
            await channel.send("Reminder", nonce="job-1")
        with pytest.raises(discord.HTTPException) as too_long:
            await channel.send("Reminder", nonce="x" * 26)
    assert too_long.value.status == 400
    assert peer.channel_messages(peer.channel) == []


async def test_history_pages_like_discord_newest_first_without_nonces(peer: DiscordPeer) -> None:
    async with run_client(discord.Client(intents=discord.Intents.default())) as client:
        channel = await _channel(client, peer)
        sent = [await channel.send(f"m{i}", nonce=f"n{i}") for i in range(7)]
        await peer.user_message(peer.member, peer.channel, "from a member")
        await sent[3].delete()
        newest = [m.content async for m in channel.history(limit=3)]
        before = [m.content async for m in channel.history(limit=2, before=sent[5])]
        after = [m.content async for m in channel.history(limit=10, after=sent[4])]
        everything = [m.content async for m in channel.history(limit=None, oldest_first=True)]
        around = [m.content async for m in channel.history(limit=3, around=sent[2])]
        paged = [m.content async for m in channel.history(limit=150, after=sent[0])]
    assert newest == ["from a member", "m6", "m5"]
    assert before == ["m4", "m2"]  # m3 was deleted
    assert after == ["m5", "m6", "from a member"]
    assert everything == ["m0", "m1", "m2", "m4", "m5", "m6", "from a member"]
    assert sorted(around) == ["m1", "m2", "m4"]
    assert paged == ["m1", "m2", "m4", "m5", "m6", "from a member"]
    reads = [r for r in peer.requests if r.route == MESSAGES and r.method == "GET"]
    assert all(1 <= int(r.query["limit"]) <= 100 for r in reads)
    assert all("nonce" not in m for m in await _raw_history(peer))


async def _raw_history(peer: DiscordPeer) -> list[dict[str, object]]:
    import aiohttp

    url = f"{peer.base_url}/api/v10/channels/{peer.channel.id}/messages?limit=100"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        data: list[dict[str, object]] = await response.json()
        return data


async def test_each_labelled_process_has_its_own_session_and_every_session_gets_dispatches(
    peer: DiscordPeer,
) -> None:
    seen: dict[str, list[int]] = {"a": [], "b": []}

    def client_for(label: str) -> discord.Client:
        client = discord.Client(intents=discord.Intents.default())

        @client.event
        async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
            seen[label].append(payload.message_id)

        return client

    accepted: list[RecordedRequest] = []

    async def note(record: RecordedRequest) -> None:
        accepted.append(record)

    peer.rest.on_accepted = note
    async with contextlib.AsyncExitStack() as stack:
        for label in ("a", "b"):
            # discord.py reads the patched URLs when it connects, so connect one at a time
            with patch_discord(peer.port, label):
                await stack.enter_async_context(run_client(client_for(label)))
        assert peer.gateway_of("a").live
        assert peer.gateway_of("b").live
        message = await peer.user_message(peer.member, peer.channel, "hello")
        await peer.react(peer.member, message, "✅")
        for _ in range(500):
            if all(seen.values()):
                break
            await asyncio.sleep(0.01)
    assert seen == {"a": [message.id], "b": [message.id]}
    assert {r.label for r in accepted} >= {"a", "b"}


async def test_an_interaction_answered_after_the_deadline_is_unknown_to_the_peer(
    peer: DiscordPeer,
) -> None:
    errors: list[int] = []
    client = discord.Client(intents=discord.Intents.default())
    tree = discord.app_commands.CommandTree(client)

    @tree.command(name="late", description="Answers too late")
    async def late(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as exc:
            errors.append(exc.code)

    async with run_client(client):
        await tree.sync()
        peer.ack_deadline = 0.0
        handle = await peer.slash(peer.member, peer.channel, "late")
        for _ in range(500):
            if errors:
                break
            await asyncio.sleep(0.01)
    assert errors == [10062]
    assert not handle.acknowledged
