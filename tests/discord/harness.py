"""Starts Logoff's Discord adapter exactly as `logoff run` does, against the local Discord peer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.discord.client import LogoffClient
from adapters.discord.outbox import DiscordOutbox
from bot.app.bootstrap import App, discord_service, open_app
from bot.app.config import BotConfig, Config, DiscordConfig
from bot.clock import Clock
from storage import database
from storage import groups as group_queries
from storage import pledges as pledge_queries
from storage.records import GroupRec, MemberRec, PledgeRec
from tests.discord_peer import DiscordPeer, InteractionHandle, PeerChannel, PeerUser, Reply

TIMEOUT = 5.0


def make_config(data_dir: Path, guilds: tuple[int, ...] = ()) -> Config:
    return Config(
        bot=BotConfig(data_dir=data_dir, timezone="Europe/Berlin"),
        discord=DiscordConfig(enabled=True, token="peer-token", guilds=guilds),
    )


@dataclass
class RunningBot:
    """The bot's app and client while it runs, with short-cuts for driving it through the peer."""

    peer: DiscordPeer
    app: App
    task: asyncio.Task[None]

    @property
    def outbox(self) -> DiscordOutbox:
        outbox = self.app.outboxes["discord"]
        assert isinstance(outbox, DiscordOutbox)
        return outbox

    @property
    def client(self) -> LogoffClient:
        client = self.outbox.client
        assert isinstance(client, LogoffClient)
        return client

    async def slash(
        self,
        user: PeerUser,
        name: str,
        channel: PeerChannel | None = None,
        **options: Any,
    ) -> Reply:
        """Run `/name` ("pledge new" for subcommands) and return the first reply with content."""
        handle = await self.invoke(user, name, channel, **options)
        return await handle.wait_reply(timeout=TIMEOUT)

    async def invoke(
        self, user: PeerUser, name: str, channel: PeerChannel | None = None, **options: Any
    ) -> InteractionHandle:
        command, _, sub = name.partition(" ")
        return await self.peer.slash(
            user,
            channel or self.peer.channel,
            command,
            subcommand=sub or None,
            options=options,
        )

    async def group(self, channel: PeerChannel | None = None) -> GroupRec:
        found = await group_queries.find_group("discord", str((channel or self.peer.channel).id))
        assert found is not None
        return found

    async def member(self, user: PeerUser) -> MemberRec:
        found = await group_queries.find_member("discord", str(user.id))
        assert found is not None
        return found

    async def pledges(self, channel: PeerChannel | None = None) -> list[PledgeRec]:
        """The channel's pledges; none when no command has made its group yet (a refused
        command's writes, the group's first record included, are rolled back)."""
        found = await group_queries.find_group("discord", str((channel or self.peer.channel).id))
        if found is None:
            return []
        return await pledge_queries.group_pledges(found.id, ("active", "paused"))


@contextlib.asynccontextmanager
async def start_bot(
    peer: DiscordPeer, data_dir: Path, clock: Clock | None = None, **config: Any
) -> AsyncIterator[RunningBot]:
    """Migrate a SQLite file, open the app and run its Discord service; always stop it."""
    cfg = make_config(data_dir, **config)
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 -- test set-up, once
    await database.migrate(cfg.db_url)
    async with open_app(cfg, clock) as app:
        task = asyncio.create_task(discord_service(app).run())
        try:
            await _ready(app, task)
            await peer.wait_connected(timeout=TIMEOUT)
            yield RunningBot(peer, app, task)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, TIMEOUT)


async def _ready(app: App, task: asyncio.Task[None]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while "discord" not in app.outboxes:
        if task.done():
            task.result()
            raise AssertionError("the Discord service ended before it was ready")
        if loop.time() > deadline:
            raise TimeoutError("the Discord adapter did not log in")
        await asyncio.sleep(0.01)
    client = app.outboxes["discord"].client  # type: ignore[attr-defined]
    await asyncio.wait_for(client.wait_until_ready(), TIMEOUT)
