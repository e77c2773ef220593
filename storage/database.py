"""Database set-up: Tortoise configuration from a URL, migrations, the unmigrated-schema guard."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.connection import get_connection

from storage import record_cache
from storage.errors import DatabaseUnavailable, SchemaNotMigrated

APP = "logoff"
MIGRATE_HINT = "logoff migrate"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATIONS_TABLE = "tortoise_migrations"  # Tortoise's recorder's table


def tortoise_config(url: str) -> dict[str, Any]:
    """The Tortoise config dict for a database URL (sqlite://PATH or postgres://...)."""
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    connection: str | dict[str, Any] = url
    if url.startswith("postgres://"):
        connection = _postgres_connection(url)
    return {
        "connections": {"default": connection},
        "apps": {
            APP: {
                "models": ["storage.models"],
                "migrations": "storage.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# Every connection of the pool commits durably (issue 15, pg17): sent once in the start-up
# packet, so it is the session's own default (a `RESET ALL` keeps it), instead of a
# `SET LOCAL synchronous_commit TO on` round trip in every durable transaction.
SESSION_SETTINGS = {"synchronous_commit": "on"}


def _postgres_connection(url: str) -> dict[str, Any]:
    """Tortoise's credentials for a postgres:// URL, with the session settings above and a pool
    that gives connections back without asyncpg's reset query (see `_keep_session`)."""
    from tortoise.backends.base.config_generator import expand_db_url

    connection = expand_db_url(url)
    credentials = connection["credentials"]
    credentials["server_settings"] = {
        **(credentials.get("server_settings") or {}),
        **SESSION_SETTINGS,
    }
    credentials["reset"] = _keep_session
    return connection


async def _keep_session(_connection: Any) -> None:
    """A pool connection given back: nothing to send (asyncpg has already rolled back a
    transaction left open). Its default reset (`SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL;`) is one more round trip after every statement run outside a
    transaction and after every transaction, for state Logoff never leaves on a pool
    connection: no session `SET` (only `SET LOCAL`, gone at the transaction's end), no
    advisory locks, no cursors, no LISTEN (the record cache listens on a connection of its
    own). Keep it so: tests/integration/test_pool_session.py checks a used connection."""


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite://")


PRIVATE = 0o600
PRIVATE_DIR = 0o700


def create_private_dir(path: Path) -> None:
    """Make `path` (and missing parents) if absent; the folder itself is created mode 700: the
    data directory holds the database, tokens and keys. An existing folder keeps its mode."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)


def create_private_file(path: Path) -> None:
    """Create (or empty) `path` readable and writable by its owner only, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    os.close(fd)
    path.chmod(PRIVATE)


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite:// URL, or None for memory or non-SQLite URLs."""
    if not url.startswith("sqlite://"):
        return None
    path = url.removeprefix("sqlite://").split("?", 1)[0]
    if not path or ":memory:" in path:
        return None
    return Path(path)


def _ensure_sqlite_dir(url: str) -> None:
    """SQLite cannot create a missing directory (aiosqlite then waits forever): make it.

    A new database file is created mode 600 (SQLite gives its journal files the same mode):
    it holds who pledged what, and the process umask is often 022.
    """
    path = sqlite_path(url)
    if path is None:
        return
    create_private_dir(path.parent)
    if not path.exists():
        create_private_file(path)


async def _init(config: dict[str, Any]) -> None:
    _ensure_sqlite_dir(str(config["connections"]["default"]))
    # A global fallback context: platform libraries run callbacks in tasks of their own, and
    # every one of them must reach the same connections.
    await Tortoise.init(config=config, _enable_global_fallback=True)
    # Cached records (storage/record_cache.py): on at once on SQLite, on PostgreSQL once LISTEN is.
    await record_cache.attach(get_connection("default"))


async def _all_recorded() -> bool:
    """True when every migration file is recorded as applied: the usual start, answered with
    one query instead of Tortoise's migration machinery (executor, graph, loader, the schema
    editor of every backend it supports: ~0.9 MiB of imports kept for the life of the process).
    The files are the ones Tortoise's loader takes (modules not starting with "_" or "~")."""
    files = {path.stem for path in MIGRATIONS.glob("*.py") if path.name[0] not in "_~"}
    try:
        _, rows = await get_connection("default").execute_query(
            f'SELECT "app", "name" FROM "{MIGRATIONS_TABLE}"'  # nosec B608 - constants only
        )
    except Exception:  # no table yet (never migrated): the full plan says what is pending
        return False
    return files <= {row["name"] for row in rows if row["app"] == APP}


async def _pending_migrations(url: str) -> list[str]:
    if await _all_recorded():
        return []
    from tortoise.migrations.executor import MigrationExecutor

    config = tortoise_config(url)
    executor = MigrationExecutor(get_connection("default"), config["apps"])
    steps = await executor.plan(None)
    return [f"{step.migration.app_label}.{step.migration.name}" for step in steps]


async def _tune_sqlite() -> None:
    conn = get_connection("default")
    # WAL lets readers (summaries, exports) run while the scheduler writes.
    await conn.execute_script("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")


async def open_database(url: str, *, require_migrated: bool = True) -> None:
    """Connect; refuse to go on when migrations are pending (the message names the fix)."""
    await _init(tortoise_config(url))
    if is_sqlite(url) and ":memory:" not in url:
        await _tune_sqlite()
    if require_migrated:
        # Tortoise's migration recorder reads an unreachable database as "nothing applied":
        # look first, so a stopped server is not reported as an unmigrated schema.
        try:
            await get_connection("default").execute_query("SELECT 1")
        except Exception as exc:
            await close_database()
            raise DatabaseUnavailable(
                f"Cannot reach the database ({type(exc).__name__}: {exc}); is it running?"
            ) from exc
        pending = await _pending_migrations(url)
        if pending:
            await close_database()
            raise SchemaNotMigrated(
                f"The database schema is not up to date ({len(pending)} migration(s) pending: "
                f"{', '.join(pending)}). Run `{MIGRATE_HINT}` first, then start the bot again."
            )


async def create_schema_for_tests(url: str = "sqlite://:memory:") -> None:
    """Create tables directly from the models: for tests and the in-memory sandbox only."""
    await _init(tortoise_config(url))
    await Tortoise.generate_schemas(safe=True)


async def migrate(url: str, *, keep_open: bool = False) -> list[str]:
    """Apply every pending migration; returns the names applied (`keep_open` for in-memory use)."""
    config = tortoise_config(url)
    await _init(config)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    from tortoise.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(get_connection("default"), config["apps"])
    try:
        await executor.migrate(None, progress=progress)
    except BaseException:
        await close_database()
        raise
    if is_sqlite(url) and ":memory:" not in url:
        await _tune_sqlite()
    if not keep_open:
        await close_database()
    return applied


async def close_database() -> None:
    with contextlib.suppress(Exception):
        await record_cache.detach()
    with contextlib.suppress(Exception):
        await Tortoise.close_connections()
    clear_sql_cache()


def clear_sql_cache() -> None:
    """Tortoise caches compiled SQL without the dialect in the key; clear it between backends."""
    from tortoise.backends.base import executor

    cache = getattr(executor, "EXECUTOR_CACHE", None)
    if isinstance(cache, dict):
        cache.clear()
