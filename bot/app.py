"""The composition root: builds the engine, storage and the enabled adapters from the config."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.clock import Clock, SystemClock
from bot.commands import build_registry
from bot.config import Config
from bot.engine import Engine
from storage import database

log = logging.getLogger("logoff")


@dataclass
class App:
    config: Config
    clock: Clock
    engine: Engine


def build_engine(config: Config, clock: Clock) -> Engine:
    return Engine(
        clock, config.group_defaults(), build_registry(), prefix=config.bot.command_prefix
    )


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
