"""A snapshot of every table's rows, to prove that refused input changed nothing."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise

from storage import models as m

TABLES = (
    m.Group,
    m.Member,
    m.Pledge,
    m.Participation,
    m.CheckIn,
    m.Vouch,
    m.Outcome,
    m.GroupWeek,
    m.SentMessage,
)


async def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """All rows of the data tables (members' names included), ordered by id."""
    _ = Tortoise
    result: dict[str, list[tuple[Any, ...]]] = {}
    for model in TABLES:
        rows = await model.all().order_by("id").values()
        result[model._meta.db_table] = [tuple(sorted(r.items())) for r in rows]
    return result
