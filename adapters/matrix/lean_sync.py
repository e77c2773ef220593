"""The bot's own timeline events taken out of each sync before nio parses them (ids kept)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from aiohttp import ClientResponse
from nio import AsyncClient, SyncResponse

# Set while `create_matrix_response` builds a SyncResponse (in that task only).
_SYNCING: contextvars.ContextVar[bool] = contextvars.ContextVar("logoff_syncing", default=False)


def take_own(parsed: dict[str, Any], user_id: str) -> list[str]:
    """Remove `user_id`'s events that are not state from every joined room's timeline; their
    event ids, oldest first.

    The adapter answers nobody's events but the members' (`MatrixAdapter._on_event` returns at
    once for its own) and learns the rooms from state events, which stay. What it needs of its
    own messages and reactions is that they came back (`echoes.Echoes`): their ids. Each one
    otherwise cost nio a schema validation, an event object and, in an encrypted room, a
    decryption, and a scheduled DM brings 3-5 of them back (benchmarks/README.md, ninth session).
    """
    rooms = parsed.get("rooms")
    joined = rooms.get("join") if isinstance(rooms, dict) else None
    if not isinstance(joined, dict):
        return []
    taken: list[str] = []
    for info in joined.values():
        timeline = info.get("timeline") if isinstance(info, dict) else None
        events = timeline.get("events") if isinstance(timeline, dict) else None
        if not isinstance(events, list):
            continue
        kept = []
        for event in events:
            if _own_message(event, user_id):
                taken.append(event["event_id"])
            else:
                kept.append(event)
        if len(kept) != len(events):
            assert isinstance(timeline, dict)
            timeline["events"] = kept
    return taken


def _own_message(event: Any, user_id: str) -> bool:
    return (
        isinstance(event, dict)
        and event.get("sender") == user_id
        and "state_key" not in event
        and isinstance(event.get("event_id"), str)
    )


class LeanSyncClient(AsyncClient):
    """nio's client, with the bot's own non-state events out of its syncs (`take_own`);
    `on_own` gets their ids."""

    on_own: Callable[[list[str]], None] | None = None

    async def create_matrix_response(
        self,
        response_class: type,
        transport_response: ClientResponse,
        data: tuple[Any, ...] | None = None,
        save_to: Any = None,
    ) -> Any:
        syncing = _SYNCING.set(response_class is SyncResponse)
        try:
            return await super().create_matrix_response(
                response_class, transport_response, data, save_to
            )
        finally:
            _SYNCING.reset(syncing)

    async def parse_body(self, transport_response: ClientResponse) -> dict[Any, Any]:
        parsed = await super().parse_body(transport_response)
        if _SYNCING.get() and isinstance(parsed, dict) and self.user_id:
            taken = take_own(parsed, self.user_id)
            if taken and self.on_own is not None:
                self.on_own(taken)
        return parsed
