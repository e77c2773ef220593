"""Queries on check-ins and vouches: idempotent writes, undo, and per-period tallies."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from tortoise.connection import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from storage import convert, keyed_reads
from storage import models as m
from storage.board_reads import fold_tallies
from storage.dialect import one_of, placeholders
from storage.records import CheckInRec, PeriodTally, VouchRec
from storage.transaction import atomic, savepoint


async def add_checkin(
    participation_id: int,
    period_key: str,
    kind: str,
    note: str,
    event_key: str,
    now: datetime,
    *,
    spend_freeze: bool = False,
) -> tuple[CheckInRec, bool]:
    """Record an answer once per causing event; returns (check-in, created).

    The insert comes first and the unique (participation, event) key catches a replay: one
    statement in the common case instead of a look-up and an insert.
    """
    values: dict[str, Any] = {
        "participation_id": participation_id,
        "period_key": period_key,
        "kind": kind,
        "note": note,
        "event_key": event_key,
        "created_at": now,
    }
    try:
        if spend_freeze:
            async with atomic():
                spent = await m.Participation.filter(id=participation_id, freezes__gt=0).update(
                    freezes=F("freezes") - 1
                )
                if not spent:
                    if await m.CheckIn.exists(
                        participation_id=participation_id, event_key=event_key
                    ):
                        raise IntegrityError("replayed event")
                    raise NoFreezeLeft
                row = await m.CheckIn.create(**values)
        elif _UPSERT_RETURNS:
            made = await _insert_new(values)
            if made is not None:
                return made, True
            raise IntegrityError("replayed event")
        else:
            async with savepoint():
                row = await m.CheckIn.create(**values)
    except IntegrityError:  # a replayed event: the first one counted
        row = await m.CheckIn.get(participation_id=participation_id, event_key=event_key)
        return convert.checkin(row), False
    return convert.checkin(row), True


# `INSERT ... ON CONFLICT DO NOTHING RETURNING` (SQLite 3.35+, any PostgreSQL): a replay is
# no error, so the insert needs no savepoint inside the command's transaction (two round trips
# fewer on every answer).
_UPSERT_RETURNS = sqlite3.sqlite_version_info >= (3, 35)
_COLUMNS = ("participation_id", "period_key", "kind", "note", "event_key", "created_at")
_INSERT_NEW = (
    'INSERT INTO "checkins" ({columns}) VALUES ({marks}) '
    'ON CONFLICT ("participation_id", "event_key") DO NOTHING RETURNING "id"'
)


async def _insert_new(values: dict[str, Any]) -> CheckInRec | None:
    """Insert a check-in unless its (participation, event) exists; None when it does."""
    conn = connections.get("default")
    columns = ", ".join(f'"{c}"' for c in _COLUMNS)
    created = m.CheckIn._meta.fields_map["created_at"].to_db_value(values["created_at"], m.CheckIn)
    params = [created if c == "created_at" else values[c] for c in _COLUMNS]
    statement = _INSERT_NEW.format(columns=columns, marks=placeholders(conn, len(_COLUMNS)))
    rows = await conn.execute_query_dict(statement, params)
    if not rows:
        return None
    return CheckInRec(id=int(rows[0]["id"]), undone_at=None, **values)


class NoFreezeLeft(Exception):
    """A skip needs a banked freeze and none is left."""


async def find_by_event(participation_id: int, event_key: str) -> CheckInRec | None:
    row = await keyed_reads.first(m.CheckIn, participation_id=participation_id, event_key=event_key)
    return convert.checkin(row) if row else None


async def last_checkin(participation_id: int, period_keys: list[str]) -> CheckInRec | None:
    row = (
        await m.CheckIn.filter(
            participation_id=participation_id, period_key__in=period_keys, undone_at=None
        )
        .order_by("-created_at", "-id")
        .first()
    )
    return convert.checkin(row) if row else None


async def undo_checkin(
    checkin_id: int, now: datetime, *, refund_freeze: bool, max_freezes: int
) -> bool:
    """Mark a check-in undone (refunding a skip's freeze, up to the bank's `max_freezes`, the
    rule's own constant bot.rules.streaks.MAX_FREEZES); False if it was already undone."""
    async with atomic():
        changed = await m.CheckIn.filter(id=checkin_id, undone_at=None).update(undone_at=now)
        if changed and refund_freeze:
            row = await m.CheckIn.get(id=checkin_id)
            await m.Participation.filter(
                id=row.participation_id,  # type: ignore[attr-defined]
                freezes__lt=max_freezes,
            ).update(freezes=F("freezes") + 1)
    return bool(changed)


_TALLY_SQL = (
    "SELECT participation_id, period_key, kind FROM checkins"
    " WHERE {ids} AND {keys} AND undone_at IS NULL"
)


async def tallies(
    participation_ids: list[int], period_keys: list[str]
) -> dict[tuple[int, str], PeriodTally]:
    """Counts of live check-ins per (participation, period): one query whatever the size.

    Plain SQL: every `!done` reads one, and Tortoise's building of the filter took longer
    than the query. On PostgreSQL two array parameters: one prepared statement for all."""
    if not participation_ids or not period_keys:
        return {}
    conn = connections.get("default")
    ids, id_params = one_of(conn, "participation_id", [int(i) for i in participation_ids])
    keys, key_params = one_of(conn, "period_key", sorted(set(period_keys)), len(id_params) + 1)
    _, rows = await conn.execute_query(
        _TALLY_SQL.format(ids=ids, keys=keys), [*id_params, *key_params]
    )
    return fold_tallies(rows)


async def add_vouch(checkin_id: int, member_id: int, now: datetime) -> bool:
    try:
        _, created = await m.Vouch.get_or_create(
            checkin_id=checkin_id, member_id=member_id, defaults={"created_at": now}
        )
    except IntegrityError:
        return False
    return created


async def vouches(participation_ids: list[int], period_keys: list[str]) -> list[VouchRec]:
    if not participation_ids or not period_keys:
        return []
    rows = await m.Vouch.filter(
        checkin__participation_id__in=participation_ids,
        checkin__period_key__in=period_keys,
        checkin__undone_at=None,
    ).select_related("checkin", "member")
    return [
        VouchRec(
            checkin_id=r.checkin.id,
            participation_id=r.checkin.participation_id,  # type: ignore[attr-defined]
            period_key=r.checkin.period_key,
            voucher_id=r.member.id,
            voucher_name=r.member.display_name,
        )
        for r in rows
    ]


async def undo_by_event(
    member_id: int, event_key: str, now: datetime, *, max_freezes: int
) -> CheckInRec | None:
    """Undo the live check-in a given event caused (a redacted reaction), if it is the member's."""
    row = await m.CheckIn.filter(
        event_key=event_key, undone_at=None, participation__member_id=member_id
    ).first()
    if row is None:
        return None
    await undo_checkin(row.id, now, refund_freeze=(row.kind == "skip"), max_freezes=max_freezes)
    return convert.checkin(row)
