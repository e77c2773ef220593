"""The group ICS feed at a secret URL: what the HTTP listener's feed route answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.messages.event_ics import group_feed
from storage import events as event_queries
from storage import groups as group_queries

# The path the feed is served under; `bot.commands.events.feed_url` writes the same shape.
FEED_PATH = "/events/{secret}.ics"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# Past events stay in the feed this long, so a calendar keeps last month's meetings.
FEED_HISTORY = timedelta(days=31)
_SECRET = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class FeedResponse:
    status: int
    body: bytes
    content_type: str


NOT_FOUND = FeedResponse(404, b"not found\n", "text/plain; charset=utf-8")


async def render_feed(secret: str, now: datetime) -> FeedResponse:
    """The feed of the group whose secret this is; 404 for any other (no hint which part was
    wrong, so a guessed or an old secret learns nothing)."""
    if not _SECRET.fullmatch(secret):
        return NOT_FOUND
    group_id = await event_queries.group_by_feed_secret(secret)
    group = await group_queries.get_group(group_id) if group_id is not None else None
    if group is None or group.archived:
        return NOT_FOUND
    events = await event_queries.group_events(
        group.id, ("scheduled", "cancelled"), ending_after=now - FEED_HISTORY
    )
    return FeedResponse(200, group_feed(events, group), CONTENT_TYPE)
