"""The warm-up after ready: SQLite's first commit made by it, not by the first command."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app.bootstrap import _warm_up
from storage import database
from storage.warm_up import warm_up
from tests.support.session import open_session
from tests.support.snapshot import snapshot

START = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def _log_size(db: Path) -> int:
    """Bytes in the write-ahead log beside `db` (0 when SQLite has not started one)."""
    wal = db.with_name(db.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def _user_version(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


async def test_the_warm_up_starts_the_write_ahead_log_and_changes_nothing(tmp_path: Path):
    db = tmp_path / "logoff.db"
    await database.migrate(f"sqlite://{db}")  # closed again: the log is checkpointed away
    version = _user_version(db)
    await database.open_database(f"sqlite://{db}")
    try:
        assert _log_size(db) == 0
        await warm_up()
        assert _log_size(db) > 0  # its header written and synced: the first commit made
    finally:
        await database.close_database()
    assert _user_version(db) == version


async def test_the_warm_up_waits_for_the_bot_to_be_connected(tmp_path: Path):
    db = tmp_path / "logoff.db"
    await database.migrate(f"sqlite://{db}")
    await database.open_database(f"sqlite://{db}")
    try:
        connected = asyncio.Event()
        warming = asyncio.create_task(_warm_up(connected))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not warming.done()
        assert _log_size(db) == 0  # nothing yet: ready (the first sync) is not competed with
        connected.set()
        await warming
        assert _log_size(db) > 0
    finally:
        await database.close_database()


async def test_the_warm_up_changes_no_row_on_either_backend(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" times 2 per week')
        await s.say("!done 1")
        before = await snapshot()
        await warm_up()
        assert await snapshot() == before
        reply = await s.say("!done 1")  # and the next command's transaction works as before
        assert "2/2" in reply
