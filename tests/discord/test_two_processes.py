"""Two bot sessions on one token and one database: every command and tap is answered once."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.dir_lock import DirectoryInUse
from adapters.discord.client import LogoffClient
from storage import incoming
from tests.discord.harness import TIMEOUT, RunningBot
from tests.discord_peer import DiscordPeer, InteractionHandle, patch_discord, run_client

CALLBACK = "/interactions/{interaction_id}/{token}/callback"


@contextlib.asynccontextmanager
async def second_process(bot: RunningBot, data_dir: Path) -> AsyncIterator[LogoffClient]:
    """Another client on the same database and token, with its own data directory and session."""
    config = bot.app.config
    other = dataclasses.replace(config, bot=dataclasses.replace(config.bot, data_dir=data_dir))
    client = LogoffClient(bot.app.engine, other)
    with patch_discord(bot.peer.port, "second"):
        async with run_client(client) as running:
            assert isinstance(running, LogoffClient)
            yield running


def _callbacks(peer: DiscordPeer, handle: InteractionHandle) -> list[int]:
    return [r.status for r in peer.requests if r.route == CALLBACK and f"/{handle.id}/" in r.path]


async def test_a_command_seen_by_two_sessions_is_answered_once_and_done_once(
    bot: RunningBot, peer: DiscordPeer, tmp_path: Path
) -> None:
    async with second_process(bot, tmp_path / "second"):
        assert peer.gateway.live
        assert peer.gateway_of("second").live
        created = await bot.invoke(peer.member, "pledge new", title="Knock on 10 doors")
        await created.wait_reply(timeout=TIMEOUT)
        listed = await bot.invoke(peer.member, "pledge list")
        await listed.wait_reply(timeout=TIMEOUT)
        # both sessions got both interactions; wait until both have finished with them
        for handle in (created, listed):
            await peer.changed.wait_for(
                lambda h=handle: True if _finished(h) else None, TIMEOUT, "claim answered"
            )
        for label in ("", "second"):
            given = _given(peer, label)
            assert {created.id, listed.id} <= given, f"session {label!r} got {given}"
    assert [p.title for p in await bot.pledges()] == ["Knock on 10 doors"]
    for handle in (created, listed):
        assert _callbacks(peer, handle) == [200]
        state = await incoming.get("discord", str(handle.id))
        assert state is not None
        assert state[0] == incoming.ANSWERED


def _given(peer: DiscordPeer, label: str) -> set[int]:
    """Interactions written to one process's session."""
    return {
        int(d.data["id"])
        for d in peer.gateway_of(label).backlog
        if d.event == "INTERACTION_CREATE" and d.written
    }


def _finished(handle: InteractionHandle) -> bool:
    return handle.acknowledged


async def test_a_tap_seen_by_two_sessions_records_one_check_in(
    bot: RunningBot, peer: DiscordPeer, tmp_path: Path
) -> None:
    await bot.slash(peer.member, "pledge new", title="Call a neighbour")
    async with second_process(bot, tmp_path / "second"):
        done = await bot.invoke(peer.member, "done", pledge="1")
        reply = await done.wait_reply(timeout=TIMEOUT)
        assert reply.content
    assert _callbacks(peer, done) == [200]
    again = await bot.slash(peer.member, "streak")
    assert again.content


async def test_a_second_process_on_the_same_data_directory_is_refused(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    client = LogoffClient(bot.app.engine, bot.app.config)
    with pytest.raises(DirectoryInUse) as refused:
        await client.login("peer-token")
    await client.close()
    assert "Another Logoff process is using" in str(refused.value)
    assert "data_dir" in str(refused.value)
