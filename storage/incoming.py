"""Claims of incoming platform events, so each command, tap or reaction is answered once.

A claim is a row keyed by (platform, event id), inserted before the event is handled. Its
owner is `"<instance>:<run>"`: the instance names a data directory (one live process per data
directory, which the adapters lock), the run one start of that process. The life of a claim:

- `claimed`: taken by `owner` until `lease_until`; nothing of its answer is stored yet.
- `handled`: the event's effects are stored and so is its reply, which may not be out yet;
  both were committed in one transaction (`handling`), so there is no state in between.
- `answered`: the reply is out (or there was none).

Who may take over a claim that is not answered: the same instance in a later run at once (its
predecessor is dead: the data directory is locked), anyone else once the lease ran out. A
taken-over `claimed` event is handled again (nothing of a first attempt was committed); a
taken-over `handled` one has its stored reply looked for on the platform and sent
only if it is not there.

On SQLite (one process on the database) `take` writes no row: the claim is written by the
event's first write, `store_reply` inside the handling transaction or `answered`, one statement
that inserts the row or takes it over if it is ours (`claim`'s own durable commit bought
nothing there: a process killed before the handling commit left a `claimed` row that the next
run of the same instance takes back at once, which is what finding no row does). Even two
processes on one file stay exactly-once in what they store: the first handling transaction to
commit inserts the row, the other's `store_reply` finds it someone else's and rolls back.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.connection import connections
from tortoise.exceptions import IntegrityError

from storage import models as m
from storage.dialect import is_postgres
from storage.transaction import (
    LockWaitRanOut,
    Redoable,
    durable,
    durable_unless_inside,
    lock_wait_ran_out,
    redoable,
)

CLAIMED = "claimed"
HANDLED = "handled"
ANSWERED = "answered"

# Handling a command takes milliseconds; the lease only has to outlast a slow database.
LEASE = timedelta(minutes=2)
# How long a claim may wait for another process's uncommitted claim of the same event (both
# processes see every event and insert its claim at the same instant; PostgreSQL makes the
# second insert wait until the first transaction ends). Past it the other process has the event.
CLAIM_LOCK_WAIT_MS = 2000
# Claims are kept as long as a platform may show an event again (a sync token hours old).
KEEP = timedelta(days=3)

RUN = "run"  # handle the event (for the first time, or again after its holder died)
REPLY = "reply"  # its effects are stored: deliver `reply` unless it is on the platform already
HELD = "held"  # another live process has it until `held_until`: try again after that
DONE = "done"  # answered already


@dataclass(frozen=True)
class Claim:
    """What the caller must do with an event it received."""

    state: str
    reply: dict[str, Any] | None = None
    held_until: datetime | None = None

    @property
    def ours(self) -> bool:
        return self.state in (RUN, REPLY)


def instance_of(owner: str) -> str:
    return owner.split(":", 1)[0]


async def claim(
    platform: str, event_id: str, owner: str, now: datetime, lease: timedelta = LEASE
) -> Claim:
    """Take the event for `owner`, or say who has it.

    Never holds its pool connection longer than `CLAIM_LOCK_WAIT_MS` waiting for another
    process's claim of the same event: that claim's transaction may stay open while its
    process is stalled, stopping or dying, and every claim of every event both processes see
    would wait on it, one pool connection each, until the pool ran dry (issue 10: a process's
    commands waited a minute on `pool.acquire()`). An insert that waited that long lost: the
    other process inserted first, it has the event (`HELD`).
    """
    if is_postgres():
        try:
            if await _insert_claim(platform, event_id, owner, now, lease):
                return Claim(RUN)
        except Exception as exc:  # Tortoise passes asyncpg's LockNotAvailableError on as is
            if lock_wait_ran_out(exc):
                return Claim(HELD, held_until=now + lease)
            raise
    else:
        try:
            async with durable(lock_wait_ms=CLAIM_LOCK_WAIT_MS):
                await m.IncomingEvent.create(
                    platform=platform,
                    event_id=event_id,
                    owner=owner,
                    status=CLAIMED,
                    lease_until=now + lease,
                    claimed_at=now,
                )
            return Claim(RUN)
        except IntegrityError:
            pass
    row = await m.IncomingEvent.get_or_none(platform=platform, event_id=event_id)
    if row is None:  # pruned in between: it is weeks old
        return Claim(DONE)
    return await _take_over(row, owner, now, lease)


# A claim on PostgreSQL: one statement and no explicit transaction (BEGIN, SET LOCAL and COMMIT
# were three round trips of its five). It commits on its own, durably as every commit of the
# pool (storage.database.SESSION_SETTINGS). Its wait on another process's uncommitted claim of
# the same event is bounded by `set_config(..., true)` in the same statement: evaluated for the
# one row before the row is inserted, and gone when the statement's own transaction ends.
_CLAIM = (
    'INSERT INTO "incoming_events" ("platform", "event_id", "owner", "status", "lease_until", '
    '"claimed_at") SELECT $1, $2, $3, $4, $5::timestamptz, $6::timestamptz '
    "FROM (SELECT set_config('lock_timeout', $7, true)) AS \"bounded\" "
    'ON CONFLICT ("platform", "event_id") DO NOTHING RETURNING "id"'
)


async def _insert_claim(
    platform: str, event_id: str, owner: str, now: datetime, lease: timedelta
) -> bool:
    """The claim row inserted (True), or another claim of the event there already (False)."""
    params = [platform, event_id, owner, CLAIMED, now + lease, now, f"{CLAIM_LOCK_WAIT_MS}ms"]
    # Rows, not Tortoise's count of an INSERT (it reads the OID field of "INSERT 0 1").
    return bool(await connections.get("default").execute_query_dict(_CLAIM, params))


def written_late() -> bool:
    """True where `take` leaves the claim to the event's first write (SQLite: one process)."""
    return not is_postgres()


async def take(
    platform: str, event_id: str, owner: str, now: datetime, lease: timedelta = LEASE
) -> Claim:
    """`claim` as the adapters' `EventClaims` needs it: on SQLite one read, and no row written
    until the event's first write (see the module's docstring); elsewhere `claim`."""
    if not written_late():
        return await claim(platform, event_id, owner, now, lease)
    row = await m.IncomingEvent.get_or_none(platform=platform, event_id=event_id)
    if row is None:
        return Claim(RUN)
    return await _take_over(row, owner, now, lease)


async def _take_over(row: m.IncomingEvent, owner: str, now: datetime, lease: timedelta) -> Claim:
    """The event has a claim already: done, someone else's, or ours to take back."""
    if row.status == ANSWERED:
        return Claim(DONE)
    if instance_of(row.owner) != instance_of(owner) and row.lease_until > now:
        return Claim(HELD, held_until=row.lease_until)
    # The same match as read: of two processes taking over at once, one wins.
    try:
        async with durable(lock_wait_ms=CLAIM_LOCK_WAIT_MS):
            taken = await m.IncomingEvent.filter(
                id=row.id, owner=row.owner, status=row.status, lease_until=row.lease_until
            ).update(owner=owner, lease_until=now + lease)
    except LockWaitRanOut:  # the other process is updating the row right now
        return Claim(HELD, held_until=now + lease)
    if not taken:
        return Claim(HELD, held_until=now + lease)
    if row.status == HANDLED:
        return Claim(REPLY, reply=dict(row.reply or {}))
    return Claim(RUN)


@contextlib.asynccontextmanager
async def handling() -> AsyncIterator[Redoable]:
    """The transaction an event is handled in: its effects and `store_reply` commit together
    (on disk before it returns), or neither does. What it yields says whether a command in it
    failed (`transaction.undone_on_error`): its caller then rolls it all back and stores only
    the reply, in a transaction of its own."""
    async with durable(), redoable() as failures:
        yield failures


# One statement for a claim written late (SQLite): the row is inserted, or updated if it is
# ours and still open; a row of another owner, or answered, is left alone (no change counted).
_UPSERT = (
    'INSERT INTO "incoming_events" ("platform", "event_id", "owner", "status", "lease_until", '
    '"reply", "claimed_at") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("platform", "event_id") '
    'DO UPDATE SET "status" = excluded."status", "reply" = excluded."reply" '
    'WHERE "incoming_events"."owner" = excluded."owner"{open}'
)
_UPSERT_OPEN = f" AND \"incoming_events\".\"status\" IN ('{CLAIMED}', '{HANDLED}')"


async def _write_late(
    platform: str,
    event_id: str,
    owner: str,
    status: str,
    reply: dict[str, Any] | None,
    now: datetime,
    only_open: bool,
) -> bool:
    fields = m.IncomingEvent._meta.fields_map
    params = [
        platform,
        event_id,
        owner,
        status,
        fields["lease_until"].to_db_value(now + LEASE, m.IncomingEvent),
        fields["reply"].to_db_value(reply, m.IncomingEvent),
        fields["claimed_at"].to_db_value(now, m.IncomingEvent),
    ]
    sql = _UPSERT.format(open=_UPSERT_OPEN if only_open else "")
    changed, _ = await connections.get("default").execute_query(sql, params)
    return bool(changed)


async def store_reply(
    platform: str,
    event_id: str,
    owner: str,
    reply: dict[str, Any],
    now: datetime | None = None,
) -> bool:
    """The event's effects are stored; keep its reply until it is out. False: claim lost.

    Inside `handling()` it is part of that durable transaction, with the event's effects.
    With `now` on SQLite it also writes a claim `take` left unwritten (taken at `now`)."""
    async with durable_unless_inside():
        if now is not None and written_late():
            return await _write_late(platform, event_id, owner, HANDLED, reply, now, True)
        changed = await m.IncomingEvent.filter(
            platform=platform, event_id=event_id, owner=owner, status__in=[CLAIMED, HANDLED]
        ).update(status=HANDLED, reply=reply)
    return bool(changed)


async def answered(platform: str, event_id: str, owner: str, now: datetime | None = None) -> None:
    """The reply is out (or there was none to send): the event is finished.

    With `now` on SQLite it also writes a claim `take` left unwritten (an event finished
    without a handling transaction: a greeting, a reaction handled silently)."""
    if now is not None and written_late():
        await _write_late(platform, event_id, owner, ANSWERED, None, now, False)
        return
    await m.IncomingEvent.filter(platform=platform, event_id=event_id, owner=owner).update(
        status=ANSWERED, reply=None
    )


async def forget(platform: str, event_id: str) -> None:
    """Drop one event's claim: the platform shows that id again as a new event (a Discord
    reaction, named by message, user and emoji, added again after it was taken back)."""
    await m.IncomingEvent.filter(platform=platform, event_id=event_id).delete()


async def prune(before: datetime) -> int:
    """Forget claims taken before `before` (the platform no longer shows those events)."""
    return await m.IncomingEvent.filter(claimed_at__lt=before).delete()


async def get(platform: str, event_id: str) -> tuple[str, str] | None:
    """(status, owner) of an event's claim (tests and diagnostics)."""
    row = await m.IncomingEvent.get_or_none(platform=platform, event_id=event_id)
    return (row.status, row.owner) if row else None
