"""A scripted console session: type lines as members, read what the bot printed, move time."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from adapters.console import ConsoleAdapter
from bot.app.bootstrap import build_app
from bot.app.config import BotConfig, Config
from bot.app.serve import advance
from bot.clock import VirtualClock
from bot.engine.engine import Engine
from bot.rules.localtime import parse_timezone
from storage import database


class ConsoleSession:
    def __init__(
        self,
        engine: Engine,
        clock: VirtualClock,
        adapter: ConsoleAdapter,
        out: io.StringIO,
        app: object,
    ):
        self.engine = engine
        self.clock = clock
        self.adapter = adapter
        self.out = out
        self.app = app

    async def say(self, line: str) -> str:
        """Type one line (``@name text`` speaks as name); returns what was printed for it."""
        start = self.out.tell()
        await self.adapter.handle_line(line)
        self.out.seek(start)
        printed = self.out.read()
        return printed

    async def wait(self, span: timedelta) -> str:
        start = self.out.tell()
        await advance(self.app.scheduler, self.clock, span)  # type: ignore[arg-type]
        self.out.seek(start)
        return self.out.read()

    def transcript(self) -> str:
        return self.out.getvalue()


@asynccontextmanager
async def open_session(
    url: str, start: datetime, tz: str, user: str = "you"
) -> AsyncIterator[ConsoleSession]:
    zone = parse_timezone(tz)
    config = Config(bot=BotConfig(timezone=zone.key))
    clock = VirtualClock(start)
    await database.migrate(url, keep_open=True)
    try:
        app = build_app(config, clock)
        engine = app.engine
        out = io.StringIO()

        async def wait(span: timedelta) -> None:
            await advance(app.scheduler, clock, span)

        adapter = ConsoleAdapter(engine, user, zone, out=out, wait=wait)
        app.attach_outbox("console", adapter)
        yield ConsoleSession(engine, clock, adapter, out, app)
    finally:
        await database.close_database()
