"""What a pledge board reads (participants, this period's counts, vouches), by pledge, in SQL.

Filtered by the group's pledges (and one member for a personal view), never by a list of
participation ids: the statement is the same size at any group size, and building a
190-placeholder IN list through Tortoise cost more than the query (`!pledge list` in a
95-member group spent half its time there). Rows come back as plain tuples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tortoise.connection import connections

from storage.dialect import placeholders
from storage.records import ParticipantRow, PeriodTally, VouchRec

_WHERE = "p.pledge_id IN ({ids}) AND p.active{member}"

_PARTS_SQL = (
    "SELECT p.id, p.pledge_id, p.member_id, m.platform, m.external_id, m.display_name,"
    " p.current_streak, p.best_streak, p.strength, p.freezes, p.closed_through"
    " FROM participations p JOIN members m ON m.id = p.member_id"
    " WHERE {where} ORDER BY p.pledge_id, p.id"
)
_COUNTS_SQL = (
    "SELECT c.participation_id, c.period_key, c.kind FROM checkins c"
    " JOIN participations p ON p.id = c.participation_id"
    " WHERE {where} AND c.undone_at IS NULL AND c.period_key IN ({keys})"
)
_VOUCHES_SQL = (
    "SELECT v.checkin_id, c.participation_id, c.period_key, v.member_id, m.display_name"
    " FROM vouches v JOIN checkins c ON c.id = v.checkin_id"
    " JOIN participations p ON p.id = c.participation_id JOIN members m ON m.id = v.member_id"
    " WHERE {where} AND c.undone_at IS NULL AND c.period_key IN ({keys}) ORDER BY v.id"
)


def _where(pledge_ids: Sequence[int], member_id: int | None) -> str:
    # Ids are ints from our own records: written into the statement, not bound.
    ids = ", ".join(str(int(i)) for i in pledge_ids)
    member = f" AND p.member_id = {int(member_id)}" if member_id is not None else ""
    return _WHERE.format(ids=ids, member=member)


async def participant_rows(
    pledge_ids: Sequence[int], member_id: int | None = None
) -> list[ParticipantRow]:
    """Active participations of these pledges with member names (one member's with
    `member_id`), ordered by pledge and joining order."""
    if not pledge_ids:
        return []
    conn = connections.get("default")
    _, rows = await conn.execute_query(_PARTS_SQL.format(where=_where(pledge_ids, member_id)))
    return [
        ParticipantRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], float(r[8]), r[9], r[10])
        for r in rows
    ]


async def tallies(
    pledge_ids: Sequence[int], member_id: int | None, period_keys: Sequence[str]
) -> dict[tuple[int, str], PeriodTally]:
    """Live check-in counts per (participation, period) of the active participations that
    `participant_rows` returns for the same arguments."""
    keys = sorted(set(period_keys))
    if not pledge_ids or not keys:
        return {}
    conn = connections.get("default")
    sql = _COUNTS_SQL.format(
        where=_where(pledge_ids, member_id), keys=placeholders(conn, len(keys))
    )
    _, rows = await conn.execute_query(sql, keys)
    return fold_tallies(rows)


def fold_tallies(rows: Iterable[Any]) -> dict[tuple[int, str], PeriodTally]:
    """(participation id, period key, kind) rows of live check-ins, counted per period."""
    counts: dict[tuple[int, str], list[int]] = {}
    for pid, key, kind in rows:
        c = counts.setdefault((int(pid), str(key)), [0, 0, 0])
        c[{"done": 0, "skip": 1}.get(str(kind), 2)] += 1
    return {
        k: PeriodTally(
            participation_id=k[0], period_key=k[1], done=v[0], skipped=v[1], declined=v[2]
        )
        for k, v in counts.items()
    }


async def vouches(
    pledge_ids: Sequence[int], member_id: int | None, period_keys: Sequence[str]
) -> list[VouchRec]:
    """Vouches on live check-ins of those participations in these periods, in vouching order."""
    keys = sorted(set(period_keys))
    if not pledge_ids or not keys:
        return []
    conn = connections.get("default")
    sql = _VOUCHES_SQL.format(
        where=_where(pledge_ids, member_id), keys=placeholders(conn, len(keys))
    )
    _, rows = await conn.execute_query(sql, keys)
    return [
        VouchRec(
            checkin_id=int(r[0]),
            participation_id=int(r[1]),
            period_key=str(r[2]),
            voucher_id=int(r[3]),
            voucher_name=str(r[4]),
        )
        for r in rows
    ]
