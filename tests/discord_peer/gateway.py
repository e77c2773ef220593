"""Gateway websocket of the fake peer: HELLO, heartbeats, IDENTIFY/READY, RESUME and dispatches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from .state import Notifier

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content


@dataclass
class Dispatch:
    """A dispatch event with its sequence number."""

    seq: int
    event: str
    data: dict[str, Any]
    sent: bool = False
    written: bool = False  # really written to a session's socket (not only given up on)

    def frame(self) -> str:
        return json.dumps({"op": OP_DISPATCH, "s": self.seq, "t": self.event, "d": self.data})


async def hello(ws: web.WebSocketResponse, heartbeat_interval_ms: int) -> None:
    await ws.send_str(
        json.dumps({"op": OP_HELLO, "d": {"heartbeat_interval": heartbeat_interval_ms}})
    )


class Gateway:
    """Serves one bot session over (re)connecting websockets."""

    def __init__(
        self,
        ready_payload: Callable[[str], dict[str, Any]],
        guild_payloads: Callable[[], list[dict[str, Any]]],
        heartbeat_interval_ms: int = 45_000,
        changed: Notifier | None = None,
        *,
        replay_on_identify: bool = True,
    ) -> None:
        self._ready_payload = ready_payload
        self._guild_payloads = guild_payloads
        self.heartbeat_interval_ms = heartbeat_interval_ms
        # Discord gives a new session nothing from before it; the default gateway hands over
        # what was dispatched while nobody was connected, which single-client tests rely on.
        self.replay_on_identify = replay_on_identify
        self.session_id: str | None = None
        self.seq = 0
        self.backlog: list[Dispatch] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.heartbeats = 0
        self.connections = 0
        self.received: list[dict[str, Any]] = []
        self.changed = changed or Notifier()
        self._ws: web.WebSocketResponse | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._live = False
        self._send_lock = asyncio.Lock()

    @property
    def intents(self) -> int | None:
        """Intents of the latest IDENTIFY, or None before any."""
        return self.identifies[-1]["intents"] if self.identifies else None

    @property
    def live(self) -> bool:
        return self._live and self._ws is not None and not self._ws.closed

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await hello(ws, self.heartbeat_interval_ms)
        await self.serve(ws, request.transport)
        return ws

    async def serve(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.BaseTransport | None,
        first: dict[str, Any] | None = None,
    ) -> None:
        """Serve a connection that was sent HELLO; `first` is a frame already read from it (the
        IDENTIFY or RESUME a sharded gateway read to pick this session)."""
        self._ws = ws
        self._transport = transport
        self._live = False
        self.connections += 1
        self.changed.notify()
        try:
            if first is not None:
                await self._on_frame(ws, first)
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(ws, json.loads(msg.data))
        finally:
            if self._ws is ws:
                self._ws = None
                self._live = False
            self.changed.notify()

    async def _send(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        async with self._send_lock:
            await ws.send_str(json.dumps(payload))

    async def _on_frame(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        self.received.append(frame)
        op, data = frame.get("op"), frame.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            await self._send(ws, {"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._identify(ws, data)
        elif op == OP_RESUME:
            await self._resume(ws, data)
        elif op == OP_REQUEST_MEMBERS:
            await self._members_chunk(ws, data)
        self.changed.notify()

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        self.session_id = secrets.token_hex(16)
        await self._send_dispatch(
            ws, self._new_dispatch("READY", self._ready_payload(self.session_id))
        )
        for guild in self._guild_payloads():
            await self._send_dispatch(ws, self._new_dispatch("GUILD_CREATE", guild))
        waiting = [d for d in self.backlog if not d.sent] if self.replay_on_identify else []
        for dispatch in self.backlog:
            dispatch.sent = True  # what this session was not given is gone, as on Discord
        await self._go_live(ws, waiting)

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.resumes.append(data)
        if data.get("session_id") != self.session_id:
            await self._send(ws, {"op": OP_INVALID_SESSION, "d": False})
            return
        last = data.get("seq") or 0
        missed = [d for d in self.backlog if d.seq > last]
        await self._go_live(ws, missed, resumed=True)

    async def _go_live(
        self, ws: web.WebSocketResponse, pending: list[Dispatch], resumed: bool = False
    ) -> None:
        async with self._send_lock:
            for dispatch in pending:
                await self._write(ws, dispatch)
            if resumed:
                await self._write(ws, self._new_dispatch("RESUMED", {}))
            self._live = True

    async def _members_chunk(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        for guild in self._guild_payloads():
            if guild["id"] != str(data.get("guild_id")):
                continue
            chunk = {
                "guild_id": guild["id"],
                "members": guild["members"],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
                "nonce": data.get("nonce"),
            }
            await self._send_dispatch(ws, self._new_dispatch("GUILD_MEMBERS_CHUNK", chunk))

    def _new_dispatch(self, event: str, data: dict[str, Any]) -> Dispatch:
        self.seq += 1
        dispatch = Dispatch(self.seq, event, data)
        self.backlog.append(dispatch)
        return dispatch

    async def _send_dispatch(self, ws: web.WebSocketResponse, dispatch: Dispatch) -> None:
        async with self._send_lock:
            await self._write(ws, dispatch)

    async def _write(self, ws: web.WebSocketResponse, dispatch: Dispatch) -> None:
        await ws.send_str(dispatch.frame())
        dispatch.sent = dispatch.written = True

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send a dispatch now, or queue it until the client identifies or resumes."""
        dispatch = self._new_dispatch(event, data)
        ws = self._ws
        if self.live and ws is not None:
            with contextlib.suppress(ConnectionError):  # stays in the backlog for RESUME
                await self._send_dispatch(ws, dispatch)
        return dispatch.seq

    async def drop(self, code: int = 4000, abrupt: bool = False) -> None:
        """Close the current connection server-side so the client reconnects and resumes."""
        ws = self._ws
        if ws is None:
            return
        self._live = False
        self._ws = None
        if abrupt and self._transport is not None:
            self._transport.close()
        else:
            await ws.close(code=code, message=b"peer dropped the connection")
        self.changed.notify()

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT, as Discord does before migrating a session."""
        ws = self._ws
        if ws is not None:
            self._live = False
            await self._send(ws, {"op": OP_RECONNECT, "d": None})

    async def close(self) -> None:
        ws = self._ws
        self._ws = None
        self._live = False
        if ws is not None and not ws.closed:
            await ws.close(code=1001)
