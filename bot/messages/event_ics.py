"""Events as iCalendar (RFC 5545): one event's .ics file and a group's feed, zone included."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from storage.records import EventRec, GroupRec

if TYPE_CHECKING:
    from icalendar import Event

# icalendar (about 80 modules with dateutil) is imported when an .ics is written, not at start.

PRODID = "-//Logoff//offline events//EN"
UID_DOMAIN = "logoff.invalid"


def uid(event: EventRec) -> str:
    """Stable across edits, so a calendar updates the event instead of adding a second one."""
    return f"event-{event.id}-g{event.group_id}@{UID_DOMAIN}"


def _vevent(event: EventRec, group: GroupRec) -> Event:
    from icalendar import Event

    tz = ZoneInfo(event.tzid)
    item = Event()
    item.add("uid", uid(event))
    item.add("dtstamp", event.updated_at.astimezone(UTC))
    item.add("created", event.created_at.astimezone(UTC))
    item.add("last-modified", event.updated_at.astimezone(UTC))
    item.add("sequence", event.sequence)
    item.add("summary", event.title)
    # Local wall-clock times with TZID, so a calendar shows 18:00 in the group's zone.
    item.add("dtstart", event.starts_at.astimezone(tz))
    item.add("dtend", event.ends_at.astimezone(tz))
    if event.place:
        item.add("location", event.place)
    item.add(
        "description", f"Event {event.number} of {group.name or 'the group'}, planned with Logoff."
    )
    item.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
    return item


def event_calendar(events: Sequence[EventRec], group: GroupRec, name: str = "") -> bytes:
    """A VCALENDAR with a VTIMEZONE for every zone its events use."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(_vevent(event, group))
    # icalendar derives each VTIMEZONE (with its DST rules) from the TZIDs used above.
    cal.add_missing_timezones()
    body: bytes = cal.to_ical()
    return body


def group_feed(events: Sequence[EventRec], group: GroupRec) -> bytes:
    """The group's feed: the events given (cancelled ones marked so), named for the group."""
    return event_calendar(events, group, name=f"{group.name or 'Logoff'} events")
