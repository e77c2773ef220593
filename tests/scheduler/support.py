"""Helpers for scheduler tests: a recording Outbox, a group built through the engine, a rig."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.actors import Actor, Place
from bot.app.bootstrap import App, build_app
from bot.app.config import BotConfig, Config
from bot.clock import VirtualClock
from bot.errors import DeliveryError
from bot.messages.markup import unescape_plain
from bot.messages.replies import Reply
from bot.scheduling.scheduler import Scheduler
from storage import database
from storage import groups as group_queries
from storage.records import GroupRec, MemberRec

PLACE = Place("test", "room-1", "Crew")


class Crash(BaseException):
    """The process dies here: nothing after this point runs (not even `except Exception`)."""


@dataclass
class Posted:
    at: datetime
    to: str  # "#channel" or "@member"
    text: str
    mentions: list[str]
    buttons: int
    key: str


@dataclass
class RecordingOutbox:
    """Records every message; dedupes on the idempotency key like a Matrix txn id would.

    With `path`, what it got survives a simulated crash (written to a JSON file).
    """

    clock: VirtualClock
    path: Path | None = None
    failures: list[BaseException] = field(default_factory=list)
    crash_after_post: bool = False
    posted: list[Posted] = field(default_factory=list)
    # False: like a platform whose own dedupe window has passed (a new device, hours later).
    dedupes: bool = True

    def __post_init__(self) -> None:
        if self.path is not None and self.path.exists():
            saved = json.loads(self.path.read_text())
            self.posted = [Posted(**{**p, "at": datetime.fromisoformat(p["at"])}) for p in saved]

    def _save(self) -> None:
        if self.path is not None:
            self.path.write_text(json.dumps([p.__dict__ for p in self.posted], default=str))

    def _post(self, to: str, reply: Reply) -> str:
        if self.failures:
            raise self.failures.pop(0)
        key = reply.extra.get("idempotency_key", "")
        for i, p in enumerate(self.posted):
            if key and p.key == key and self.dedupes:
                return f"msg-{i}"  # the platform saw this transaction already
        self.posted.append(
            Posted(
                at=self.clock.now(),
                to=to,
                text=unescape_plain(reply.text),  # raw Markdown, member text unmarked
                mentions=[m.external_id for m in reply.mentions],
                buttons=len(reply.buttons),
                key=key,
            )
        )
        self._save()
        if self.crash_after_post:
            raise Crash("died after the platform accepted the message")
        return f"msg-{len(self.posted) - 1}"

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str:
        return self._post("#" + group.external_id, reply)

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        return self._post("@" + member.external_id, reply)

    async def find_sent(self, key: str, group: GroupRec, member: MemberRec | None) -> str | None:
        for i, p in enumerate(self.posted):
            if key and p.key == key:
                return f"msg-{i}"
        return None


def retryable(after: float | None = None) -> DeliveryError:
    return DeliveryError("platform busy", retryable=True, retry_after=after)


@dataclass
class Rig:
    app: App
    clock: VirtualClock
    outbox: RecordingOutbox
    scheduler: Scheduler
    said: int = 0

    async def say(self, who: str, text: str) -> Reply | None:
        actor = Actor("test", who, who, is_admin=(who == "admin"))
        # Every message its own event id, as on a platform: the same words said twice are two
        # messages (an id from the text made a repeated `!done` a replay of the first).
        self.said += 1
        return await self.app.engine.handle_text(actor, PLACE, text, f"e{self.said}:{who}:{text}")

    async def tap(self, who: str, action: str) -> Reply:
        actor = Actor("test", who, who)
        return await self.app.engine.handle_action(actor, PLACE, action, f"t{who}{action}")

    async def wait(self, span: timedelta) -> list[Posted]:
        before = len(self.outbox.posted)
        await self.scheduler.advance_to(self.clock, self.clock.now() + span)
        return self.outbox.posted[before:]

    async def group(self) -> GroupRec:
        group = await group_queries.find_group(PLACE.platform, PLACE.external_id)
        assert group is not None
        return group

    async def settings(self, **values: Any) -> None:
        group = await self.group()
        await group_queries.update_group(group.id, **values)
        await self.app.engine.hooks.replan(group.id)  # type: ignore[union-attr]


def config(tz: str = "Europe/Berlin", **schedule: Any) -> Config:
    from dataclasses import replace

    base = Config(bot=BotConfig(timezone=tz))
    return replace(base, schedule=replace(base.schedule, **schedule))


@asynccontextmanager
async def rig(
    start: datetime,
    *,
    url: str = "sqlite://:memory:",
    cfg: Config | None = None,
    outbox: RecordingOutbox | None = None,
    migrate: bool = True,
) -> AsyncIterator[Rig]:
    """A migrated database, the real engine and scheduler, and a recording Outbox."""
    cfg = cfg or config()
    clock = VirtualClock(start)
    if migrate:
        await database.migrate(url, keep_open=True)
    else:
        await database.open_database(url)
    try:
        app = build_app(cfg, clock)
        box = outbox or RecordingOutbox(clock)
        box.clock = clock
        app.attach_outbox("test", box)
        scheduler = app.scheduler
        yield Rig(app, clock, box, scheduler)
    finally:
        await database.close_database()
