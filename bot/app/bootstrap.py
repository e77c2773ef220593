"""The composition root: builds the engine, storage and the enabled adapters from the config."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.app.config import Config
from bot.clock import Clock, SystemClock
from bot.commands import build_registry
from bot.engine.engine import Engine
from bot.errors import DeliveryError
from bot.messages.replies import Reply
from bot.scheduling.ports import EventMirror, MirroredEvent, Outbox
from storage import database
from storage.records import GroupRec, MemberRec

if TYPE_CHECKING:
    from bot.scheduling.scheduler import Scheduler

log = logging.getLogger("logoff")


@dataclass
class App:
    """Everything one running bot holds. Adapters register their Outbox by platform name."""

    config: Config
    clock: Clock
    engine: Engine
    outboxes: dict[str, Outbox] = field(default_factory=dict)
    # Set when the first adapter has attached its Outbox (it is connected).
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    scheduler: Scheduler | None = None  # set by bot.app.serve.attach_scheduler

    def attach_outbox(self, platform: str, outbox: Outbox) -> None:
        self.outboxes[platform] = outbox
        self.connected.set()

    @property
    def outbox(self) -> Outbox:
        """One Outbox routing each message to the adapter of the group's or member's platform."""
        return PlatformOutbox(self.outboxes)


class PlatformOutbox:
    """Routes scheduled messages to the adapter that serves the target's platform."""

    def __init__(self, outboxes: dict[str, Outbox]) -> None:
        self._outboxes = outboxes

    def _for(self, platform: str) -> Outbox:
        try:
            return self._outboxes[platform]
        except KeyError:
            raise DeliveryError(f"no adapter for platform {platform!r} is running") from None

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str:
        return await self._for(group.platform).send_to_group(group, reply)

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        return await self._for(member.platform).send_to_member(member, reply, fallback)

    async def edit(self, group: GroupRec, message_id: str, reply: Reply) -> None:
        await self._for(group.platform).edit(group, message_id, reply)

    async def mirror_event(self, group: GroupRec, event: MirroredEvent) -> str | None:
        outbox = self._outboxes.get(group.platform)
        if isinstance(outbox, EventMirror):  # only Discord has a native calendar
            return await outbox.mirror_event(group, event)
        return event.mirror_id


def build_engine(config: Config, clock: Clock) -> Engine:
    engine = Engine(
        clock,
        config.group_defaults(),
        build_registry(),
        prefix=config.bot.command_prefix,
        commands_per_minute=config.bot.commands_per_minute,
    )
    engine.secrets = tuple(s for s in config.secrets() if len(s) >= 4)
    return engine


@asynccontextmanager
async def open_app(
    config: Config, clock: Clock | None = None, *, in_memory: bool = False
) -> AsyncIterator[App]:
    """Connect the database (refusing an unmigrated one) and build the engine."""
    clock = clock or SystemClock()
    if in_memory:
        await database.migrate("sqlite://:memory:", keep_open=True)
    else:
        if config.db_url.startswith("sqlite://"):
            config.bot.data_dir.mkdir(parents=True, exist_ok=True)
        await database.open_database(config.db_url)
    try:
        yield App(config=config, clock=clock, engine=build_engine(config, clock))
    finally:
        await database.close_database()
