"""Group settings that take effect later (a new week start waits for the week to close).

They are rows of the job table with their own status, which the scheduler never claims: they
survive restarts and need no table of their own. Closing applies them when their time comes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import models as m
from storage.record_cache import ALL, DUE, changed
from storage.transaction import atomic

KIND = "setting"
WAITING = "deferred"
APPLIED = "sent"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Deferred:
    """A setting of a group that changes to `value` at `at`."""

    id: int
    group_id: int
    field: str
    value: Any
    at: datetime
    extra: dict[str, Any]


def _rec(row: m.Job) -> Deferred:
    payload = dict(row.payload or {})
    return Deferred(
        id=int(row.id),
        group_id=int(row.group_id_ref or 0),
        field=str(payload.get("field", "")),
        value=payload.get("value"),
        at=row.due_at,
        extra={k: v for k, v in payload.items() if k not in ("field", "value")},
    )


async def defer(
    group_id: int, field: str, value: Any, at: datetime, now: datetime, **extra: Any
) -> None:
    """Set `field` to `value` at `at`, replacing a change of the same field still waiting;
    `extra` is kept with it (e.g. the week it waits for)."""
    async with atomic():
        await cancel(group_id, field)
        await m.Job.create(
            dedupe_key=f"{KIND}:g{group_id}:{field}:{uuid.uuid4().hex}",
            kind=KIND,
            due_at=at,
            group_id_ref=group_id,
            payload={"field": field, "value": value, **extra},
            status=WAITING,
            created_at=now,
        )
        await changed(DUE, group_id)


async def cancel(group_id: int, field: str) -> int:
    rows = await m.Job.filter(group_id_ref=group_id, kind=KIND, status=WAITING)
    ids = [r.id for r in rows if (r.payload or {}).get("field") == field]
    if ids:
        await m.Job.filter(id__in=ids).update(status=CANCELLED)
    return len(ids)


async def waiting(group_id: int) -> list[Deferred]:
    rows = await m.Job.filter(group_id_ref=group_id, kind=KIND, status=WAITING).order_by("due_at")
    return [_rec(r) for r in rows]


async def due(now: datetime, group_id: int | None = None) -> list[Deferred]:
    """Changes whose time has come, oldest first."""
    query = m.Job.filter(kind=KIND, status=WAITING, due_at__lte=now)
    if group_id is not None:
        query = query.filter(group_id_ref=group_id)
    return [_rec(r) for r in await query.order_by("due_at", "id")]


async def applied(change_id: int, now: datetime) -> bool:
    """Mark a change applied; False if another process applied it first."""
    changed = await m.Job.filter(id=change_id, status=WAITING).update(status=APPLIED, sent_at=now)
    return bool(changed)


async def retime(change_id: int, at: datetime) -> None:
    """Move a waiting change (its week closes at another instant after a zone change)."""
    await m.Job.filter(id=change_id, status=WAITING).update(due_at=at)
    await changed(DUE, ALL)  # maybe earlier; the change's group is not at hand
