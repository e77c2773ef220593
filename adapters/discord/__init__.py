"""Discord adapter (discord.py): slash commands, one-tap buttons, DMs, one gateway connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app.config import Config
    from bot.engine.engine import Engine
    from bot.ports import Outbox

    from .client import LogoffClient

log = logging.getLogger("logoff.discord")


class DiscordConnection:
    """One gateway connection; each `run` makes a fresh client (a closed one cannot restart)."""

    def __init__(
        self,
        engine: Engine,
        config: Config,
        *,
        attach: Callable[[str, Outbox], None],
        detach: Callable[[str], None],
    ) -> None:
        self.engine = engine
        self.config = config
        self.attach = attach
        self.detach = detach
        self.client: LogoffClient | None = None

    async def run(self) -> None:
        """Connect with the configured token and serve until stopped (discord.py reconnects)."""
        import discord

        from bot.errors import ConfigError

        from .identity import PLATFORM
        from .shards import discord_client

        client = self.client = discord_client(self.engine, self.config, on_ready=self.attach)
        try:
            await client.start(self.config.discord.token)
        except discord.LoginFailure as exc:
            raise ConfigError(
                [
                    (
                        "discord.token",
                        f"Discord refused this token ({exc}); copy it again from the Bot page",
                    )
                ]
            ) from None
        finally:
            self.detach(PLATFORM)
            if not client.is_closed():
                await asyncio.shield(client.close())

    async def stop(self) -> None:
        """Close the gateway and the HTTP session; `run` then returns."""
        if self.client is not None and not self.client.is_closed():
            await self.client.close()


async def sync_commands(engine: Engine, config: Config) -> list[str]:
    """Log in without the gateway and upload the slash commands now (`logoff discord-sync`)."""
    from .client import LogoffClient

    client = LogoffClient(engine, config, force_sync=True)
    try:
        await client.login(config.discord.token)
        return client.synced_scopes
    finally:
        await client.close()


__all__ = ["DiscordConnection", "sync_commands"]
