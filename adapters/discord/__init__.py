"""Discord adapter (discord.py): slash commands, one-tap buttons, DMs; `run_discord` serves it."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app.bootstrap import App
    from bot.app.config import Config

log = logging.getLogger("logoff.discord")


async def run_discord(app: App) -> None:
    """Connect with the configured token and serve until cancelled (reconnecting as needed)."""
    import discord

    from bot.errors import ConfigError

    from .client import LogoffClient

    client = LogoffClient(app)
    try:
        await client.start(app.config.discord.token)
    except discord.LoginFailure as exc:
        log.error("Discord refused the bot token: %s", exc)
        raise ConfigError(
            [("discord.token", "Discord refused this token; copy it again from the Bot page")]
        ) from None
    finally:
        app.outboxes.pop("discord", None)
        if not client.is_closed():
            await asyncio.shield(client.close())


async def sync_commands(config: Config) -> list[str]:
    """Log in without the gateway and upload the slash commands now (`logoff discord-sync`)."""
    from bot.app.bootstrap import App, build_engine
    from bot.clock import SystemClock

    from .client import LogoffClient

    clock = SystemClock()
    app = App(config=config, clock=clock, engine=build_engine(config, clock))
    client = LogoffClient(app, force_sync=True)
    try:
        await client.login(config.discord.token)
        return client.synced_scopes
    finally:
        await client.close()


__all__ = ["run_discord", "sync_commands"]
