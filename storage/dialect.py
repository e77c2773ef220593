"""Which SQL dialect a database connection speaks, for the few statements that differ."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.connection import connections


def is_postgres(conn: Any | None = None) -> bool:
    """True when `conn` (the default connection when None) talks to PostgreSQL."""
    client = connections.get("default") if conn is None else conn
    return str(client.capabilities.dialect) == "postgres"


def placeholders(conn: Any, count: int, first: int = 1) -> str:
    """`count` bound-parameter marks in the connection's style: `$1, $2` or `?, ?` (`first`:
    the number of the first one on PostgreSQL, after the statement's earlier parameters)."""
    if is_postgres(conn):
        return ", ".join(f"${n + first}" for n in range(count))
    return ", ".join("?" for _ in range(count))


def one_of(conn: Any, column: str, values: Sequence[Any], first: int = 1) -> tuple[str, list[Any]]:
    """`column` is one of `values`, bound: `column = ANY($first)` with one array parameter on
    PostgreSQL (one statement text whatever the count, so asyncpg's prepared statement and
    its plan are reused), `column IN (?, ...)` on SQLite. Returns (condition, parameters)."""
    if is_postgres(conn):
        return f"{column} = ANY(${first})", [list(values)]
    return f"{column} IN ({placeholders(conn, len(values))})", list(values)
