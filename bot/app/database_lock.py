"""One `logoff run` per SQLite file: a lock file beside the database, held while serving."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from bot.errors import StartRefused
from bot.file_lock import FileLock
from storage.database import sqlite_path


class DatabaseInUse(StartRefused):
    """Another live process serves from this SQLite file."""


def lock_path(database: Path) -> Path:
    """Beside the file itself (a relative or linked path names the same lock)."""
    real = database.resolve()
    return real.with_name(real.name + ".lock")


def acquire(url: str) -> FileLock | None:
    """Lock a SQLite URL's file for this process (None: not a SQLite file, nothing to lock).

    SQLite lets two processes open one file, and each would then send every reminder and
    answer every command (the data directory's lock does not see a second directory, and the
    record cache assumes it is the only writer). PostgreSQL is made for several processes."""
    database = sqlite_path(url)
    if database is None:
        return None
    lock = FileLock(lock_path(database))
    if not lock.acquire():
        holder = lock.read()
        by = f"process {holder}; " if holder.isdigit() else ""
        raise DatabaseInUse(
            f"Another Logoff process is using the SQLite database {database.resolve()} "
            f"({by}its lock: {lock.path}). A SQLite database serves one process: two would "
            "send every reminder twice. Stop the other process, or give this one a database "
            "of its own ([database] url, or its own [bot] data_dir where no url is set); "
            "several processes can share one PostgreSQL database, each with its own data_dir."
        )
    lock.write(str(os.getpid()))
    return lock


@contextlib.asynccontextmanager
async def held(url: str) -> AsyncIterator[None]:
    """`acquire` for as long as the block runs (or DatabaseInUse before it starts)."""
    lock = acquire(url)
    try:
        yield
    finally:
        if lock is not None:
            lock.release()
