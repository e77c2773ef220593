"""Running the app: the enabled platform adapters (or the console), the sandbox, and tools."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app.bootstrap import App
from bot.app.config import Config
from bot.clock import VirtualClock
from bot.rules.localtime import parse_timezone
from bot.scheduling import planning
from bot.scheduling.ports import Outbox
from bot.scheduling.scheduler import Scheduler

log = logging.getLogger("logoff.runner")


def logs_to_file(path: Path) -> Path:
    """Log lines go to `path` instead of the terminal, which is the conversation here.

    The console prints what members read; a WARNING line among it would read as part of
    the chat. The handlers' level, format and secret filters move to the file handler.
    """
    root = logging.getLogger()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in list(root.handlers):
        if isinstance(old, logging.StreamHandler) and not isinstance(old, logging.FileHandler):
            for f in old.filters:
                handler.addFilter(f)
            if old.formatter is not None:
                handler.setFormatter(old.formatter)
            root.removeHandler(old)
    root.addHandler(handler)
    return path


def attach_scheduler(app: App, outbox: Outbox | None = None) -> Scheduler:
    """Build the app's scheduler; it sends through `outbox`, by default every attached adapter."""
    scheduler = Scheduler(
        app.engine,
        outbox or app.outbox,
        app.clock,
        catch_up=timedelta(hours=app.config.schedule.catch_up_hours),
    )
    scheduler.attach()
    app.scheduler = scheduler
    return scheduler


CONNECT_WAIT = 10.0


async def _run_when_connected(app: App, scheduler: Scheduler) -> None:
    """Start planning once an adapter is connected (or after a while), not during its start-up.

    Nothing can be sent before an Outbox is attached, and planning every group competes for
    the CPU with the adapter's login and first sync, which is what "ready" waits for.
    """
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(app.connected.wait(), CONNECT_WAIT)
    await scheduler.run()


async def run_platforms(app: App, user: str) -> int:
    """Serve every enabled platform; with none enabled, the console on standard input.

    Adapters hand their Outbox to the scheduler with `app.attach_outbox(platform, outbox)` once
    connected; until then, messages for that platform wait and are retried with backoff.
    """
    config = app.config
    tz = parse_timezone(config.bot.timezone)
    scheduler = attach_scheduler(app)
    task = asyncio.create_task(_run_when_connected(app, scheduler), name="logoff-scheduler")
    try:
        if not (config.matrix.enabled or config.discord.enabled):
            from adapters.console import ConsoleAdapter

            console = ConsoleAdapter(app.engine, user, tz)
            app.attach_outbox("console", console)
            log_path = logs_to_file(config.bot.data_dir / "logoff.log")
            print(
                f"Logoff console — you are @{user} (admin) in #console. "
                f"Try {config.bot.command_prefix}help; end with Ctrl-D. (Log: {log_path})",
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
        scheduler.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def advance(app: App, clock: VirtualClock, span: timedelta) -> None:
    """Move virtual time forward, doing in time order every job that fell due on the way."""
    scheduler = app.scheduler or attach_scheduler(app)
    await planning.plan_all(clock.now())
    await scheduler.advance_to(clock, clock.now() + span)
    await app.engine.close_due()


async def run_sandbox(app: App, clock: VirtualClock, user: str, tz: ZoneInfo) -> int:
    from adapters.console import ConsoleAdapter

    async def wait(span: timedelta) -> None:
        await advance(app, clock, span)

    console = ConsoleAdapter(app.engine, user, tz, wait=wait)
    app.attach_outbox("console", console)
    attach_scheduler(app)
    now = clock.now().astimezone(tz)
    log_path = logs_to_file(app.config.bot.data_dir / "sandbox.log")
    print(
        f"Logoff sandbox — a throwaway database; virtual time {now:%a %d %b %Y %H:%M} {tz.key}. "
        f"You are @{user} (admin); start a line with @name to speak as someone else; "
        f"{app.config.bot.command_prefix}wait 3d moves time on. (Log: {log_path})",
        flush=True,
    )
    await console.run()
    return 0


def simulate_main(config: Config, args: argparse.Namespace) -> int:
    from bot.app.simulation import simulate_cli

    return simulate_cli(config, args)


def discord_sync_main(config: Config, args: argparse.Namespace) -> int:
    if not config.discord.token:
        print("discord-sync needs discord.token (or LOGOFF_DISCORD_TOKEN).", file=sys.stderr)
        return 2
    from adapters.discord import sync_commands

    scopes = asyncio.run(sync_commands(config))
    print(f"Synced the slash commands: {', '.join(scopes) or 'nothing to sync'}.")
    return 0
