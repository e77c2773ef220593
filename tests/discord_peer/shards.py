"""Sharded gateway of the fake peer: one session per shard, events routed as Discord does.

A bot with shard_count N opens one websocket per shard and says which in IDENTIFY
(`"shard": [id, N]`). Discord then sends each shard the guilds, and every event of a guild,
with `(guild_id >> 22) % N == id`; events without a guild (DMs) go to shard 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from .gateway import OP_HEARTBEAT, OP_HEARTBEAT_ACK, OP_IDENTIFY, OP_RESUME, Gateway, hello
from .state import Notifier


def shard_of(guild_id: int | str | None, count: int) -> int:
    """The shard that receives a guild's events (Discord's rule); 0 for no guild."""
    return (int(guild_id) >> 22) % count if guild_id else 0


def on_shard(snowflake: int, shard: int, count: int) -> int:
    """The nearest snowflake at or above `snowflake` whose guild would be on `shard`."""
    return snowflake + (((shard - shard_of(snowflake, count)) % count) << 22)


class ShardedGateway:
    """The same interface as Gateway, for `count` shards behind one /gateway URL."""

    def __init__(
        self,
        count: int,
        ready_payload: Callable[[str], dict[str, Any]],
        guild_payloads: Callable[[], list[dict[str, Any]]],
        heartbeat_interval_ms: int = 45_000,
    ) -> None:
        self.count = count
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.changed = Notifier()
        self.shards = {
            i: Gateway(
                self._ready_for(i, ready_payload),
                self._guilds_for(i, guild_payloads),
                heartbeat_interval_ms,
                changed=self.changed,
            )
            for i in range(count)
        }

    def _ready_for(
        self, shard: int, ready: Callable[[str], dict[str, Any]]
    ) -> Callable[[str], dict[str, Any]]:
        def payload(session_id: str) -> dict[str, Any]:
            data = ready(session_id)
            data["guilds"] = [g for g in data["guilds"] if shard_of(g["id"], self.count) == shard]
            data["shard"] = [shard, self.count]
            return data

        return payload

    def _guilds_for(
        self, shard: int, guilds: Callable[[], list[dict[str, Any]]]
    ) -> Callable[[], list[dict[str, Any]]]:
        return lambda: [g for g in guilds() if shard_of(g["id"], self.count) == shard]

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """HELLO, then read until IDENTIFY or RESUME says which shard's session this is."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await hello(ws, self.heartbeat_interval_ms)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame.get("op") == OP_HEARTBEAT:
                await ws.send_str(json.dumps({"op": OP_HEARTBEAT_ACK}))
                continue
            shard = self._shard_for(frame)
            if shard is None:
                await ws.close(code=4003, message=b"not authenticated")
                break
            await shard.serve(ws, request.transport, first=frame)
            break
        return ws

    def _shard_for(self, frame: dict[str, Any]) -> Gateway | None:
        data = frame.get("d") or {}
        if frame.get("op") == OP_IDENTIFY:
            shard_id, count = data.get("shard") or [0, 1]
            if count != self.count or shard_id not in self.shards:
                return None  # Discord closes with 4010/4011; the tests only need a refusal
            return self.shards[shard_id]
        if frame.get("op") == OP_RESUME:
            for gateway in self.shards.values():
                if gateway.session_id == data.get("session_id"):
                    return gateway
            return self.shards[0]  # an unknown session: it answers INVALID_SESSION
        return None

    # -- what DiscordPeer and the tests use of a Gateway --------------------------------------

    @property
    def session_id(self) -> str | None:
        return next((g.session_id for g in self.shards.values() if g.session_id), None)

    @property
    def intents(self) -> int | None:
        return next((g.intents for g in self.shards.values() if g.intents is not None), None)

    @property
    def live(self) -> bool:
        return all(g.live for g in self.shards.values())

    @property
    def identifies(self) -> list[dict[str, Any]]:
        return [i for g in self.shards.values() for i in g.identifies]

    @property
    def resumes(self) -> list[dict[str, Any]]:
        return [r for g in self.shards.values() for r in g.resumes]

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        return await self.shards[shard_of(data.get("guild_id"), self.count)].dispatch(event, data)

    async def drop(self, code: int = 4000, abrupt: bool = False) -> None:
        for gateway in self.shards.values():
            await gateway.drop(code=code, abrupt=abrupt)

    async def request_reconnect(self) -> None:
        for gateway in self.shards.values():
            await gateway.request_reconnect()

    async def close(self) -> None:
        for gateway in self.shards.values():
            await gateway.close()
