"""A row inserted unless its unique key exists: one statement, and no savepoint around it."""

from __future__ import annotations

import sqlite3
from typing import Any, TypeVar

from tortoise.connection import connections
from tortoise.models import Model

from storage.dialect import placeholders

# `RETURNING` needs SQLite 3.35 (PostgreSQL has it); below, callers keep their savepoint.
RETURNS = sqlite3.sqlite_version_info >= (3, 35)

M = TypeVar("M", bound=Model)


async def insert_new(model: type[M], key: tuple[str, ...], **values: Any) -> M | None:
    """`INSERT ... ON CONFLICT (key) DO NOTHING RETURNING *`: the new row, or None when a row
    with that key exists (made meanwhile by another event; on PostgreSQL another process's
    uncommitted insert makes this one wait for that transaction, then do nothing).

    A conflict is no error, so inside a transaction no savepoint is needed (PostgreSQL aborts
    a transaction on a failed statement): two round trips fewer than `create` in a savepoint.
    Columns left out get their model defaults, as `create` gives them."""
    meta = model._meta
    row = model(**values)  # the model's defaults, as `create` fills them in
    generated = set(meta.generated_db_fields)
    columns, params = [], []
    for name, column in meta.fields_db_projection.items():
        if column in generated:
            continue
        columns.append(f'"{column}"')
        params.append(meta.fields_map[name].to_db_value(getattr(row, name), row))
    conn = connections.get("default")
    conflict = ", ".join(f'"{k}"' for k in key)
    sql = (
        f'INSERT INTO "{meta.db_table}" ({", ".join(columns)}) '
        f"VALUES ({placeholders(conn, len(columns))}) "
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING *"
    )
    rows = await conn.execute_query_dict(sql, params)
    return model._init_from_db(**rows[0]) if rows else None
