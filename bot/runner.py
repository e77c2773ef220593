"""Running the app: the enabled platform adapters (or the console), the sandbox, and tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.app import App
from bot.clock import VirtualClock
from bot.config import Config
from bot.localtime import parse_timezone

log = logging.getLogger("logoff.runner")

CLOSE_EVERY = 60.0


async def _close_periodically(app: App) -> None:
    while True:
        try:
            await app.engine.close_due()
        except Exception:
            log.exception("closing periods failed; will retry")
        await asyncio.sleep(CLOSE_EVERY)


async def run_platforms(app: App, user: str) -> int:
    """Serve every enabled platform; with none enabled, the console on standard input."""
    config = app.config
    tz = parse_timezone(config.bot.timezone)
    closer = asyncio.create_task(_close_periodically(app))
    try:
        if not (config.matrix.enabled or config.discord.enabled):
            from adapters.console import ConsoleAdapter

            console = ConsoleAdapter(app.engine, user, tz)
            print(
                f"Logoff console — you are @{user} (admin) in #console. "
                f"Try {config.bot.command_prefix}help; end with Ctrl-D.",
                flush=True,
            )
            await console.run()
            return 0
        services = []
        if config.matrix.enabled:
            from adapters.matrix import run_matrix

            services.append(run_matrix(app))
        if config.discord.enabled:
            from adapters.discord import run_discord

            services.append(run_discord(app))
        await asyncio.gather(*services)
        return 0
    finally:
        closer.cancel()


async def advance(app: App, clock: VirtualClock, span: timedelta) -> None:
    """Move virtual time forward, doing in order everything that fell due."""
    clock.advance(span)
    await app.engine.close_due()


async def run_sandbox(app: App, clock: VirtualClock, user: str, tz: ZoneInfo) -> int:
    from adapters.console import ConsoleAdapter

    async def wait(span: timedelta) -> None:
        await advance(app, clock, span)

    console = ConsoleAdapter(app.engine, user, tz, wait=wait)
    now = clock.now().astimezone(tz)
    print(
        f"Logoff sandbox — a throwaway database; virtual time {now:%a %d %b %Y %H:%M} {tz.key}. "
        f"You are @{user} (admin); start a line with @name to speak as someone else; "
        f"{app.config.bot.command_prefix}wait 3d moves time on.",
        flush=True,
    )
    await console.run()
    return 0


def simulate_main(config: Config, args: argparse.Namespace) -> int:
    print("simulate needs the scheduler, which is not built yet.", file=sys.stderr)
    return 2


def backup_main(config: Config, args: argparse.Namespace) -> int:
    print("backup is not built yet.", file=sys.stderr)
    return 2


def discord_sync_main(config: Config, args: argparse.Namespace) -> int:
    print("discord-sync needs the Discord adapter, which is not built yet.", file=sys.stderr)
    return 2
