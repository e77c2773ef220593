"""Whether the bot's gateway connection (each of its shards) is up, in words for /ready."""

from __future__ import annotations

import discord


def gateway_problem(client: discord.Client) -> str | None:
    if client.is_closed():
        return "the gateway connection is closed"
    if not client.is_ready():
        return "connecting to the gateway"
    if isinstance(client, discord.AutoShardedClient):
        down = sorted(i for i, shard in client.shards.items() if shard.is_closed())
        if down:
            return f"shard(s) {down} disconnected; reconnecting"
        return None
    ws = client.ws
    if ws is None or not ws.open:
        return "the gateway connection dropped; reconnecting"
    return None
