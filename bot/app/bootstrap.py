"""The composition root: the one place that builds everything from the config, adapters included.

Every run path (`logoff run` on the console, Matrix or Discord; the sandbox; `discord-sync`)
is put together here and served by bot.app.serve, so supervision and stopping are written once.
This is the only module that imports adapters (an import-linter contract keeps it so).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app import database_lock, dataclass_cache, start_trace
from bot.app.config import Config, parse_http_address
from bot.app.metrics import build_meter
from bot.app.serve import Service, logs_to_file, serve
from bot.app.tls_certificates import certificates_at_first_handshake
from bot.clock import Clock, SystemClock, VirtualClock
from bot.commands import build_registry
from bot.engine.engine import Engine
from bot.engine.hooks import SchedulingHooks
from bot.errors import ConfigError, DeliveryError
from bot.messages.replies import Reply
from bot.messages.syntax import CommandSyntax
from bot.ports import EventMirror, MirroredEvent, Outbox, SendAhead
from bot.rules.localtime import parse_timezone
from bot.scheduling.replanning import Replanner
from bot.scheduling.scheduler import Scheduler
from storage import database
from storage.records import GroupRec, MemberRec
from storage.warm_up import warm_up

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from bot.app.http_listener import Route

log = logging.getLogger("logoff")


@dataclass
class App:
    """Everything one running bot holds. Adapters register their Outbox by platform name."""

    config: Config
    clock: Clock
    engine: Engine
    scheduler: Scheduler
    outboxes: dict[str, Outbox] = field(default_factory=dict)
    # Set when the first adapter has attached its Outbox (it is connected).
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _waiters: set[asyncio.Task[None]] = field(default_factory=set)

    def attach_outbox(
        self, platform: str, outbox: Outbox, ready: asyncio.Event | None = None
    ) -> None:
        """`ready`: the adapter's own "connected" (Matrix: its first sync returned), which
        the scheduler's first round waits for instead of the attachment alone."""
        self.outboxes[platform] = outbox
        if ready is None:
            self.connected.set()
        else:
            self._waiters.add(asyncio.create_task(self._connect_when(ready)))

    async def _connect_when(self, ready: asyncio.Event) -> None:
        await ready.wait()
        self.connected.set()

    def detach_outbox(self, platform: str) -> None:
        self.outboxes.pop(platform, None)

    @property
    def outbox(self) -> Outbox:
        """One Outbox routing each message to the adapter of the group's or member's platform."""
        return PlatformOutbox(self.outboxes, self.engine.syntax)


class PlatformOutbox:
    """Routes scheduled messages to the adapter that serves the target's platform."""

    def __init__(self, outboxes: dict[str, Outbox], syntax: CommandSyntax) -> None:
        self._outboxes = outboxes
        self._syntax = syntax

    def _for(self, platform: str) -> Outbox:
        try:
            return self._outboxes[platform]
        except KeyError:
            raise DeliveryError(f"no adapter for platform {platform!r} is running") from None

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str:
        reply = self._syntax.for_platform(reply, group.platform)
        return await self._for(group.platform).send_to_group(group, reply)

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        reply = self._syntax.for_platform(reply, member.platform)
        return await self._for(member.platform).send_to_member(member, reply, fallback)

    async def find_sent(self, key: str, group: GroupRec, member: MemberRec | None) -> str | None:
        platform = member.platform if member is not None else group.platform
        return await self._for(platform).find_sent(key, group, member)

    async def prepare_send(self, group: GroupRec, member: MemberRec | None, reply: Reply) -> None:
        platform = member.platform if member is not None else group.platform
        outbox = self._outboxes.get(platform)
        if isinstance(outbox, SendAhead):
            await outbox.prepare_send(group, member, self._syntax.for_platform(reply, platform))

    async def edit(self, group: GroupRec, message_id: str, reply: Reply) -> None:
        reply = self._syntax.for_platform(reply, group.platform)
        await self._for(group.platform).edit(group, message_id, reply)

    async def mirror_event(self, group: GroupRec, event: MirroredEvent) -> str | None:
        outbox = self._outboxes.get(group.platform)
        if isinstance(outbox, EventMirror):  # only Discord has a native calendar
            return await outbox.mirror_event(group, event)
        return event.mirror_id


# Platforms whose members do not type the prefix: Discord's commands are slash commands.
SLASH_PLATFORMS = ("discord",)


def command_syntax(config: Config) -> CommandSyntax:
    """`!pledge join` where commands are typed (Matrix, console), `/pledge join` on Discord."""
    return CommandSyntax(config.bot.command_prefix, dict.fromkeys(SLASH_PLATFORMS, "/"))


def build_engine(
    config: Config,
    clock: Clock,
    hooks: SchedulingHooks | None = None,
    outbox: Outbox | None = None,
) -> Engine:
    """The engine alone (no scheduler: snoozing is refused, nothing is re-planned)."""
    return Engine(
        clock,
        config.group_defaults(),
        build_registry(),
        syntax=command_syntax(config),
        commands_per_minute=config.bot.commands_per_minute,
        hooks=hooks,
        secrets=tuple(s for s in config.secrets() if len(s) >= 4),
        meter=build_meter() if config.http.address else None,
        outbox=outbox,
    )


def build_app(config: Config, clock: Clock) -> App:
    """The engine and the scheduler, wired to each other; adapters attach their Outbox later."""
    replanner = Replanner(clock)
    outboxes: dict[str, Outbox] = {}
    outbox = PlatformOutbox(outboxes, command_syntax(config))  # filled as adapters connect
    engine = build_engine(config, clock, replanner, outbox)
    scheduler = Scheduler(
        engine,
        outbox,
        clock,
        catch_up=timedelta(hours=config.schedule.catch_up_hours),
        wake=replanner.woken,
    )
    return App(config=config, clock=clock, engine=engine, scheduler=scheduler, outboxes=outboxes)


def event_feed_routes(app: App) -> list[Route]:
    """The groups' ICS feeds (issue 14) on the HTTP listener, and the address `event feed`
    prints: the listener's own (put a proxy's address in front of it yourself)."""
    if not app.config.http.address:
        return []
    from bot.app.http_listener import event_feed_route

    host, port = parse_http_address(app.config.http.address)
    app.engine.feed_base_url = f"http://{host}:{port}"
    return [event_feed_route(app.clock)]


@asynccontextmanager
async def open_app(
    config: Config, clock: Clock | None = None, *, in_memory: bool = False
) -> AsyncIterator[App]:
    """Connect the database (refusing an unmigrated one) and build the app."""
    clock = clock or SystemClock()
    if in_memory:
        await database.migrate("sqlite://:memory:", keep_open=True)
    else:
        if config.db_url.startswith("sqlite://"):
            database.create_private_dir(config.bot.data_dir)
        await database.open_database(config.db_url)
    start_trace.mark("database open, migrations checked")
    try:
        app = build_app(config, clock)
        if not config.http.address:
            yield app  # no listener: aiohttp's server side is not even imported
            return
        with certificates_at_first_handshake():  # aiohttp's client contexts, never used here
            from bot.app.http_listener import serve_http

        routes = event_feed_routes(app)
        async with serve_http(app, routes):  # /health, /ready, /metrics, the event feeds
            yield app
    finally:
        await database.close_database()


# -- adapters as supervised services ---------------------------------------------------------


def matrix_service(app: App) -> Service:
    """The Matrix adapter: logs in, attaches its Outbox, syncs; `stop` saves the sync state."""
    from adapters.matrix import import_nio

    import_nio(app.config.matrix.encryption)
    start_trace.mark("nio imported")
    from adapters.matrix.adapter import PLATFORM, MatrixAdapter

    start_trace.mark("Matrix adapter imported")

    adapter = MatrixAdapter(app.engine, app.config.matrix, app.config.bot.data_dir)
    # The scheduler's first round (planning every group, the catch-up) waits for the first
    # sync: it would compete with the login and first sync that "ready" is.
    app.attach_outbox(PLATFORM, adapter, ready=adapter.ready)
    # The adapter's `stop` saves the sync state and makes `run` return (it is a plain
    # function, safe from a signal callback); the serve path awaits the service's stop.

    async def stop() -> None:
        adapter.stop()

    return Service("matrix", adapter.run, stop=stop, handle=adapter)


def discord_service(app: App) -> Service:
    """The Discord adapter: a fresh client for every (re)start, as discord.py needs."""
    with certificates_at_first_handshake():  # read once, at the gateway's first connection
        from adapters.discord import DiscordConnection

    connection = DiscordConnection(
        app.engine, app.config, attach=app.attach_outbox, detach=app.detach_outbox
    )
    return Service("discord", connection.run, stop=connection.stop, handle=connection)


def console_service(
    app: App,
    user: str,
    tz: ZoneInfo,
    *,
    outbox_file: Path | None = None,
    read_input: bool = True,
    pictures: Path | None = None,
) -> Service:
    """The console adapter as the Outbox; it reads commands from stdin unless told not to."""
    from adapters.console import ConsoleAdapter, OutboxFile

    box = OutboxFile(outbox_file) if outbox_file else None
    folder = pictures or app.config.bot.data_dir / "pictures"
    console = ConsoleAdapter(app.engine, user, tz, outbox_file=box, pictures=folder)
    app.attach_outbox("console", console)

    async def run() -> None:
        await console.run()

    async def forever() -> None:
        await asyncio.Event().wait()  # serving the Outbox only: until stopped

    async def close() -> None:
        if box is not None:
            box.close()

    return Service(
        "console",
        run if read_input else forever,
        ends_serving=read_input,  # end of input ends the bot
        after=close,
        handle=console,
    )


def platform_services(app: App) -> list[Service]:
    """The enabled platforms, in a fixed order."""
    services = []
    if app.config.matrix.enabled:
        services.append(matrix_service(app))
    if app.config.discord.enabled:
        services.append(discord_service(app))
    return services


async def run_bot(
    config: Config,
    user: str,
    *,
    outbox_file: Path | None = None,
    read_input: bool = True,
    pictures: Path | None = None,
) -> int:
    """`logoff run`: every enabled platform, or the console when none is; until a signal."""
    platforms = config.matrix.enabled or config.discord.enabled
    if platforms and (outbox_file is not None or not read_input):
        raise ConfigError(
            [
                (
                    "run",
                    "--outbox-file and --no-input serve the console adapter only; "
                    "disable [matrix] and [discord] to use them",
                )
            ]
        )
    # One process per SQLite file (DatabaseInUse); PostgreSQL serves several.
    async with database_lock.held(config.db_url), open_app(config) as app:
        # The first command's first-query and first-commit costs, paid once connected.
        warming = asyncio.create_task(_warm_up(app.connected))
        try:
            return await _serve_bot(app, config, user, outbox_file, read_input, pictures)
        finally:
            warming.cancel()


async def _serve_bot(
    app: App,
    config: Config,
    user: str,
    outbox_file: Path | None,
    read_input: bool,
    pictures: Path | None,
) -> int:
    if config.matrix.enabled or config.discord.enabled:
        return await serve(app.scheduler, platform_services(app), connected=app.connected)
    tz = parse_timezone(config.bot.timezone)
    service = console_service(
        app, user, tz, outbox_file=outbox_file, read_input=read_input, pictures=pictures
    )
    log_path = logs_to_file(config.bot.data_dir / "logoff.log")
    prefix = config.bot.command_prefix
    if read_input:
        where = f", sends to {outbox_file}" if outbox_file else ""
        print(
            f"Logoff console{where} — you are @{user} (admin) in #console. "
            f"Try {prefix}help; end with Ctrl-D. (Log: {log_path})",
            flush=True,
        )
    else:
        where = f"; sends to {outbox_file}" if outbox_file else ""
        print(
            f"Logoff console — scheduler running{where}; stop with SIGTERM or Ctrl-C. "
            f"(Log: {log_path})",
            flush=True,
        )
    return await serve(app.scheduler, [service], connected=app.connected)


async def _warm_up(connected: asyncio.Event) -> None:
    # After ready (Matrix: the first sync handled), in the background: nothing here may
    # delay it. The adapters are imported by then: the start's dataclasses are made, and what
    # the cache of their methods holds (~1.4 MiB) would only count against the bot's memory.
    await connected.wait()
    dataclass_cache.forget()
    try:
        start_trace.mark("warm-up begins")
        await warm_up()
        start_trace.mark("warm-up done")
    except Exception as exc:  # an optimisation only: the commands work without it
        log.debug("warm-up failed: %r", exc)


async def run_sandbox(
    config: Config, clock: VirtualClock, user: str, tz: ZoneInfo, pictures: Path | None = None
) -> int:
    """`logoff sandbox`: the console on a throwaway database, virtual time moved by `!wait`."""
    from adapters.console import ConsoleAdapter
    from bot.app.serve import advance

    async with open_app(config, clock, in_memory=True) as app:

        async def wait(span: timedelta) -> None:
            await advance(app.scheduler, clock, span)

        folder = pictures or config.bot.data_dir / "pictures"
        console = ConsoleAdapter(app.engine, user, tz, wait=wait, pictures=folder)
        app.attach_outbox("console", console)
        now = clock.now().astimezone(tz)
        log_path = logs_to_file(config.bot.data_dir / "sandbox.log")
        print(
            "Logoff sandbox — a throwaway database; virtual time "
            f"{now:%a %d %b %Y %H:%M} {tz.key}. You are @{user} (admin); start a line with "
            f"@name to speak as someone else; {config.bot.command_prefix}wait 3d moves time on. "
            f"(Log: {log_path})",
            flush=True,
        )
        await console.run()
    return 0


async def sync_discord_commands(config: Config) -> list[str]:
    """`logoff discord-sync`: upload the slash commands now; returns the scopes synced."""
    from adapters.discord import sync_commands

    return await sync_commands(build_engine(config, SystemClock()), config)
