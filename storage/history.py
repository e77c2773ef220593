"""Closed periods of recent weeks, counted per pledge or listed for one member (the pictures).

Each query is one SQL statement whatever the group's size: the database counts a group's
outcomes per pledge and period, so a 5,000-member group's twelve weeks come back as a few
dozen rows, not 120,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.connection import connections

from storage.dialect import is_postgres


@dataclass(frozen=True)
class PeriodCount:
    """Outcomes of one pledge's period (a day, week or month) in a group, counted."""

    pledge_id: int
    period_key: str
    period_end: datetime
    kept: int
    missed: int
    excused: int


@dataclass(frozen=True)
class MemberPeriod:
    """A member's participation in a pledge and, when a period of it closed in the window,
    that period's outcome (`period_key` None: no period closed, the row only says the member
    takes part)."""

    pledge_id: int
    active: bool
    period_key: str | None
    period_end: datetime | None
    outcome: str | None


_GROUP_SQL = (
    "SELECT p.pledge_id, o.period_key, o.period_end,"
    " SUM(CASE WHEN o.outcome = 'kept' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN o.outcome = 'missed' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN o.outcome = 'excused' THEN 1 ELSE 0 END)"
    " FROM outcomes o JOIN participations p ON p.id = o.participation_id"
    " WHERE o.group_id_ref = {0} AND o.period_end > {1} AND o.period_end <= {2}"
    " GROUP BY p.pledge_id, o.period_key, o.period_end"
    " ORDER BY p.pledge_id, o.period_end"
)

_MEMBER_SQL = (
    "SELECT p.pledge_id, p.active, o.period_key, o.period_end, o.outcome"
    " FROM participations p JOIN pledges pl ON pl.id = p.pledge_id"
    " LEFT JOIN outcomes o ON o.participation_id = p.id"
    " AND o.period_end > {0} AND o.period_end <= {1}"
    " WHERE pl.group_id = {2} AND p.member_id = {3}"
    " ORDER BY p.pledge_id, o.period_end"
)


def _params(postgres: bool, count: int) -> list[str]:
    return [f"${n + 1}" if postgres else "?" for n in range(count)]


def _instant(postgres: bool, value: datetime) -> Any:
    # Tortoise stores SQLite datetimes as ISO text with a space; compare text with text.
    return value if postgres else value.astimezone(UTC).isoformat(sep=" ")


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def pledge_period_counts(
    group_id: int, after: datetime, through: datetime
) -> list[PeriodCount]:
    """Kept, missed and excused counts per pledge and period of a group, for the periods that
    ended in (after, through]; ordered by pledge, then period end."""
    conn = connections.get("default")
    postgres = is_postgres(conn)
    sql = _GROUP_SQL.format(*_params(postgres, 3))
    params = [group_id, _instant(postgres, after), _instant(postgres, through)]
    _, rows = await conn.execute_query(sql, params)
    return [
        PeriodCount(
            pledge_id=int(r[0]),
            period_key=str(r[1]),
            period_end=_when(r[2]),
            kept=int(r[3]),
            missed=int(r[4]),
            excused=int(r[5]),
        )
        for r in rows
    ]


async def member_periods(
    group_id: int, member_id: int, after: datetime, through: datetime
) -> list[MemberPeriod]:
    """A member's participations in a group's pledges (active or left), each with its
    outcomes of the periods that ended in (after, through]; a participation with none comes
    back once with `period_key` None."""
    conn = connections.get("default")
    postgres = is_postgres(conn)
    sql = _MEMBER_SQL.format(*_params(postgres, 4))
    # In the order the marks stand in the text: SQLite's "?" are numbered by position.
    params = [_instant(postgres, after), _instant(postgres, through), group_id, member_id]
    _, rows = await conn.execute_query(sql, params)
    return [
        MemberPeriod(
            pledge_id=int(r[0]),
            active=bool(r[1]),
            period_key=None if r[2] is None else str(r[2]),
            period_end=None if r[3] is None else _when(r[3]),
            outcome=None if r[4] is None else str(r[4]),
        )
        for r in rows
    ]
