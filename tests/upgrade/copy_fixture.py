"""Put a SQLite schema fixture's rows into a PostgreSQL database migrated to the same version."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from tortoise import connections
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from storage import database

SKIP = {"tortoise_migrations", "sqlite_sequence"}


async def migrate_to(url: str, version: str) -> None:
    """Migrate a fresh database to `version` exactly (later migrations not applied)."""
    config = database.tortoise_config(url)
    await database._init(config)
    try:
        executor = MigrationExecutor(connections.get("default"), config["apps"])
        await executor.migrate([MigrationTarget(app_label="logoff", name=version)])
    finally:
        await database.close_database()


def _value(value: Any, pg_type: str) -> Any:
    if value is None:
        return None
    if pg_type == "boolean":
        return bool(value)
    if pg_type.startswith("timestamp"):
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if pg_type == "date":
        return datetime.fromisoformat(value).date() if isinstance(value, str) else value
    if pg_type in ("jsonb", "json") and not isinstance(value, str):
        return str(value)
    return value


async def copy_rows(fixture: Path, url: str) -> None:
    """Copy every table's rows from the SQLite `fixture` into PostgreSQL at `url` (same schema)."""
    import asyncpg

    source = sqlite3.connect(fixture)
    target = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        tables = [
            row[0]
            for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if row[0] not in SKIP
        ]
        async with target.transaction():
            await target.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in tables:
                types = {
                    r["column_name"]: r["data_type"]
                    for r in await target.fetch(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = $1",
                        table,
                    )
                }
                cursor = source.execute(f'SELECT * FROM "{table}"')
                columns = [d[0] for d in cursor.description]
                rows = [
                    tuple(_value(v, types[c]) for v, c in zip(row, columns, strict=True))
                    for row in cursor
                ]
                if rows:
                    await target.copy_records_to_table(table, records=rows, columns=columns)
                if "id" in columns and rows:
                    await target.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT MAX(id) FROM "{table}"))'
                    )
    finally:
        source.close()
        await target.close()
