"""Backups and restores: one portable format (a SQLite file) for a SQLite or PostgreSQL database.

A backup is always a SQLite database at some schema version, whichever backend it came from:
SQLite is copied with its online backup API, PostgreSQL table by table inside one snapshot
transaction into a SQLite file migrated to the same version. `restore` stages the backup next
to the target, migrates the staged copy to the code's schema, and then either moves it into
place (SQLite) or loads it into PostgreSQL in one transaction, so a failed restore changes
nothing. Every file written is mode 600 and goes through a `.partial` name removed on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]  # no stubs; only its error types are used
from tortoise.connection import get_connection
from tortoise.exceptions import BaseORMException
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from tortoise.migrations.loader import MigrationLoader

from storage import database, record_cache
from storage.database import sqlite_path
from storage.errors import DatabaseUnavailable, StorageError

MIGRATIONS_TABLE = "tortoise_migrations"
BATCH = 1000
# The database is idle while it is restored; a lock it cannot take means the bot still runs.
LOCK_TIMEOUT = "10s"


class BackupError(StorageError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    path: Path
    tables: int
    rows: int
    version: str  # the newest migration in it


@dataclass(frozen=True)
class Restored:
    tables: int
    rows: int
    version: str  # the backup's newest migration
    migrated: tuple[str, ...]  # migrations applied to it after it was restored
    saved: Path | None  # where the database it replaced was saved first


def code_migrations() -> list[str]:
    """Names of the migrations this code ships, oldest first (they are numbered)."""
    loader = MigrationLoader(database.tortoise_config("sqlite://:memory:")["apps"], cast(Any, None))
    loader.load_disk()
    return sorted(key.name for key in loader.disk_migrations if key.app_label == database.APP)


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def _remove_sqlite_files(path: Path) -> None:
    """Remove a SQLite file and the journal files SQLite may have left beside it."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


@contextlib.contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """A `.partial` file beside `path`: moved over `path` by the caller, or removed on failure."""
    partial = _partial(path)
    _remove_sqlite_files(partial)
    database.create_private_file(partial)
    try:
        yield partial
    finally:
        _remove_sqlite_files(partial)


def check_target(target: Path) -> None:
    """A backup goes to a new or replaceable file in a folder that exists."""
    if target.is_dir():
        raise BackupError(
            f"{target} is a folder; give the backup a file name, e.g. {target / 'logoff.backup.db'}"
        )
    folder = target.parent
    if not folder.is_dir():
        raise BackupError(
            f"The folder {folder} does not exist; create it first (mkdir -p {folder}) "
            "or give another path."
        )
    if not os.access(folder, os.W_OK):
        raise BackupError(f"The folder {folder} is not writable by this user.")


# --- reading a SQLite file ---------------------------------------------------------------


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    return sqlite3.connect(path)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return sorted(str(name) for (name,) in rows)


def _data_tables(conn: sqlite3.Connection) -> list[str]:
    """The data tables in the order their foreign keys need (referenced tables first)."""
    tables = [t for t in _tables(conn) if t != MIGRATIONS_TABLE]
    graph = {
        t: {str(fk[2]) for fk in conn.execute(f"PRAGMA foreign_key_list({_quote(t)})")} - {t}
        for t in tables
    }
    return list(TopologicalSorter(graph).static_order())


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f"PRAGMA table_info({_quote(table)})")]


def _applied(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        f"SELECT name FROM {MIGRATIONS_TABLE} WHERE app = ? ORDER BY name", (database.APP,)
    ).fetchall()
    return [str(name) for (name,) in rows]


def _count(conn: sqlite3.Connection, tables: list[str]) -> int:
    return sum(int(conn.execute(f"SELECT count(*) FROM {_quote(t)}").fetchone()[0]) for t in tables)


def read_backup(path: Path) -> tuple[list[str], int]:
    """The migrations a backup file was made at and its number of rows; refuses anything else."""
    if path.is_dir():
        raise BackupError(f"{path} is a folder, not a backup file.")
    if not path.is_file():
        raise BackupError(f"There is no backup at {path}.")
    with path.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{path} is not a Logoff backup (not a SQLite file).")
    conn = _connect(path, readonly=True)
    try:
        if conn.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise BackupError(f"{path} is damaged (SQLite's integrity check failed).")
        if MIGRATIONS_TABLE not in _tables(conn):
            raise BackupError(f"{path} is not a Logoff backup (it has no migration table).")
        applied = _applied(conn)
        rows = _count(conn, _data_tables(conn))
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} cannot be read as a backup: {exc}") from exc
    finally:
        conn.close()
    if not applied:
        raise BackupError(f"{path} is not a Logoff backup (no Logoff migration was applied to it).")
    return applied, rows


def check_version(applied: list[str], what: str) -> str:
    """The newest migration of `applied`, once it is known to be a history this code continues."""
    known = code_migrations()
    newer = [name for name in applied if name not in known]
    if newer:
        raise BackupError(
            f"{what} was made by a newer Logoff (it has migration {', '.join(newer)}, which this "
            f"version does not know; its newest is {known[-1]}). Upgrade Logoff first."
        )
    if applied != known[: len(applied)]:
        raise BackupError(
            f"{what} has the migrations {', '.join(applied)}, which is not a history this "
            f"version's migrations ({', '.join(known)}) continue."
        )
    return applied[-1]


# --- backup ------------------------------------------------------------------------------


def _copy_sqlite(source: Path, target: Path) -> int:
    # The online backup API copies page by page while the bot keeps writing; the result is a
    # consistent snapshot, unlike copying the file (which can catch a half-written WAL).
    src = _connect(source, readonly=True)
    try:
        dst = _connect(target)
        try:
            src.backup(dst, pages=1024)
            dst.execute("PRAGMA journal_mode=DELETE")
            return len(_tables(dst))
        finally:
            dst.close()
    finally:
        src.close()


def _backup_sqlite(source: Path, target: Path) -> int:
    check_target(target)
    if not source.is_file():
        raise FileNotFoundError(source)
    with _staged(target) as partial:
        tables = _copy_sqlite(source, partial)
        partial.replace(target)
    return tables


async def backup_sqlite(source: Path, target: Path) -> int:
    """Copy a live SQLite database to `target` (mode 600); returns the number of tables."""
    return await asyncio.to_thread(_backup_sqlite, source, target)


def _check_sqlite_source(source: Path, target: Path) -> None:
    if source.resolve() == target.resolve():
        raise BackupError(f"{target} is the database itself; give another path.")
    if not source.is_file():
        raise BackupError(f"There is no database at {source} yet (run `logoff migrate`).")


async def backup(url: str, target: Path) -> Backup:
    """Write a backup of the database at `url` to `target`, a SQLite file (mode 600)."""
    check_target(target)
    source = sqlite_path(url)
    if source is not None:
        _check_sqlite_source(source, target)
        await backup_sqlite(source, target)
    elif database.is_sqlite(url):
        raise BackupError("An in-memory database cannot be backed up.")
    else:
        await _backup_postgres(url, target)
    applied, rows = read_backup(target)
    conn = _connect(target, readonly=True)
    try:
        tables = len(_data_tables(conn))
    finally:
        conn.close()
    return Backup(path=target, tables=tables, rows=rows, version=applied[-1])


# What connecting to or reading a PostgreSQL server raises when it is down or refuses us.
UNREACHABLE = (OSError, TimeoutError, asyncpg.PostgresError, BaseORMException)


def _unreachable(exc: BaseException) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"Cannot use the database ({type(exc).__name__}: {exc}).")


async def _open(url: str) -> Any:
    """Connect without the migration guard; returns Tortoise's client for the URL."""
    await database.open_database(url, require_migrated=False)
    return get_connection("default")


async def _postgres_migrations(raw: Any) -> list[str] | None:
    """The Logoff migrations applied to a PostgreSQL database, or None without the table."""
    exists = await raw.fetchval("SELECT to_regclass($1) IS NOT NULL", MIGRATIONS_TABLE)
    if not exists:
        return None
    rows = await raw.fetch(
        f"SELECT name FROM {MIGRATIONS_TABLE} WHERE app = $1 ORDER BY name", database.APP
    )
    return [str(r["name"]) for r in rows]


async def _migrate_sqlite_to(path: Path, version: str | None) -> list[str]:
    """Apply this code's migrations to a SQLite file, up to `version` (None: all of them)."""
    url = f"sqlite://{path}"
    if version is None:
        return await database.migrate(url)
    config = database.tortoise_config(url)
    await database.open_database(url, require_migrated=False)
    try:
        executor = MigrationExecutor(get_connection("default"), config["apps"])
        await executor.migrate([MigrationTarget(database.APP, version)])
    finally:
        await database.close_database()
    return []


def _to_sqlite(value: Any) -> Any:
    """A value read from PostgreSQL as Tortoise stores it in SQLite."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(" ") if value.tzinfo else value.isoformat(" ")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


async def _backup_postgres(url: str, target: Path) -> None:
    try:
        client = await _open(url)
        async with client.acquire_connection() as raw:
            applied = await _postgres_migrations(raw)
    except UNREACHABLE as exc:
        raise _unreachable(exc) from exc
    finally:
        await database.close_database()
    if not applied:
        raise BackupError("There is no Logoff database there yet (run `logoff migrate`).")
    version = check_version(applied, "The database")
    with _staged(target) as partial:
        await _migrate_sqlite_to(partial, version)
        dst = _connect(partial)
        try:
            tables = _data_tables(dst)
            try:
                client = await _open(url)
                async with client.acquire_connection() as raw:
                    await _copy_postgres_rows(raw, dst, tables, applied)
            finally:
                await database.close_database()
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
        partial.replace(target)


async def _copy_postgres_rows(
    raw: Any, dst: sqlite3.Connection, tables: list[str], applied: list[str]
) -> None:
    """Every row of `tables`, read in one snapshot, into the SQLite file `dst`."""
    async with raw.transaction(isolation="repeatable_read", readonly=True):
        if await _postgres_migrations(raw) != applied:
            raise BackupError("The database was migrated during the backup; run it again.")
        for table in tables:
            columns = _columns(dst, table)
            names = ", ".join(_quote(c) for c in columns)
            marks = ", ".join("?" for _ in columns)
            insert = f"INSERT INTO {_quote(table)} ({names}) VALUES ({marks})"
            batch: list[tuple[Any, ...]] = []
            async for record in raw.cursor(f"SELECT {names} FROM {_quote(table)}", prefetch=BATCH):
                batch.append(tuple(_to_sqlite(v) for v in record.values()))
                if len(batch) >= BATCH:
                    dst.executemany(insert, batch)
                    batch.clear()
            dst.executemany(insert, batch)
            used = await _id_counter(raw, table)
            if used:
                # Keep what the counter had reached, so ids of deleted rows are never reused.
                dst.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
                dst.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, used))
    dst.commit()


async def _id_sequence(raw: Any, table: str) -> str | None:
    """The sequence behind `table`'s serial id column, if it has one."""
    has_id = await raw.fetchval(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = $1 AND column_name = 'id'",
        table,
    )
    if not has_id:
        return None
    seq = await raw.fetchval("SELECT pg_get_serial_sequence(quote_ident($1), 'id')", table)
    return str(seq) if seq else None


async def _id_counter(raw: Any, table: str) -> int:
    """The last id `table`'s counter handed out (0 when it never did)."""
    seq = await _id_sequence(raw, table)
    if seq is None:
        return 0
    row = await raw.fetchrow(f"SELECT last_value, is_called FROM {seq}")
    return int(row["last_value"]) if row["is_called"] else 0


# --- restore -----------------------------------------------------------------------------


async def restore(url: str, source: Path, *, work_dir: Path, force: bool = False) -> Restored:
    """Replace the database at `url` with the backup at `source`.

    Refuses a database that already holds data unless `force` (then it is saved first, to a
    backup in `work_dir`), and a backup from a newer schema; an older one is migrated.
    """
    applied, _ = read_backup(source)
    version = check_version(applied, f"The backup {source}")
    target = sqlite_path(url)
    if target is not None:
        return await _restore_sqlite(source, target, version, work_dir=work_dir, force=force)
    if database.is_sqlite(url):
        raise BackupError("An in-memory database cannot be restored into.")
    return await _restore_postgres(url, source, version, work_dir=work_dir, force=force)


def _saved_name(work_dir: Path) -> Path:
    work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return work_dir / f"logoff-before-restore-{stamp}.db"


def _refuse_live(where: str, source: Path, rows: int, others: int = 0) -> None:
    why = []
    if rows:
        why.append(f"it already holds data ({rows} rows)")
    if others:
        why.append(f"{others} other session(s) are connected to it (is the bot still running?)")
    raise BackupError(
        f"Not restoring over {where}: {' and '.join(why)}. Stop the bot, then run "
        f"`logoff restore --force {source}` to replace it (it is saved to a backup first)."
    )


def _sqlite_rows(path: Path) -> int:
    """Rows in the data tables of the SQLite database at `path` (0 for an empty one)."""
    try:
        conn = _connect(path, readonly=True)
        try:
            return _count(conn, _data_tables(conn)) if MIGRATIONS_TABLE in _tables(conn) else 0
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"{path} is not a database Logoff can read ({exc}); move it away first."
        ) from exc


def _sqlite_target_rows(source: Path, target: Path) -> int:
    """Check the file a SQLite restore replaces; returns the rows it holds now."""
    if target.is_dir():
        raise BackupError(f"The database path {target} is a folder; fix database.url.")
    if source.resolve() == target.resolve():
        raise BackupError(f"{source} is the database itself; nothing to restore.")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return _sqlite_rows(target) if target.is_file() else 0


async def _restore_sqlite(
    source: Path, target: Path, version: str, *, work_dir: Path, force: bool
) -> Restored:
    rows_now = _sqlite_target_rows(source, target)
    if rows_now and not force:
        _refuse_live(str(target), source, rows_now)
    with _staged(target) as staged:
        _copy_sqlite(source, staged)
        migrated = await _migrate_sqlite_to(staged, None)
        conn = _connect(staged, readonly=True)
        try:
            tables = len(_data_tables(conn))
            rows = _count(conn, _data_tables(conn))
        finally:
            conn.close()
        saved = None
        if rows_now:
            saved = _saved_name(work_dir)
            await backup_sqlite(target, saved)
        # A journal left beside the old file would be replayed into the new one.
        for suffix in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                target.with_name(target.name + suffix).unlink()
        staged.replace(target)
    return Restored(tables, rows, version, tuple(migrated), saved)


async def _postgres_state(url: str, tables: list[str]) -> tuple[list[str] | None, int, int]:
    """The target's migrations, its rows in `tables`, and how many other sessions use it."""
    try:
        client = await _open(url)
        async with client.acquire_connection() as raw:
            applied = await _postgres_migrations(raw)
            rows = 0
            for table in tables:
                if await raw.fetchval("SELECT to_regclass($1) IS NOT NULL", _quote(table)):
                    rows += int(await raw.fetchval(f"SELECT count(*) FROM {_quote(table)}"))
            others = int(
                await raw.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                    "AND pid <> ALL($1::int[])",
                    record_cache.own_sessions(),
                )
            )
    except UNREACHABLE as exc:
        raise _unreachable(exc) from exc
    finally:
        await database.close_database()
    return applied, rows, others


def _work_file(work_dir: Path) -> Path:
    work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return work_dir / f".restore-{uuid.uuid4().hex[:8]}.db"


async def _restore_postgres(
    url: str, source: Path, version: str, *, work_dir: Path, force: bool
) -> Restored:
    with _staged(_work_file(work_dir)) as staged:
        _copy_sqlite(source, staged)
        migrated = await _migrate_sqlite_to(staged, None)
        src = _connect(staged, readonly=True)
        try:
            tables = _data_tables(src)
            applied, rows_now, others = await _postgres_state(url, tables)
            if applied:
                check_version(applied, "The database")
            if (rows_now or others) and not force:
                _refuse_live("the PostgreSQL database", source, rows_now, others)
            saved = None
            if rows_now:
                saved = _saved_name(work_dir)
                await backup(url, saved)
            await database.migrate(url)
            try:
                client = await _open(url)
                async with client.acquire_connection() as raw:
                    rows = await _load_postgres(raw, src, tables)
            finally:
                await database.close_database()
        finally:
            src.close()
    return Restored(len(tables), rows, version, tuple(migrated), saved)


async def _column_types(raw: Any, table: str) -> dict[str, str]:
    rows = await raw.fetch(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = $1",
        table,
    )
    return {str(r["column_name"]): str(r["data_type"]) for r in rows}


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# How each PostgreSQL column type takes a value as Tortoise stores it in SQLite.
_FROM_SQLITE: dict[str, Any] = {
    "boolean": bool,
    "smallint": int,
    "integer": int,
    "bigint": int,
    "real": float,
    "double precision": float,
    "numeric": lambda v: Decimal(str(v)),
    "character varying": str,
    "character": str,
    "text": str,
    "json": str,
    "jsonb": str,
    "uuid": lambda v: uuid.UUID(str(v)),
    "date": lambda v: date.fromisoformat(str(v)),
    "time without time zone": lambda v: time.fromisoformat(str(v)),
    "timestamp with time zone": lambda v: _parse_datetime(str(v)),
    "timestamp without time zone": lambda v: _parse_datetime(str(v)).replace(tzinfo=None),
    "bytea": bytes,
}


def _converters(table: str, columns: list[str], types: dict[str, str]) -> list[Any]:
    missing = [c for c in columns if c not in types]
    if missing:
        raise BackupError(
            f"The PostgreSQL table {table} has no column {', '.join(missing)}: its schema is not "
            "the one the migrations make. Restore into an empty database."
        )
    unknown = [f"{c} ({types[c]})" for c in columns if types[c] not in _FROM_SQLITE]
    if unknown:
        raise BackupError(f"Cannot restore {table}: no conversion for {', '.join(unknown)}.")
    return [_FROM_SQLITE[types[c]] for c in columns]


async def _load_postgres(raw: Any, src: sqlite3.Connection, tables: list[str]) -> int:
    """Replace the rows of `tables` with the staged backup's, in one transaction."""
    total = 0
    async with raw.transaction():
        await raw.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        await raw.execute(
            f"TRUNCATE {', '.join(_quote(t) for t in tables)} RESTART IDENTITY CASCADE"
        )
        for table in tables:
            columns = _columns(src, table)
            convert = _converters(table, columns, await _column_types(raw, table))
            names = ", ".join(_quote(c) for c in columns)
            cursor = src.execute(f"SELECT {names} FROM {_quote(table)}")
            while batch := cursor.fetchmany(BATCH):
                records = [
                    tuple(None if v is None else f(v) for f, v in zip(convert, row, strict=True))
                    for row in batch
                ]
                await raw.copy_records_to_table(table, records=records, columns=columns)
                total += len(records)
            await _restart_ids(raw, src, table)
    return total


async def _restart_ids(raw: Any, src: sqlite3.Connection, table: str) -> None:
    """The id counter continues after the restored rows (and after what the backup had used)."""
    seq = await _id_sequence(raw, table)
    if seq is None:
        return
    found = src.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    top = await raw.fetchval(f"SELECT max(id) FROM {_quote(table)}")
    last = max(int(top or 0), int(found[0]) if found else 0)
    if last:
        await raw.execute("SELECT setval($1, $2, true)", seq, last)
