"""Units of work on the database: transactions safe against a failed BEGIN, and savepoints."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.backends.sqlite.client import SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError
from tortoise.transactions import in_transaction

from storage import record_cache
from storage.dialect import is_postgres

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]

# What the outermost open transaction runs once it has committed (see `after_commit`).
_AFTER_COMMIT: contextvars.ContextVar[list[AfterCommit] | None] = contextvars.ContextVar(
    "logoff_after_commit", default=None
)


async def _undo_enter(ctx: Any) -> None:
    """What Tortoise's `__aenter__` did before BEGIN failed, taken back.

    It sets the connection's context variable to the transaction and (PostgreSQL) takes a pool
    connection, or (SQLite) the connection's lock, before it sends BEGIN; when BEGIN fails (the
    server is down) `__aexit__` never runs, so later queries of the task ran on a transaction
    that never began and the lock or pool connection was never given back: the scheduler
    stalled after a PostgreSQL outage until it was restarted.
    """
    token = getattr(ctx, "token", None)
    if token is not None:
        with contextlib.suppress(Exception):
            get_connections().reset(token)
    client = getattr(ctx, "client", None)
    parent = getattr(client, "_parent", None)
    pool = getattr(parent, "_pool", None)
    connection = getattr(client, "_connection", None)
    if pool is not None and connection is not None:
        with contextlib.suppress(Exception):
            await pool.release(connection)
    lock = getattr(ctx, "_trxlock", None)
    if lock is not None and lock.locked():
        lock.release()


@contextlib.asynccontextmanager
async def atomic() -> AsyncIterator[TransactionalDBClient]:
    """`in_transaction()` for the default connection, safe against a failed BEGIN.

    Cached records it changes are dropped again when it ends (storage/record_cache.py).
    What `after_commit` was given inside it runs once the outermost one has committed.
    """
    pending = _AFTER_COMMIT.get()
    outermost = pending is None
    if pending is None:
        pending = []
    token = _AFTER_COMMIT.set(pending) if outermost else None
    mark = len(pending)
    try:
        with record_cache.transaction_scope():
            ctx = in_transaction()
            if isinstance(ctx, SqliteTransactionContext):
                ctx.connection.begin = _BeginAtOnce(ctx.connection)
            try:
                client = await ctx.__aenter__()
            except BaseException:
                await _undo_enter(ctx)
                raise
            try:
                yield client
            except BaseException as exc:
                await ctx.__aexit__(type(exc), exc, exc.__traceback__)
                raise
            await ctx.__aexit__(None, None, None)
    except BaseException:
        del pending[mark:]  # rolled back: what it would have shown did not happen
        raise
    finally:
        if token is not None:
            _AFTER_COMMIT.reset(token)
    if outermost:
        await _run_after_commit(pending)


async def after_commit(action: AfterCommit) -> None:
    """Run `action` once the enclosing transaction has committed; dropped if it rolls back.

    For what others see of a change (an event's card edited in place): sent before the commit,
    a process killed in between showed a change that never happened. Outside a transaction
    nothing waits: the action runs now."""
    pending = _AFTER_COMMIT.get()
    if pending is None:
        await _run_after_commit([action])
    else:
        pending.append(action)


async def _run_after_commit(actions: list[AfterCommit]) -> None:
    for action in actions:
        try:
            await action()
        except Exception:  # committed already: a failed follow-up must not undo the answer
            log.exception("an action after a commit failed")


class _BeginAtOnce:
    """SQLite's BEGIN in one hand-off to aiosqlite's thread, not two.

    Tortoise's `begin` first sends a COMMIT in case a transaction is open, and every call to
    aiosqlite is a trip to its thread and back (~0.05 ms idle, ~0.3 ms on a busy machine):
    here the connection's own flag says whether one is (it always is not: the connection runs
    in autocommit mode and this transaction holds its lock).
    """

    def __init__(self, wrapper: SqliteTransactionWrapper) -> None:
        self.wrapper = wrapper

    async def __call__(self) -> None:
        conn = self.wrapper._connection
        try:
            if conn.in_transaction:
                await conn.commit()
            await conn.execute("BEGIN")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


@contextlib.asynccontextmanager
async def durable(lock_wait_ms: int | None = None) -> AsyncIterator[TransactionalDBClient]:
    """`atomic()` whose commit is on disk before it returns, whatever the server's default.

    Used for the marks that make sends and answers exactly-once (a claim, "handed over"): a
    server run with `synchronous_commit = off` (tests, some tuned deployments) loses the last
    few hundred milliseconds of commits when it crashes, and a lost mark is a message sent twice.
    On PostgreSQL every connection of the pool runs with `synchronous_commit = on` from its
    start-up packet (`storage.database.SESSION_SETTINGS`), so every commit is durable and this
    sends nothing more (it used to send `SET LOCAL synchronous_commit TO on`: one round trip).
    `lock_wait_ms` bounds how long a statement waits on another transaction's row lock
    (PostgreSQL; SQLite has one writer and its own busy timeout); past it, `LockWaitRanOut`.
    """
    try:
        async with atomic() as conn:
            if lock_wait_ms is not None and is_postgres(conn):
                await conn.execute_script(f"SET LOCAL lock_timeout = {int(lock_wait_ms)}")
            yield conn
    except Exception as exc:  # Tortoise passes asyncpg's LockNotAvailableError on as is
        if lock_wait_ms is not None and lock_wait_ran_out(exc):
            raise LockWaitRanOut from exc
        raise


class LockWaitRanOut(Exception):
    """A `durable(lock_wait_ms=...)` statement waited that long on another transaction's row
    lock and gave up: the other process has the row."""


def lock_wait_ran_out(exc: BaseException) -> bool:
    """PostgreSQL's lock_timeout (SQLSTATE 55P03), however Tortoise wrapped it."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) == "55P03" or "lock timeout" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextlib.asynccontextmanager
async def durable_unless_inside() -> AsyncIterator[None]:
    """`durable()`, except inside a transaction: there the enclosing one's commit decides, and
    a nested savepoint would only cost two more round trips. Only for statements whose
    enclosing transaction is durable itself (`storage.incoming.handling`)."""
    if _in_a_transaction():
        yield
        return
    async with durable():
        yield


def _in_a_transaction() -> bool:
    """Whether the default connection is inside a transaction (its statements not committed yet)."""
    return isinstance(get_connections().get("default"), TransactionalDBClient)


@contextlib.asynccontextmanager
async def savepoint() -> AsyncIterator[None]:
    """Inside a transaction, a savepoint: an error raised in the block undoes only the block and
    leaves the transaction usable (PostgreSQL aborts a whole transaction on any failed
    statement). Outside one, nothing: each statement commits on its own, as before.

    Where a failed insert is expected and caught (a row created concurrently, a replayed
    event), the insert goes in one of these: a command's writes run inside the transaction
    that also stores its reply (storage.incoming).
    """
    if not _in_a_transaction():
        yield
        return
    async with in_transaction():
        yield


class Redoable:
    """Whether a block under `undone_on_error` failed in the transaction `redoable` marks."""

    def __init__(self) -> None:
        self.failed = False


_REDOABLE: contextvars.ContextVar[Redoable | None] = contextvars.ContextVar(
    "logoff_redoable", default=None
)


@contextlib.asynccontextmanager
async def redoable() -> AsyncIterator[Redoable]:
    """Inside a transaction: its owner rolls all of it back if a block under `undone_on_error`
    failed (see `failed`), and writes again, in a new transaction, what it must keep."""
    marks = Redoable()
    token = _REDOABLE.set(marks)
    try:
        yield marks
    finally:
        _REDOABLE.reset(token)


@contextlib.asynccontextmanager
async def undone_on_error() -> AsyncIterator[None]:
    """A block whose writes are taken back if it raises, while its transaction goes on.

    Inside `redoable()` (the handling transaction of an event) no savepoint is taken, which
    saves two round trips on every command: an error marks the transaction instead, and its
    owner rolls it all back. Inside another transaction a savepoint; outside one, nothing
    (each statement commits on its own)."""
    marks = _REDOABLE.get()
    if marks is None or not _in_a_transaction():
        async with savepoint():
            yield
        return
    try:
        yield
    except BaseException:
        marks.failed = True
        raise
