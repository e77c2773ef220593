"""Sharding: a large bot runs several processes, each with some of its gateway shards.

With `shard_count` set, the client is discord.py's AutoShardedClient running `shard_ids`
(all when empty): Discord sends each shard the events of the guilds with
`(guild_id >> 22) % shard_count == shard`, and DMs to shard 0, so each interaction reaches one
process. Scheduled messages go over REST from whichever process claims them in the shared
database (storage/jobs.py), so each is sent once however many processes run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from .client import LogoffClient

if TYPE_CHECKING:
    from bot.app.config import Config
    from bot.engine.engine import Engine


class ShardedLogoffClient(LogoffClient, discord.AutoShardedClient):
    """LogoffClient over several shards in one process."""


def discord_client(engine: Engine, config: Config, **options: Any) -> LogoffClient:
    """The client for the config: one connection, or the configured shards."""
    shards = config.discord
    if not shards.shard_count:
        return LogoffClient(engine, config, **options)
    return ShardedLogoffClient(
        engine,
        config,
        shard_count=shards.shard_count,
        shard_ids=list(shards.shard_ids) or None,
        **options,
    )
