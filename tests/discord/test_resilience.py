"""Reconnects, slow work, and the one error boundary: nothing lost, nothing leaked."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import respond
from adapters.discord.client import NOT_SERVED
from bot.messages.replies import Reply, Visibility
from tests.discord.harness import RunningBot, start_bot
from tests.discord_peer import DiscordPeer


@pytest.mark.parametrize("abrupt", [False, True])
async def test_a_dropped_gateway_connection_is_resumed_and_nothing_is_lost(
    bot: RunningBot, peer: DiscordPeer, abrupt: bool
) -> None:
    await peer.drop_connection(abrupt=abrupt)
    created = await bot.invoke(peer.member, "pledge new", title="Call a neighbour")
    listed = await bot.invoke(peer.member, "pledge list")
    assert "Call a neighbour" in ((await created.wait_reply(timeout=5)).content or "")
    assert "Call a neighbour" in ((await listed.wait_reply(timeout=5)).content or "")
    await peer.wait_connected(timeout=5, resumes=1)
    assert len(peer.gateway.identifies) == 1
    assert len(peer.gateway.resumes) == 1
    reply = Reply(text="still here", visibility=Visibility.PUBLIC)
    await bot.outbox.send_to_group(await bot.group(), reply)
    posted = [m for m in peer.channel_messages(peer.channel) if m.source == "channel"]
    assert [m.content for m in posted] == ["still here"]


async def test_slow_work_is_deferred_and_a_public_answer_still_reaches_the_channel(
    bot: RunningBot, peer: DiscordPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(respond, "DEFER_AFTER", 0.05)
    engine = bot.app.engine
    real = engine.handle_command

    async def slow(*args: Any, **kwargs: Any) -> Reply:
        await asyncio.sleep(0.3)
        return await real(*args, **kwargs)

    monkeypatch.setattr(engine, "handle_command", slow)
    handle = await bot.invoke(peer.member, "pledge new", title="Cook for the crew")
    callback = await handle.wait_callback(timeout=5)
    assert callback.is_deferral
    assert callback.ephemeral
    note = await handle.wait_followup(timeout=5)
    assert note.ephemeral
    assert note.content == respond.POSTED_BELOW
    posted = await peer.wait_for_message(peer.channel, lambda m: "Cook for the crew" in m.content)
    assert not posted.ephemeral
    private = await bot.invoke(peer.member, "pledge list")
    assert (await private.wait_callback(timeout=5)).is_deferral
    listed = await private.wait_followup(timeout=5)
    assert listed.ephemeral
    assert "Cook for the crew" in (listed.content or "")


async def test_an_unexpected_failure_gets_an_apology_with_a_reference_and_is_logged(
    bot: RunningBot,
    peer: DiscordPeer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Reply:
        raise RuntimeError("database on fire: secret internals")

    monkeypatch.setattr(bot.app.engine, "handle_command", broken)
    monkeypatch.setattr(bot.app.engine, "handle_action", broken)
    with caplog.at_level(logging.ERROR, logger="logoff.discord"):
        reply = await bot.slash(peer.member, "pledge list")
    assert reply.ephemeral
    content = reply.content or ""
    assert "Sorry, something went wrong" in content
    assert "reference" in content
    assert "secret internals" not in content
    ref = content.split("`")[1]
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)


async def test_a_guild_that_is_not_configured_is_not_served(
    peer: DiscordPeer, data_dir: Path
) -> None:
    other = peer.add_guild("Other", owner=peer.owner)
    other_channel = peer.add_channel(other, "general")
    peer.add_member(other, peer.member)
    async with start_bot(peer, data_dir, guilds=(peer.guild.id,)) as bot:
        # as if the commands were still registered there from an earlier configuration
        stale = peer.command("pledge", peer.guild)
        assert stale is not None
        peer.commands.append({**stale, "guild_id": str(other.id)})
        reply = await bot.slash(peer.member, "pledge list", channel=other_channel)
        assert reply.ephemeral
        assert reply.content == NOT_SERVED
