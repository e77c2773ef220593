"""Fixtures for the Discord end-to-end tests: one peer per test, the bot started as in `run`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.discord import client as discord_client
from tests.discord.harness import RunningBot, start_bot
from tests.discord_peer import DiscordPeer


@pytest.fixture(autouse=True)
def quick_guild_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    # discord.py waits this long after the last GUILD_CREATE before "ready"; the peer sends all
    # guilds at once, so the production default of 2 s only slows the tests.
    monkeypatch.setattr(discord_client, "GUILD_READY_TIMEOUT", 0.05)


@pytest.fixture
async def peer() -> AsyncIterator[DiscordPeer]:
    async with DiscordPeer() as p:
        yield p


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def bot(peer: DiscordPeer, data_dir: Path) -> AsyncIterator[RunningBot]:
    async with start_bot(peer, data_dir) as running:
        yield running
