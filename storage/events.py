"""Queries on events, RSVPs, attendance and a group's event settings (issue 14)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Max

from storage import models as m
from storage.records import AttendanceRec, EventRec, EventSettingsRec, RsvpRec
from storage.transaction import atomic, savepoint

# Every field the event commands may change (`update_event` refuses others).
EDITABLE = frozenset(
    {"title", "local_date", "local_time", "tzid", "starts_at", "ends_at", "place", "pledge_id"}
)
DEFAULT_REMINDER = "1d"


@dataclass(frozen=True)
class NewEvent:
    group_id: int
    title: str
    local_date: date
    local_time: str
    tzid: str
    starts_at: datetime
    ends_at: datetime
    place: str
    pledge_id: int | None
    creator_id: int | None


def _event(row: m.Event) -> EventRec:
    return EventRec(
        id=row.id,
        group_id=row.group_id,  # type: ignore[attr-defined]
        number=row.number,
        title=row.title,
        local_date=row.local_date,
        local_time=row.local_time,
        tzid=row.tzid,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        place=row.place,
        pledge_id=row.pledge_id,  # type: ignore[attr-defined]
        creator_id=row.creator_id,  # type: ignore[attr-defined]
        status=row.status,
        card_message_id=row.card_message_id,
        mirror_id=row.mirror_id,
        sequence=row.sequence,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create_event(new: NewEvent, now: datetime) -> EventRec:
    """Create an event numbered after the group's last, in one transaction."""
    async with atomic():
        top = await m.Event.filter(group_id=new.group_id).annotate(top=Max("number")).values("top")
        number = (top[0]["top"] or 0) + 1 if top else 1
        row = await m.Event.create(
            group_id=new.group_id,
            number=number,
            title=new.title,
            local_date=new.local_date,
            local_time=new.local_time,
            tzid=new.tzid,
            starts_at=new.starts_at,
            ends_at=new.ends_at,
            place=new.place,
            pledge_id=new.pledge_id,
            creator_id=new.creator_id,
            created_at=now,
            updated_at=now,
        )
    return _event(row)


async def get_event(event_id: int) -> EventRec | None:
    row = await m.Event.get_or_none(id=event_id)
    return _event(row) if row else None


async def group_events(
    group_id: int, statuses: tuple[str, ...] = ("scheduled",), ending_after: datetime | None = None
) -> list[EventRec]:
    """A group's events in start order; `ending_after` leaves out those already over."""
    query = m.Event.filter(group_id=group_id, status__in=list(statuses))
    if ending_after is not None:
        query = query.filter(ends_at__gt=ending_after)
    return [_event(r) for r in await query.order_by("starts_at", "number")]


async def events_between(group_id: int, start: datetime, end: datetime) -> list[EventRec]:
    """The group's scheduled events that start in [start, end)."""
    rows = await m.Event.filter(
        group_id=group_id, status="scheduled", starts_at__gte=start, starts_at__lt=end
    ).order_by("starts_at", "number")
    return [_event(r) for r in rows]


async def update_event(event_id: int, now: datetime, **values: Any) -> EventRec:
    """Change an event's details; the sequence (the .ics SEQUENCE) counts the changes."""
    unknown = set(values) - EDITABLE - {"status"}
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    row = await m.Event.get(id=event_id)
    for key, value in values.items():
        setattr(row, key, value)
    row.sequence += 1
    row.updated_at = now
    await row.save()
    return _event(row)


async def set_card(event_id: int, message_id: str) -> None:
    """Remember the platform message that shows the event, so it can be edited in place."""
    await m.Event.filter(id=event_id).update(card_message_id=message_id[:255])


async def set_mirror(event_id: int, mirror_id: str | None) -> None:
    """Remember (or forget) the platform's own copy of the event (Discord scheduled event)."""
    await m.Event.filter(id=event_id).update(mirror_id=mirror_id)


async def find_by_mirror(platform: str, mirror_id: str) -> EventRec | None:
    row = await m.Event.get_or_none(mirror_id=mirror_id, group__platform=platform)
    return _event(row) if row else None


async def find_by_card(platform: str, message_id: str) -> EventRec | None:
    row = await m.Event.get_or_none(card_message_id=message_id, group__platform=platform)
    return _event(row) if row else None


# -- RSVPs -----------------------------------------------------------------------------------


async def set_rsvp(
    event_id: int, member_id: int, answer: str, event_key: str, now: datetime
) -> tuple[str | None, bool]:
    """Store a member's answer; (the answer it replaced, changed). A replayed event is no change."""
    row = await m.Rsvp.get_or_none(event_id=event_id, member_id=member_id)
    if row is None:
        try:
            async with savepoint():
                await m.Rsvp.create(
                    event_id=event_id,
                    member_id=member_id,
                    answer=answer,
                    event_key=event_key,
                    updated_at=now,
                )
        except IntegrityError:  # the same member's other tap won the race: theirs stands
            return None, False
        return None, True
    if row.event_key == event_key or row.answer == answer:
        return row.answer, False
    before = row.answer
    row.answer, row.event_key, row.updated_at = answer, event_key, now
    await row.save(update_fields=["answer", "event_key", "updated_at"])
    return before, True


async def clear_rsvp_by_event(member_id: int, event_key: str) -> int | None:
    """Take back the RSVP a platform event recorded (a removed reaction); its event's id."""
    row = await m.Rsvp.get_or_none(member_id=member_id, event_key=event_key)
    if row is None:
        return None
    event_id: int = row.event_id  # type: ignore[attr-defined]
    await row.delete()
    return event_id


async def rsvps(event_ids: Iterable[int]) -> list[RsvpRec]:
    """Every answer to these events with the member's name: one query."""
    ids = list(set(event_ids))
    if not ids:
        return []
    rows = await m.Rsvp.filter(event_id__in=ids).select_related("member").order_by("updated_at")
    return [
        RsvpRec(
            event_id=r.event_id,  # type: ignore[attr-defined]
            member_id=r.member_id,  # type: ignore[attr-defined]
            answer=r.answer,
            display_name=r.member.display_name or r.member.external_id,
            platform=r.member.platform,
            external_id=r.member.external_id,
        )
        for r in rows
    ]


# -- attendance ------------------------------------------------------------------------------


async def set_attendance(
    event_id: int, member_id: int, went: bool, checkin_id: int | None, event_key: str, now: datetime
) -> AttendanceRec | None:
    """Store whether a member made it; the record it replaced (None when new)."""
    async with atomic():
        row = await m.Attendance.get_or_none(event_id=event_id, member_id=member_id)
        before = (
            AttendanceRec(event_id, member_id, row.went, row.checkin_id, "")  # type: ignore[attr-defined]
            if row
            else None
        )
        if row is None:
            await m.Attendance.create(
                event_id=event_id,
                member_id=member_id,
                went=went,
                checkin_id=checkin_id,
                event_key=event_key,
                updated_at=now,
            )
        else:
            row.went, row.checkin_id, row.event_key, row.updated_at = (  # type: ignore[attr-defined]
                went,
                checkin_id,
                event_key,
                now,
            )
            await row.save(update_fields=["went", "checkin_id", "event_key", "updated_at"])
    return before


async def attendance(event_ids: Iterable[int]) -> list[AttendanceRec]:
    ids = list(set(event_ids))
    if not ids:
        return []
    rows = await m.Attendance.filter(event_id__in=ids).select_related("member")
    return [
        AttendanceRec(
            event_id=r.event_id,  # type: ignore[attr-defined]
            member_id=r.member_id,  # type: ignore[attr-defined]
            went=r.went,
            checkin_id=r.checkin_id,  # type: ignore[attr-defined]
            display_name=r.member.display_name or r.member.external_id,
        )
        for r in rows
    ]


# -- settings --------------------------------------------------------------------------------


async def settings(group_id: int) -> EventSettingsRec:
    row = await m.EventSettings.get_or_none(group_id=group_id)
    if row is None:
        return EventSettingsRec(group_id, DEFAULT_REMINDER, None)
    return EventSettingsRec(group_id, row.reminder, row.feed_secret)


async def settings_of(group_ids: Iterable[int]) -> dict[int, EventSettingsRec]:
    ids = list(set(group_ids))
    found = {
        r.group_id: EventSettingsRec(r.group_id, r.reminder, r.feed_secret)  # type: ignore[attr-defined]
        for r in await m.EventSettings.filter(group_id__in=ids)
    }
    return {g: found.get(g, EventSettingsRec(g, DEFAULT_REMINDER, None)) for g in ids}


async def update_settings(group_id: int, **values: Any) -> EventSettingsRec:
    if set(values) - {"reminder", "feed_secret"}:
        raise ValueError(f"unknown event settings {sorted(values)}")
    row, _ = await m.EventSettings.get_or_create(group_id=group_id, defaults=values)
    for key, value in values.items():
        setattr(row, key, value)
    await row.save()
    return EventSettingsRec(group_id, row.reminder, row.feed_secret)


async def group_by_feed_secret(secret: str) -> int | None:
    row = await m.EventSettings.get_or_none(feed_secret=secret)
    return row.group_id if row else None  # type: ignore[attr-defined]


# -- a member's own data ---------------------------------------------------------------------


async def export_member(member_id: int) -> dict[str, Any]:
    """The member's RSVPs, attendance and the events they created, as plain data."""
    rsvp_rows = await m.Rsvp.filter(member_id=member_id).select_related("event", "event__group")
    went_rows = await m.Attendance.filter(member_id=member_id).select_related(
        "event", "event__group"
    )
    created = await m.Event.filter(creator_id=member_id).select_related("group")

    def where(event: m.Event) -> dict[str, Any]:
        return {
            "group": event.group.name or event.group.external_id,
            "number": event.number,
            "title": event.title,
            "starts_at": event.starts_at.isoformat(),
        }

    return {
        "events_created": [where(e) for e in created],
        "rsvps": [
            {"event": where(r.event), "answer": r.answer, "at": r.updated_at.isoformat()}
            for r in rsvp_rows
        ],
        "attendance": [
            {
                "event": where(a.event),
                "went": a.went,
                "kept_pledge": a.checkin_id is not None,  # type: ignore[attr-defined]
                "at": a.updated_at.isoformat(),
            }
            for a in went_rows
        ],
    }


async def forget_member(member_id: int) -> None:
    """Delete the member's RSVPs and attendance; events they created stay, without a creator."""
    await m.Event.filter(creator_id=member_id).update(creator_id=None)
    await m.Rsvp.filter(member_id=member_id).delete()
    await m.Attendance.filter(member_id=member_id).delete()


async def checkin_is_live(checkin_id: int) -> bool:
    """Whether a check-in an attendance recorded still counts (not undone, not deleted)."""
    return await m.CheckIn.exists(id=checkin_id, undone_at=None)
