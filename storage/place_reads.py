"""One statement for what a command in a group reads first: group, pledges, due instant, member.

A command typed in a group the process has not seen (or by a member it has not seen) read
them one statement each (`groups.ensure_group`, `pledges.group_pledges`, `closing.nothing_due`,
`groups.ensure_member`): four round trips, or four hand-offs to aiosqlite's thread, before the
command's own. Where the record cache lacks any of the group's, `warm_place` reads them all
and the member in one statement and puts them there, under the cache's rules (a ticket taken
before the read), so those functions then find them; where it has the group's, a member not
seen yet is read by `ensure_member` alone (a narrower statement). Nothing is stored while the
cache is off; rows it does not find (a new group or member) are left to those functions.
"""

from __future__ import annotations

from typing import Any

from tortoise.connection import connections

from storage import convert, deferred
from storage import models as m
from storage.closing import read_instant
from storage.dialect import placeholders
from storage.record_cache import cache

# What the engine reads a group's pledges with (`Engine._invoke`).
STATUSES = ("active", "paused")

_MODELS: tuple[tuple[str, type[Any]], ...] = (
    ("g", m.Group),
    ("mb", m.Member),
    ("p", m.Pledge),
)


def _columns(model: type[Any]) -> list[str]:
    return list(model._meta.fields_db_projection.values())


def _select() -> str:
    picked = ", ".join(
        f'{alias}."{col}" AS "{alias}__{col}"'
        for alias, model in _MODELS
        for col in _columns(model)
    )
    return picked


def _statement(conn: Any) -> str:
    a, b, c, d = placeholders(conn, 4).split(", ")
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    return (
        f"SELECT {_select()},"
        " (SELECT MIN(pa.next_close_at) FROM participations pa"
        " JOIN pledges pl ON pl.id = pa.pledge_id WHERE pl.group_id = g.id) AS due_close,"
        " (SELECT MIN(j.due_at) FROM jobs j WHERE j.group_id_ref = g.id"
        f" AND j.kind = '{deferred.KIND}' AND j.status = '{deferred.WAITING}') AS due_change"
        " FROM (SELECT 1 AS one) AS base"
        f" LEFT JOIN groups g ON g.platform = {a} AND g.external_id = {b}"
        f" LEFT JOIN members mb ON mb.platform = {c} AND mb.external_id = {d}"
        f" LEFT JOIN pledges p ON p.group_id = g.id AND p.status IN ({statuses})"
        " ORDER BY p.number"
    )


def _part(row: dict[str, Any], alias: str, model: type[Any]) -> Any | None:
    values = {col: row[f"{alias}__{col}"] for col in _columns(model)}
    if values.get("id") is None:
        return None
    return model._init_from_db(**values)


async def warm_place(platform: str, group_external_id: str, member_external_id: str) -> None:
    """Read what the cache lacks of this group and member, in one statement (see above)."""
    ticket = cache.ticket()
    if ticket is None or cache.knows_group(platform, group_external_id, STATUSES):
        return  # a member not seen yet costs `ensure_member` one read, as it costs this one
    conn = connections.get("default")
    params = [platform, group_external_id, platform, member_external_id]
    rows = await conn.execute_query_dict(_statement(conn), params)
    if not rows:
        return
    first = rows[0]
    group_row = _part(first, "g", m.Group)
    member_row = _part(first, "mb", m.Member)
    if member_row is not None:
        cache.put_member(ticket, convert.member(member_row))
    if group_row is None:
        return
    group = convert.group(group_row)
    cache.put_group(ticket, group)
    pledges = [convert.pledge(p) for row in rows if (p := _part(row, "p", m.Pledge)) is not None]
    cache.put_pledges(ticket, group.id, STATUSES, pledges)
    found = [read_instant(v) for v in (first["due_close"], first["due_change"]) if v is not None]
    cache.put_due(ticket, group.id, min(found) if found else None)
