"""A model's rows by equal columns in one fixed statement, bound, without Tortoise's query building.

`Model.get_or_none(a=..., b=...)` builds its SQL through pypika on every call (filters
resolved, terms and the statement's text made again): ~0.3 ms of Python for a one-row read
that SQLite answers in ~0.03 ms. The command path's fixed key reads (a participation, a
member, a check-in by its event, a group's weeks) use `first` / `rows` instead: the text
is made once per model, columns, order and dialect and kept; the row becomes a model
instance through Tortoise's own `_init_from_db`, converted as Tortoise converts it, so the
callers and their records are unchanged.
"""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.connection import connections
from tortoise.models import Model

from storage.dialect import is_postgres

M = TypeVar("M", bound=Model)

# (model, columns compared, order, limit, PostgreSQL?) -> statement text.
_TEXTS: dict[tuple[type[Model], tuple[str, ...], str, int | None, bool], str] = {}


def _text(
    model: type[Model], where: tuple[str, ...], order: str, limit: int | None, pg: bool
) -> str:
    key = (model, where, order, limit, pg)
    text = _TEXTS.get(key)
    if text is None:
        meta = model._meta
        picked = ", ".join(f'"{c}"' for c in meta.fields_db_projection.values())
        marks = [f"${n + 1}" if pg else "?" for n in range(len(where))]
        condition = " AND ".join(
            f'"{meta.fields_db_projection[name]}" = {mark}'
            for name, mark in zip(where, marks, strict=True)
        )
        text = f'SELECT {picked} FROM "{meta.db_table}" WHERE {condition}'
        if order:
            column = meta.fields_db_projection[order.lstrip("-")]
            text += f' ORDER BY "{column}"' + (" DESC" if order.startswith("-") else "")
        if limit is not None:
            text += f" LIMIT {int(limit)}"
        _TEXTS[key] = text
    return text


async def rows(
    model: type[M], *, order: str = "", limit: int | None = None, **where: Any
) -> list[M]:
    """The rows whose fields equal `where` (field names, as in `filter`), in `order` (a field,
    `-` first for descending), at most `limit`."""
    conn = connections.get("default")
    names = tuple(where)
    fields = model._meta.fields_map
    params = [fields[name].to_db_value(where[name], model) for name in names]
    found = await conn.execute_query_dict(
        _text(model, names, order, limit, is_postgres(conn)), params
    )
    return [model._init_from_db(**row) for row in found]


async def first(model: type[M], **where: Any) -> M | None:
    """The row whose unique key equals `where` (`get_or_none` on a unique key), or None."""
    found = await rows(model, limit=1, **where)
    return found[0] if found else None
