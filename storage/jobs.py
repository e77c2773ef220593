"""Queries on the job table: plan by dedupe key, claim due jobs with a lease, and settle them."""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import reduce
from typing import Any

from tortoise.connection import connections
from tortoise.expressions import Q
from tortoise.functions import Min

from storage import models as m
from storage.dialect import is_postgres
from storage.records import JobRec, NewJob
from storage.transaction import atomic, durable

PENDING = "pending"
CLAIMED = "claimed"
SENT = "sent"  # handed over and accepted by the platform (or, for a close, done)
DONE = "done"  # expanded into send jobs
SKIPPED = "skipped"
FAILED = "failed"
CANCELLED = "cancelled"

# SQLite allows 999 bound parameters per statement in old builds; stay well below.
_CHUNK = 400

_PG_CLAIM = """
UPDATE jobs SET status = 'claimed', lease_until = $1, claim_token = $2
WHERE id IN (
    SELECT id FROM jobs
    WHERE due_at <= $5
      AND (status = 'pending' OR (status = 'claimed' AND lease_until <= $3))
    ORDER BY due_at, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
RETURNING id, dedupe_key, kind, due_at, group_id_ref, payload, status, attempts,
          last_error, lease_until, claim_token, sent_at, handed_over_at
"""


def _rec(row: m.Job) -> JobRec:
    return JobRec(
        id=row.id,
        dedupe_key=row.dedupe_key,
        kind=row.kind,
        due_at=row.due_at,
        group_id=row.group_id_ref,
        payload=dict(row.payload or {}),
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        lease_until=row.lease_until,
        claim_token=row.claim_token,
        sent_at=row.sent_at,
        handed_over_at=row.handed_over_at,
    )


def _rec_from_dict(row: dict[str, Any]) -> JobRec:
    payload = row["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload)
    return JobRec(
        id=int(row["id"]),
        dedupe_key=row["dedupe_key"],
        kind=row["kind"],
        due_at=row["due_at"],
        group_id=row["group_id_ref"],
        payload=dict(payload or {}),
        status=row["status"],
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
        lease_until=row["lease_until"],
        claim_token=row["claim_token"],
        sent_at=row["sent_at"],
        handed_over_at=row.get("handed_over_at"),
    )


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


async def plan(jobs: Sequence[NewJob], now: datetime) -> int:
    """Store jobs not stored yet; move the due time of pending, untried ones. Returns new ones."""
    if not jobs:
        return 0
    by_key = {j.dedupe_key: j for j in jobs}
    existing: dict[str, tuple[int, str, int, datetime]] = {}
    for chunk in _chunks(list(by_key)):
        rows = await m.Job.filter(dedupe_key__in=list(chunk)).values_list(
            "dedupe_key", "id", "status", "attempts", "due_at"
        )
        for key, job_id, status, attempts, due in rows:
            existing[str(key)] = (int(job_id), str(status), int(attempts), due)
    fresh = [j for k, j in by_key.items() if k not in existing]
    if fresh:
        # Another process may plan the same keys at the same moment: the unique key wins.
        await _insert_jobs(fresh, now)
    revived = 0
    for key, (job_id, status, attempts, due) in existing.items():
        want = by_key[key]
        if status == PENDING and attempts == 0 and due != want.due_at:
            # A changed quiet window or slot: the same occurrence, at its new time.
            await m.Job.filter(id=job_id, status=PENDING).update(
                due_at=want.due_at, payload=want.payload
            )
        elif status == CANCELLED:
            # Planning dropped it earlier (a pause, a zone that moved the week) and wants it
            # again: the same occurrence comes back rather than being lost to its key.
            revived += await m.Job.filter(id=job_id, status=CANCELLED).update(
                status=PENDING, due_at=want.due_at, payload=want.payload, attempts=0
            )
    return len(fresh) + revived


async def cancel_unplanned(
    group_id: int,
    kinds: Sequence[str],
    keep: set[str],
    after: datetime,
    *,
    prefixes: Sequence[str] = (),
) -> int:
    """Cancel a group's future, untried jobs of `kinds` that planning no longer wants; with
    `prefixes`, only among the jobs whose dedupe key starts with one of them."""
    query = m.Job.filter(
        group_id_ref=group_id, kind__in=list(kinds), status=PENDING, attempts=0, due_at__gt=after
    )
    if prefixes:
        query = query.filter(reduce(operator.or_, (Q(dedupe_key__startswith=p) for p in prefixes)))
    rows = await query.values_list("id", "dedupe_key")
    stale = [int(i) for i, key in rows if key not in keep]
    for chunk in _chunks(stale):
        await m.Job.filter(id__in=list(chunk), status=PENDING).update(status=CANCELLED)
    return len(stale)


async def claim_due(
    now: datetime,
    lease_until: datetime,
    token: str,
    limit: int,
    *,
    due_by: datetime | None = None,
) -> list[JobRec]:
    """Claim up to `limit` jobs due by `due_by` (default `now`; a round prepared ahead of
    its due instant), oldest first, and such jobs whose lease ran out by `now`."""
    due_by = due_by or now
    if is_postgres():
        conn = connections.get("default")
        # One statement: SKIP LOCKED lets several bot processes claim disjoint sets.
        rows = await conn.execute_query_dict(_PG_CLAIM, [lease_until, token, now, limit, due_by])
        return sorted((_rec_from_dict(r) for r in rows), key=lambda j: (j.due_at, j.id))
    claimable = Q(status=PENDING) | Q(status=CLAIMED, lease_until__lte=now)
    ids = (
        await m.Job.filter(claimable, due_at__lte=due_by)
        .order_by("due_at", "id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not ids:
        return []
    # SQLite has one writer at a time: the conditional UPDATE decides who got each job,
    # and the token tells this claimer which ones are its own.
    for chunk in _chunks(list(ids)):
        await m.Job.filter(claimable, id__in=list(chunk)).update(
            status=CLAIMED, lease_until=lease_until, claim_token=token
        )
    rows = await m.Job.filter(claim_token=token, status=CLAIMED).order_by("due_at", "id")
    return [_rec(r) for r in rows]


async def settle(
    ids: Sequence[int], token: str, status: str, now: datetime, error: str | None = None
) -> int:
    """Mark claimed jobs sent, skipped or failed; only while this claimer still holds them."""
    changed = 0
    values: dict[str, Any] = {"status": status, "lease_until": None, "last_error": error}
    if status == SENT:
        values["sent_at"] = now
    for chunk in _chunks(list(ids)):
        changed += await m.Job.filter(id__in=list(chunk), claim_token=token, status=CLAIMED).update(
            **values
        )
    return changed


async def mark_handed_over(ids: Sequence[int], token: str, now: datetime) -> set[int]:
    """Note that these claimed jobs are about to be handed to the platform; returns the ones
    still ours. Done before the platform call: whoever claims such a job later (after a crash,
    a database outage or a lease that ran out) looks for the message before sending it again.
    A job marked earlier keeps its first mark, so it is looked for however often it is tried."""
    held: set[int] = set()
    for chunk in _chunks(list(ids)):
        async with durable():
            await m.Job.filter(
                id__in=list(chunk), claim_token=token, status=CLAIMED, handed_over_at=None
            ).update(handed_over_at=now)
        rows = await m.Job.filter(
            id__in=list(chunk), claim_token=token, status=CLAIMED
        ).values_list("id")
        held.update(int(r[0]) for r in rows)
    return held


async def retry_later(ids: Sequence[int], token: str, due_at: datetime, error: str) -> None:
    """Give claimed jobs back with a later due time and one more attempt counted."""
    for job_id in ids:
        row = await m.Job.get_or_none(id=job_id, claim_token=token, status=CLAIMED)
        if row is None:
            continue
        await m.Job.filter(id=job_id, claim_token=token, status=CLAIMED).update(
            status=PENDING,
            due_at=due_at,
            attempts=row.attempts + 1,
            last_error=error[:2000],
            lease_until=None,
            claim_token=None,
        )


async def release(ids: Sequence[int], token: str, due_at: datetime) -> None:
    """Give claimed jobs back untried, due at `due_at` (quiet hours, a busy batch)."""
    for chunk in _chunks(list(ids)):
        await m.Job.filter(id__in=list(chunk), claim_token=token, status=CLAIMED).update(
            status=PENDING, due_at=due_at, lease_until=None, claim_token=None
        )


async def expand(
    source_ids: Sequence[int], token: str, sends: Sequence[NewJob], now: datetime
) -> bool:
    """Replace claimed jobs by the messages they produce, atomically; False if we lost the claim."""
    return not await expand_many([(source_ids, sends)], token, now)


async def expand_many(
    units: Sequence[tuple[Sequence[int], Sequence[NewJob]]], token: str, now: datetime
) -> list[int]:
    """`expand` for many groups in one transaction; returns the indexes of units we lost.

    A unit is all-or-nothing as in `expand`: if another claimer took any of its jobs
    (our lease ran out), its sends are not stored and the jobs we still held become
    claimable again at once rather than after a second lease.
    """
    ids = sorted({i for sources, _ in units for i in sources})
    if not ids:
        return []
    async with atomic():
        for chunk in _chunks(ids):
            await m.Job.filter(id__in=list(chunk), claim_token=token, status=CLAIMED).update(
                status=DONE, lease_until=None, sent_at=now
            )
        held: set[int] = set()
        for chunk in _chunks(ids):
            # The token is new each round: DONE with it means "marked by the update above".
            rows = await m.Job.filter(
                id__in=list(chunk), claim_token=token, status=DONE
            ).values_list("id")
            held.update(int(r[0]) for r in rows)
        lost = [n for n, (sources, _) in enumerate(units) if not set(sources) <= held]
        back = sorted({i for n in lost for i in units[n][0]} & held)
        for chunk in _chunks(back):
            await m.Job.filter(id__in=list(chunk), claim_token=token, status=DONE).update(
                status=CLAIMED, lease_until=now, sent_at=None
            )
        lost_set = set(lost)
        sends = [j for n, (_, js) in enumerate(units) if n not in lost_set for j in js]
        if sends:
            await _insert_jobs(sends, now)
    return lost


async def release_many(releases: Sequence[tuple[int, datetime]], token: str) -> None:
    """`release` for jobs with different due times: one update per distinct time."""
    by_due: dict[datetime, list[int]] = {}
    for job_id, due in releases:
        by_due.setdefault(due, []).append(job_id)
    for due, ids in by_due.items():
        await release(ids, token, due)


async def next_due_at() -> datetime | None:
    """The earliest instant at which some job becomes claimable."""
    rows = await m.Job.filter(status=PENDING).annotate(first=Min("due_at")).values_list("first")
    pending = rows[0][0] if rows else None
    rows = (
        await m.Job.filter(status=CLAIMED).annotate(first=Min("lease_until")).values_list("first")
    )
    leased = rows[0][0] if rows else None
    candidates = [d for d in (pending, leased) if d is not None]
    return min(candidates) if candidates else None


async def channel_messages_between(group_id: int, start: datetime, end: datetime) -> int:
    """Messages to a group's channel sent or queued in [start, end): the weekly cap's count."""
    return await m.Job.filter(
        group_id_ref=group_id,
        kind="send",
        status__in=[PENDING, CLAIMED, SENT],
        due_at__gte=start,
        due_at__lt=end,
    ).count()


async def get_job(dedupe_key: str) -> JobRec | None:
    row = await m.Job.get_or_none(dedupe_key=dedupe_key)
    return _rec(row) if row else None


async def jobs_with(
    statuses: Sequence[str] | None = None, kinds: Sequence[str] | None = None
) -> list[JobRec]:
    """Jobs by status and kind, oldest due first (tests, simulation, diagnostics)."""
    query = m.Job.all()
    if statuses:
        query = query.filter(status__in=list(statuses))
    if kinds:
        query = query.filter(kind__in=list(kinds))
    return [_rec(r) for r in await query.order_by("due_at", "id")]


async def count_jobs(status: str) -> int:
    return await m.Job.filter(status=status).count()


async def _insert_jobs(jobs: Iterable[NewJob], now: datetime) -> None:
    """Insert new jobs; one that another process inserted meanwhile wins by its unique key."""
    await m.Job.bulk_create(
        [
            m.Job(
                dedupe_key=j.dedupe_key,
                kind=j.kind,
                due_at=j.due_at,
                group_id_ref=j.group_id,
                payload=j.payload,
                created_at=now,
            )
            for j in jobs
        ],
        batch_size=500,
        ignore_conflicts=True,
    )
