"""Consistent copies of a live database: SQLite's online backup API; PostgreSQL via pg_dump."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite:// URL, or None for memory or non-SQLite URLs."""
    if not url.startswith("sqlite://"):
        return None
    path = url.removeprefix("sqlite://").split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def _copy(source: Path, target: Path) -> int:
    if not source.exists():
        raise FileNotFoundError(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The online backup API copies page by page while the bot keeps writing; the result is a
    # consistent snapshot, unlike copying the file (which can catch a half-written WAL).
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=1024)
            dst.execute("PRAGMA journal_mode=DELETE")
            (count,) = dst.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table'"
            ).fetchone()
        finally:
            dst.close()
    finally:
        src.close()
    return int(count)


async def backup_sqlite(source: Path, target: Path) -> int:
    """Copy a live SQLite database to `target`; returns the number of tables copied."""
    tmp = target.with_name(target.name + ".partial")
    tables = await asyncio.to_thread(_copy, source, tmp)
    await asyncio.to_thread(tmp.replace, target)
    return tables
