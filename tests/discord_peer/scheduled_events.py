"""Guild Scheduled Events in the peer: REST endpoints, permission checks and gateway events.

Follows discord/discord-api-spec (specs/openapi.json): `ExternalScheduledEventCreateRequest` and
`...PatchRequestPartial`, `GuildScheduledEventStatuses` and the status transitions Discord allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .rest import Call, Handler, error, json_response, no_content
from .state import PeerGuild, PeerUser

if TYPE_CHECKING:
    from .server import DiscordPeer

MANAGE_EVENTS = 1 << 33
CREATE_EVENTS = 1 << 44
GUILD_SCHEDULED_EVENTS = 1 << 16  # gateway intent
SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4
EXTERNAL = 3
GUILD_ONLY = 2
# Which status may follow which (Discord's docs: "Guild Scheduled Event Status" transitions).
TRANSITIONS = {SCHEDULED: {ACTIVE, CANCELED}, ACTIVE: {COMPLETED}}
MISSING_PERMISSIONS = 50013
INVALID_FORM = 50035
UNKNOWN_EVENT = 10070


@dataclass
class PeerScheduledEvent:
    """One scheduled event and the users who marked it Interested."""

    payload: dict[str, Any]
    interested: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # create, then each PATCH

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def name(self) -> str:
        return str(self.payload["name"])

    @property
    def status(self) -> int:
        return int(self.payload["status"])

    @property
    def location(self) -> str:
        return str((self.payload.get("entity_metadata") or {}).get("location", ""))

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.payload["scheduled_start_time"])

    @property
    def end(self) -> dt.datetime | None:
        raw = self.payload.get("scheduled_end_time")
        return dt.datetime.fromisoformat(raw) if raw else None


def _invalid(field_name: str, message: str) -> dict[str, Any]:
    return {
        "message": "Invalid Form Body",
        "code": INVALID_FORM,
        "errors": {field_name: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}},
    }


def _check(body: dict[str, Any], merged: dict[str, Any], creating: bool) -> dict[str, Any] | None:
    """The validation Discord applies to an external event (None when the body is fine)."""
    name = merged.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        return _invalid("name", "Must be between 1 and 100 in length.")
    if len(merged.get("description") or "") > 1000:
        return _invalid("description", "Must be 1000 or fewer in length.")
    if merged.get("privacy_level") != GUILD_ONLY:
        return _invalid("privacy_level", "Value must be one of {2}.")
    if merged.get("entity_type") != EXTERNAL:
        return _invalid("entity_type", "Only external events are supported by this peer.")
    location = (merged.get("entity_metadata") or {}).get("location")
    if not isinstance(location, str) or not 1 <= len(location) <= 100:
        return _invalid("entity_metadata", "External events need a location (1-100).")
    if merged.get("channel_id") is not None:
        return _invalid("channel_id", "External events have no channel.")
    try:
        start = dt.datetime.fromisoformat(merged["scheduled_start_time"])
        end_raw = merged.get("scheduled_end_time")
        end = dt.datetime.fromisoformat(end_raw) if end_raw else None
    except (KeyError, TypeError, ValueError):
        return _invalid("scheduled_start_time", "Could not parse the date and time.")
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        return _invalid("scheduled_start_time", "Times need a UTC offset.")
    if end is None:
        return _invalid("scheduled_end_time", "External events need an end time.")
    if end <= start:
        return _invalid("scheduled_end_time", "Must be after the start time.")
    starts_moved = creating or "scheduled_start_time" in body
    if starts_moved and start <= dt.datetime.now(tz=dt.UTC):
        return _invalid("scheduled_start_time", "Cannot schedule event in the past.")
    return None


class ScheduledEventsApi:
    """`/guilds/{guild_id}/scheduled-events...` over the peer's guilds."""

    def __init__(self, peer: DiscordPeer) -> None:
        self.peer = peer
        self.events: dict[int, PeerScheduledEvent] = {}

    def register(self, add: Callable[[str, str, Handler], None]) -> None:
        base = "/guilds/{guild_id}/scheduled-events"
        one = base + "/{event_id}"
        add("GET", base, self.list_events)
        add("POST", base, self.create)
        add("GET", one, self.get)
        add("PATCH", one, self.edit)
        add("DELETE", one, self.delete)
        add("GET", one + "/users", self.users)

    # -- helpers tests use ----------------------------------------------------------------

    def in_guild(self, guild: PeerGuild) -> list[PeerScheduledEvent]:
        return [e for e in self.events.values() if int(e.payload["guild_id"]) == guild.id]

    def guild_payloads(self, guild: PeerGuild) -> list[dict[str, Any]]:
        return [e.payload for e in self.in_guild(guild)]

    async def wait_for(
        self,
        guild: PeerGuild,
        predicate: Callable[[PeerScheduledEvent], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 -- the fixture's public API
    ) -> PeerScheduledEvent:
        def check() -> PeerScheduledEvent | None:
            for event in self.in_guild(guild):
                if predicate is None or predicate(event):
                    return event
            return None

        return await self.peer.changed.wait_for(check, timeout, "a scheduled event")

    async def delete_by_hand(self, event: PeerScheduledEvent) -> None:
        """An admin deletes the event in Discord's own UI."""
        del self.events[event.id]
        await self._dispatch("GUILD_SCHEDULED_EVENT_DELETE", event.payload)

    async def mark_interested(self, user: PeerUser, event: PeerScheduledEvent) -> None:
        """A member clicks Interested: GUILD_SCHEDULED_EVENT_USER_ADD to the bot."""
        if user.id not in event.interested:
            event.interested.append(user.id)
            event.payload["user_count"] = len(event.interested)
        await self._user_event("GUILD_SCHEDULED_EVENT_USER_ADD", user, event)

    async def unmark_interested(self, user: PeerUser, event: PeerScheduledEvent) -> None:
        if user.id in event.interested:
            event.interested.remove(user.id)
            event.payload["user_count"] = len(event.interested)
        await self._user_event("GUILD_SCHEDULED_EVENT_USER_REMOVE", user, event)

    async def _user_event(self, name: str, user: PeerUser, event: PeerScheduledEvent) -> None:
        data = {
            "guild_scheduled_event_id": str(event.id),
            "user_id": str(user.id),
            "guild_id": event.payload["guild_id"],
        }
        await self._dispatch(name, data)

    async def _dispatch(self, name: str, data: dict[str, Any]) -> None:
        self.peer.changed.notify()
        if (self.peer.intents or 0) & GUILD_SCHEDULED_EVENTS:
            await self.peer.dispatch(name, data)

    # -- endpoints ------------------------------------------------------------------------

    def _guild(self, call: Call) -> PeerGuild | None:
        return self.peer.guilds.get(int(call.params["guild_id"]))

    def _event(self, call: Call) -> PeerScheduledEvent | None:
        event = self.events.get(int(call.params["event_id"]))
        if event is None or event.payload["guild_id"] != call.params["guild_id"]:
            return None
        return event

    def _allowed(self, guild: PeerGuild, needed: int) -> bool:
        return bool(guild.permissions_of(self.peer.bot.id) & needed)

    async def list_events(self, call: Call) -> web.Response:
        guild = self._guild(call)
        if guild is None:
            return error(404, "Unknown Guild", 10004)
        return json_response(self.guild_payloads(guild))

    async def get(self, call: Call) -> web.Response:
        event = self._event(call)
        if event is None:
            return error(404, "Unknown Guild Scheduled Event", UNKNOWN_EVENT)
        return json_response(event.payload)

    async def create(self, call: Call) -> web.Response:
        guild = self._guild(call)
        if guild is None:
            return error(404, "Unknown Guild", 10004)
        if not self._allowed(guild, MANAGE_EVENTS | CREATE_EVENTS):
            return error(403, "Missing Permissions", MISSING_PERMISSIONS)
        body = dict(call.body or {})
        problem = _check(body, body, creating=True)
        if problem is not None:
            return json_response(problem, status=400)
        event_id = self.peer.snowflake()
        payload: dict[str, Any] = {
            "id": str(event_id),
            "guild_id": str(guild.id),
            "channel_id": None,
            "creator_id": str(self.peer.bot.id),
            "creator": self.peer.bot.payload(),
            "name": body["name"],
            "description": body.get("description"),
            "image": None,
            "scheduled_start_time": body["scheduled_start_time"],
            "scheduled_end_time": body.get("scheduled_end_time"),
            "privacy_level": body["privacy_level"],
            "status": SCHEDULED,
            "entity_type": EXTERNAL,
            "entity_id": None,
            "entity_metadata": {"location": body["entity_metadata"]["location"]},
            "recurrence_rule": None,
            "guild_scheduled_event_exceptions": [],
            "user_count": 0,
        }
        event = PeerScheduledEvent(payload, requests=[body])
        self.events[event_id] = event
        await self._dispatch("GUILD_SCHEDULED_EVENT_CREATE", payload)
        return json_response(payload)

    async def edit(self, call: Call) -> web.Response:
        guild, event = self._guild(call), self._event(call)
        if guild is None or event is None:
            return error(404, "Unknown Guild Scheduled Event", UNKNOWN_EVENT)
        if not self._allowed(guild, MANAGE_EVENTS):
            return error(403, "Missing Permissions", MISSING_PERMISSIONS)
        body = dict(call.body or {})
        status = body.get("status")
        if status is not None and status not in TRANSITIONS.get(event.status, set()):
            return json_response(_invalid("status", "Cannot change to this status."), 400)
        if event.status in (COMPLETED, CANCELED):
            return json_response(_invalid("status", "This event has ended."), 400)
        merged = {**event.payload, **{k: v for k, v in body.items() if k != "status"}}
        problem = _check(body, merged, creating=False)
        if problem is not None:
            return json_response(problem, status=400)
        for key in ("name", "description", "scheduled_start_time", "scheduled_end_time"):
            if key in body:
                event.payload[key] = body[key]
        if "entity_metadata" in body:
            event.payload["entity_metadata"] = {"location": body["entity_metadata"]["location"]}
        if status is not None:
            event.payload["status"] = status
        event.requests.append(body)
        await self._dispatch("GUILD_SCHEDULED_EVENT_UPDATE", event.payload)
        return json_response(event.payload)

    async def delete(self, call: Call) -> web.Response:
        guild, event = self._guild(call), self._event(call)
        if guild is None or event is None:
            return error(404, "Unknown Guild Scheduled Event", UNKNOWN_EVENT)
        if not self._allowed(guild, MANAGE_EVENTS):
            return error(403, "Missing Permissions", MISSING_PERMISSIONS)
        del self.events[event.id]
        await self._dispatch("GUILD_SCHEDULED_EVENT_DELETE", event.payload)
        return no_content()

    async def users(self, call: Call) -> web.Response:
        event = self._event(call)
        if event is None:
            return error(404, "Unknown Guild Scheduled Event", UNKNOWN_EVENT)
        found = [self.peer.users[u] for u in event.interested if u in self.peer.users]
        return json_response(
            [{"guild_scheduled_event_id": str(event.id), "user": u.payload()} for u in found]
        )
