"""The engine's one-writer-at-a-time lock, which the task holding it may take again."""

from __future__ import annotations

import asyncio
from types import TracebackType


class WriterLock:
    """An asyncio lock that the task holding it may enter again.

    The engine takes it around every command, tap and close. `EventClaims.handle_once` takes
    it first, before the transaction it handles the event in: taken the other way round, a
    command holding the transaction (SQLite: the connection's only lock; PostgreSQL: row
    locks) would wait for this lock while the scheduler, holding this lock in
    `Engine.close_due`, waited for the database.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0

    async def __aenter__(self) -> None:
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            self._depth += 1
            return
        await self._lock.acquire()
        self._owner, self._depth = task, 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()
