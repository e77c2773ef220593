"""Batched reads and writes of one scheduler round: many groups, a constant number of queries."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from tortoise.connection import connections

from storage import board_reads, convert
from storage import models as m
from storage.dialect import is_postgres
from storage.records import (
    GroupRec,
    MemberRec,
    PeriodTally,
    PledgeRec,
)

# Old SQLite builds allow 999 bound parameters per statement; stay well below.
_CHUNK = 400


def _chunks(items: Sequence[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield list(items[i : i + _CHUNK])


@dataclass(frozen=True)
class SentRecord:
    """A message a platform accepted, to be recorded with the others of its batch."""

    platform: str
    message_id: str
    kind: str
    group_id: int | None
    pledge_id: int | None
    period_key: str | None


async def groups_by_id(group_ids: Iterable[int]) -> dict[int, GroupRec]:
    ids = sorted(set(group_ids))
    out: dict[int, GroupRec] = {}
    for chunk in _chunks(ids):
        for row in await m.Group.filter(id__in=chunk):
            out[row.id] = convert.group(row)
    return out


async def pledges_by_id(pledge_ids: Iterable[int]) -> dict[int, PledgeRec]:
    ids = sorted(set(pledge_ids))
    out: dict[int, PledgeRec] = {}
    for chunk in _chunks(ids):
        for row in await m.Pledge.filter(id__in=chunk):
            out[row.id] = convert.pledge(row)
    return out


async def members_by_id(member_ids: Iterable[int]) -> dict[int, MemberRec]:
    ids = sorted(set(member_ids))
    out: dict[int, MemberRec] = {}
    for chunk in _chunks(ids):
        for row in await m.Member.filter(id__in=chunk):
            out[row.id] = convert.member(row)
    return out


_PARTS_SQL = (
    "SELECT p.id, p.pledge_id, p.member_id, p.first_period, p.remind_slot, p.remind_off,"
    " p.delivery, p.current_streak, p.closed_through,"
    " m.platform, m.external_id, m.display_name, m.timezone, m.muted_until,"
    " m.forget_requested_at"
    " FROM participations p JOIN members m ON m.id = p.member_id"
    " WHERE {active} p.pledge_id IN ({ids}) ORDER BY p.pledge_id, p.id"
)


class RoundPart(NamedTuple):
    """What a reminder round needs of a participation: no timestamps to parse, a plain tuple
    to build (a frozen 16-field dataclass per member was a third of a 100,000-member slot)."""

    id: int
    pledge_id: int
    member_id: int
    first_period: str
    remind_slot: str | None
    remind_off: bool
    delivery: str
    current_streak: int
    closed_through: str | None


def _when(value: Any) -> datetime | None:
    """SQLite hands back ISO text, asyncpg aware datetimes; both become aware UTC datetimes."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def active_participations(
    pledge_ids: Iterable[int], *, active_only: bool = True
) -> list[tuple[RoundPart, MemberRec]]:
    """Active participations of many pledges with their members; one joined query per chunk.

    Hand-written SQL and plain tuples, not ORM objects: a round may read 100,000 rows,
    and building models (and Tortoise's per-value ISO parsing on SQLite) cost several times
    more than the query itself. A member in several pledges is one MemberRec.
    """
    ids = sorted(set(pledge_ids))
    conn = connections.get("default")
    postgres = is_postgres(conn)
    out: list[tuple[RoundPart, MemberRec]] = []
    members: dict[int, MemberRec] = {}
    new_part = RoundPart._make
    for chunk in _chunks(ids):
        marks = ", ".join(f"${n + 1}" if postgres else "?" for n in range(len(chunk)))
        _, rows = await conn.execute_query(
            _PARTS_SQL.format(ids=marks, active="p.active AND" if active_only else ""), chunk
        )
        for r in rows:
            part = new_part((r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8]))
            member = members.get(part.member_id)
            if member is None:
                member = members[part.member_id] = MemberRec(
                    id=part.member_id,
                    platform=r[9],
                    external_id=r[10],
                    display_name=r[11],
                    timezone=r[12],
                    muted_until=_when(r[13]),
                    forget_requested_at=_when(r[14]),
                )
            out.append((part, member))
    return out


_WEEK_TOTALS_SQL = (
    "SELECT p.id, MIN(o.id), p.pledge_id, p.current_streak, m.display_name,"
    " SUM(CASE WHEN o.outcome = 'kept' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN o.outcome = 'missed' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN o.outcome <> 'excused' THEN 1 ELSE 0 END),"
    " {keys} FROM outcomes o JOIN participations p ON p.id = o.participation_id"
    " JOIN members m ON m.id = p.member_id"
    " WHERE o.group_id_ref = {0} AND o.period_end > {1} AND o.period_end <= {2}"
    " GROUP BY p.id, m.id"
)


class WeekTotal(NamedTuple):
    """One participation's outcomes in a week, counted by the database."""

    participation_id: int
    first_outcome_id: int  # the order the periods were closed in
    pledge_id: int
    streak: int  # the participation's current streak
    display_name: str  # the member's, as written (not yet made inert)
    kept: int
    missed: int
    counted: int  # outcomes not excused
    period_keys: str  # joined by commas


async def week_totals(group_id: int, start: datetime, end: datetime) -> list[WeekTotal]:
    """Per participation, the outcomes of a group's periods that ended in (start, end],
    counted in SQL; ordered by first outcome row, i.e. the order the periods were closed in.

    One query of one row per participation: a 5,000-member group's week is 10,000 (or, for
    daily pledges, 70,000) outcomes, and building a Python object per outcome cost more than
    the whole summary may.
    """
    conn = connections.get("default")
    if is_postgres(conn):
        sql = _WEEK_TOTALS_SQL.format(
            "$1", "$2", "$3", keys="string_agg(DISTINCT o.period_key, ',')"
        )
        params: list[Any] = [group_id, start, end]
    else:
        sql = _WEEK_TOTALS_SQL.format("?", "?", "?", keys="group_concat(DISTINCT o.period_key)")
        params = [group_id, *(d.astimezone(UTC).isoformat(sep=" ") for d in (start, end))]
    _, rows = await conn.execute_query(sql, params)
    # Both drivers hand back ints for the ids and sums and str for the texts: values are used
    # as they come (a conversion per value was a fifth of the summary's Python time); only
    # the row gets its names.
    return sorted(map(WeekTotal._make, rows), key=itemgetter(1))


_WEEK_VOUCHES_SQL = (
    "SELECT c.participation_id, m.display_name FROM vouches v"
    " JOIN checkins c ON c.id = v.checkin_id JOIN members m ON m.id = v.member_id"
    " JOIN participations p ON p.id = c.participation_id JOIN pledges pl ON pl.id = p.pledge_id"
    " WHERE pl.group_id = {0} AND c.undone_at IS NULL AND c.period_key IN ({1})"
    " ORDER BY v.id"
)


async def week_vouchers(group_id: int, period_keys: Iterable[str]) -> list[tuple[int, str]]:
    """(participation id, voucher's display name) of live vouched check-ins of a group's
    participations in the given periods, in the order vouched: one query at any group size
    (the key list is as long as the week has periods, not members)."""
    keys = sorted(set(period_keys))
    if not keys:
        return []
    conn = connections.get("default")
    if is_postgres(conn):
        marks = [f"${n + 2}" for n in range(len(keys))]
        sql = _WEEK_VOUCHES_SQL.format("$1", ", ".join(marks))
    else:
        sql = _WEEK_VOUCHES_SQL.format("?", ", ".join("?" for _ in keys))
    _, rows = await conn.execute_query(sql, [group_id, *keys])
    return [(int(r[0]), r[1]) for r in rows]


async def pledge_tallies(
    pledge_ids: Iterable[int], period_keys: Iterable[str]
) -> dict[tuple[int, str], PeriodTally]:
    """Live check-in counts per (participation, period) of many pledges' members.

    Filtered by pledge rather than by participation: the id list stays as short as the
    number of pledges, whatever the number of members.
    """
    ids = sorted(set(pledge_ids))
    keys = sorted(set(period_keys))
    if not ids or not keys:
        return {}
    rows: list[Any] = []
    for chunk in _chunks(ids):
        rows += await m.CheckIn.filter(
            participation__pledge_id__in=chunk, period_key__in=keys, undone_at=None
        ).values_list("participation_id", "period_key", "kind")
    return board_reads.fold_tallies(rows)


async def channel_sends_between(
    group_ids: Iterable[int], start: datetime, end: datetime
) -> list[tuple[int, datetime]]:
    """(group, due time) of channel messages sent or queued in [start, end): the caps' counts."""
    ids = sorted(set(group_ids))
    out: list[tuple[int, datetime]] = []
    for chunk in _chunks(ids):
        rows = await m.Job.filter(
            group_id_ref__in=chunk,
            kind="send",
            status__in=["pending", "claimed", "sent"],
            due_at__gte=start,
            due_at__lt=end,
        ).values_list("group_id_ref", "due_at")
        out.extend((int(g), due) for g, due in rows)
    return out


async def record_sent_many(records: Sequence[SentRecord], now: datetime) -> None:
    """Record accepted messages in one insert; a message already recorded stays as it was
    (a prompt the adapter kept before its send and attached after it, storage.sent)."""
    if not records:
        return
    await m.SentMessage.bulk_create(
        [
            m.SentMessage(
                platform=r.platform,
                message_id=r.message_id,
                kind=r.kind,
                group_id_ref=r.group_id,
                pledge_id_ref=r.pledge_id,
                period_key=r.period_key,
                created_at=now,
            )
            for r in records
        ],
        batch_size=500,
        ignore_conflicts=True,
    )


_ASK_STATUSES = ("pending", "claimed", "sent")


async def asks_between(
    group_ids: Iterable[int], start: datetime, end: datetime
) -> list[tuple[int, int, int, str, str]]:
    """(group, member, pledge, period key, notice kind) of every ask in messages sent or queued
    with a due time in [start, end): each member is asked once per period. One query per 400
    groups."""
    ids = sorted(set(group_ids))
    out: list[tuple[int, int, int, str, str]] = []
    for chunk in _chunks(ids):
        rows = await m.Job.filter(
            group_id_ref__in=chunk,
            kind__in=["send", "dm"],
            status__in=list(_ASK_STATUSES),
            due_at__gte=start,
            due_at__lt=end,
        ).values_list("group_id_ref", "payload")
        for group_id, payload in rows:
            data = json.loads(payload) if isinstance(payload, str) else payload
            for row in (data or {}).get("notices") or []:
                kind = str(row[3]) if len(row) > 3 else ""
                out.append((int(group_id), int(row[0]), int(row[1]), str(row[2]), kind))
    return out


class Planned(NamedTuple):
    """A reminder, question or summary still planned: a place the weekly cap may keep."""

    group_id: int
    kind: str
    due_at: datetime
    cadence: str
    fallback: bool  # only for who an earlier message did not reach
    personal: bool  # one member's own reminder


async def planned_between(
    group_ids: Iterable[int], start: datetime, end: datetime
) -> list[Planned]:
    """Reminders, questions and summaries still planned in [start, end). One query per 400
    groups."""
    ids = sorted(set(group_ids))
    out: list[Planned] = []
    for chunk in _chunks(ids):
        rows = await m.Job.filter(
            group_id_ref__in=chunk,
            # ev_remind / ev_ask: an event's reminder and question (issue 14), weighed as asks.
            kind__in=["remind", "prompt", "followup", "summary", "ev_remind", "ev_ask"],
            status="pending",
            due_at__gte=start,
            due_at__lt=end,
        ).values_list("group_id_ref", "kind", "due_at", "payload")
        for group_id, kind, due, payload in rows:
            data = (json.loads(payload) if isinstance(payload, str) else payload) or {}
            out.append(
                Planned(
                    int(group_id),
                    str(kind),
                    _when(due) or due,
                    str(data.get("cadence", "week")),
                    bool(data.get("fallback")),
                    data.get("member_id") is not None,
                )
            )
    return out


@dataclass(frozen=True)
class HeldBack:
    """A message the weekly cap held back, kept so an admin can see it in `!settings`."""

    dedupe_key: str
    group_id: int
    due_at: datetime
    kind: str
    titles: list[str]
    members: int


# Held-back messages are rows of the job table that are never claimed: their status is
# "skipped" from the start and their kind is "held".
HELD = "held"


async def record_held(rows: Sequence[HeldBack], now: datetime) -> None:
    if not rows:
        return
    await m.Job.bulk_create(
        [
            m.Job(
                dedupe_key=r.dedupe_key,
                kind=HELD,
                due_at=r.due_at,
                group_id_ref=r.group_id,
                payload={"kind": r.kind, "titles": r.titles, "members": r.members},
                status="skipped",
                last_error="held back by the weekly cap",
                created_at=now,
            )
            for r in rows
        ],
        batch_size=500,
        ignore_conflicts=True,
    )


async def held_between(group_id: int, start: datetime, end: datetime) -> list[HeldBack]:
    """What the cap held back in a group's messages due in [start, end), oldest first."""
    rows = await m.Job.filter(
        group_id_ref=group_id, kind=HELD, due_at__gte=start, due_at__lt=end
    ).order_by("due_at", "id")
    return [
        HeldBack(
            dedupe_key=r.dedupe_key,
            group_id=group_id,
            due_at=r.due_at,
            kind=str((r.payload or {}).get("kind", "")),
            titles=[str(t) for t in (r.payload or {}).get("titles", [])],
            members=int((r.payload or {}).get("members", 0)),
        )
        for r in rows
    ]
