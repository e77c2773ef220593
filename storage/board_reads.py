"""What a pledge board reads (participants, this period's counts, vouches), by pledge, in SQL.

One statement: the active participations with their members, each joined with its live
check-ins of the periods asked for (and, for the summary, their vouches). Filtered by the
group's pledges (and one member for a personal view), never by a list of participation ids:
the statement is the same at any group size, and building a 190-placeholder IN list
through Tortoise cost more than the query (`!pledge list` in a 95-member group spent half its
time there). Three statements before (participants, counts, vouches): each one's round trip
through the database thread cost more than its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.connection import connections

from storage import dialect
from storage.records import ParticipantRow, PeriodTally, VouchRec

_BOARD_SQL = (
    "SELECT p.id, p.pledge_id, p.member_id, m.platform, m.external_id, m.display_name,"
    " p.current_streak, p.best_streak, p.strength, p.freezes, p.closed_through,"
    " c.id, c.period_key, c.kind{vouch_columns}"
    " FROM participations p JOIN members m ON m.id = p.member_id"
    " LEFT JOIN checkins c ON c.participation_id = p.id AND c.undone_at IS NULL"
    " AND {keys}{vouch_joins}"
    " WHERE {ids} AND p.active{member} ORDER BY p.pledge_id, p.id"
)
_VOUCH_COLUMNS = ", v.id, v.member_id, vm.display_name"
_VOUCH_JOINS = (
    " LEFT JOIN vouches v ON v.checkin_id = c.id AND {keys}"
    " LEFT JOIN members vm ON vm.id = v.member_id"
)


@dataclass(frozen=True)
class BoardRows:
    """Participants in pledge and joining order, live done check-ins per (participation,
    period), and the vouches asked for in vouching order."""

    participants: list[ParticipantRow]
    done: dict[tuple[int, str], int]
    vouches: list[VouchRec]


async def board_rows(
    pledge_ids: Sequence[int],
    member_id: int | None,
    period_keys: Sequence[str],
    vouch_keys: Sequence[str] = (),
) -> BoardRows:
    """Active participations of these pledges with member names (one member's with
    `member_id`), their live check-ins in `period_keys` counted, and the vouches on live
    check-ins in `vouch_keys` (none read when empty)."""
    if not pledge_ids:
        return BoardRows([], {}, [])
    conn = connections.get("default")
    keys = sorted(set(period_keys)) or [""]  # no period: the join finds nothing
    vkeys = sorted(set(vouch_keys))
    # Everything bound: the statement's text depends only on how many pledges and periods,
    # so SQLite's statement cache and asyncpg's prepared statements (and plans) serve again.
    params: list[Any] = []

    def one_of(column: str, values: Sequence[Any]) -> str:
        condition, bound = dialect.one_of(conn, column, values, len(params) + 1)
        params.extend(bound)
        return condition

    key_condition = one_of("c.period_key", keys)
    vouch_joins = _VOUCH_JOINS.format(keys=one_of("c.period_key", vkeys)) if vkeys else ""
    ids = one_of("p.pledge_id", [int(i) for i in pledge_ids])
    member = ""
    if member_id is not None:
        member = f" AND p.member_id = {dialect.placeholders(conn, 1, len(params) + 1)}"
        params.append(int(member_id))
    sql = _BOARD_SQL.format(
        vouch_columns=_VOUCH_COLUMNS if vkeys else "",
        keys=key_condition,
        vouch_joins=vouch_joins,
        ids=ids,
        member=member,
    )
    _, rows = await conn.execute_query(sql, params)
    participants: list[ParticipantRow] = []
    done: dict[tuple[int, str], int] = {}
    vouched: list[tuple[int, VouchRec]] = []
    seen: set[int] = set()  # check-ins already counted (a vouched one comes once per vouch)
    last = None
    for r in rows:
        pid = r[0]
        if pid != last:
            last = pid
            participants.append(
                ParticipantRow(
                    pid, r[1], r[2], r[3], r[4], r[5], r[6], r[7], float(r[8]), r[9], r[10]
                )
            )
        checkin = r[11]
        if checkin is None:
            continue
        if vkeys:
            if r[14] is not None and r[16] is not None:
                vouched.append(
                    (r[14], VouchRec(int(checkin), int(pid), str(r[12]), int(r[15]), str(r[16])))
                )
            if checkin in seen:
                continue
            seen.add(checkin)
        if r[13] == "done":
            key = (int(pid), str(r[12]))
            done[key] = done.get(key, 0) + 1
    vouched.sort(key=lambda item: item[0])
    return BoardRows(participants, done, [v for _, v in vouched])


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
