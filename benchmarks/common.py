"""Shared set-up for the benchmarks: bulk-loaded groups, a null Outbox, a throwaway PostgreSQL."""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.messages.replies import Reply
from storage import models as m
from storage.records import GroupRec, MemberRec

T = TypeVar("T")

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
SLOT = "wed 18:00"


class NullOutbox:
    """Accepts everything at once: what is measured is the bot, not a platform."""

    def __init__(self) -> None:
        self.messages = 0
        self.mentions = 0

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str:
        self.messages += 1
        self.mentions += len(reply.mentions)
        return f"null-{self.messages}"

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        return await self.send_to_group(fallback, reply)  # type: ignore[arg-type]

    async def find_sent(self, key: str, group: GroupRec, member: MemberRec | None) -> str | None:
        return None


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def load_groups(groups: int, per_group: int) -> None:
    """`groups` groups, each with one weekly pledge (slot wed 18:00) and `per_group` members."""
    await m.Group.bulk_create(
        [
            m.Group(
                platform="bench",
                external_id=f"g{g}",
                name=f"Group {g}",
                timezone="UTC",
                summary_slot="mon 18:00",
                prompt_slot="sun 18:00",
                quiet_hours="22:00-08:00",
                created_at=START,
            )
            for g in range(groups)
        ],
        batch_size=1000,
    )
    ids = [g.id for g in await m.Group.all().order_by("id")]
    await m.Pledge.bulk_create(
        [
            m.Pledge(
                group_id=gid,
                number=1,
                title="Call a neighbour",
                cadence="week",
                remind_slot=SLOT,
                created_at=START,
            )
            for gid in ids
        ],
        batch_size=1000,
    )
    pledges = [p.id for p in await m.Pledge.all().order_by("id")]
    total = groups * per_group
    await m.Member.bulk_create(
        [
            m.Member(
                platform="bench", external_id=f"u{i}", display_name=f"user{i}", created_at=START
            )
            for i in range(total)
        ],
        batch_size=5000,
    )
    members = [x.id for x in await m.Member.all().order_by("id")]
    await m.Participation.bulk_create(
        [
            m.Participation(
                pledge_id=pledges[i // per_group],
                member_id=members[i],
                joined_at=START,
                first_period="week:2026-11-23",
                next_close_at=datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
            )
            for i in range(total)
        ],
        batch_size=5000,
    )


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (tests/services/postgres.py); yields a database URL."""
    from tests.services.postgres import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        yield server.create_database("logoff_bench")
    finally:
        server.stop()


class StatementCounter:
    """Counts SQL statements sent through Tortoise while active (`with StatementCounter() as c`).

    Patches every client class's execute methods (transaction wrappers are subclasses), with a
    depth guard: one method may call another of the same client, and that is one statement.
    """

    METHODS = ("execute_insert", "execute_many", "execute_query", "execute_query_dict")

    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []
        self._depth = 0
        self._saved: list[tuple[type, str, object]] = []

    def _wrap(self, fn: Any) -> Any:
        async def counted(client: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if self._depth == 0:
                self.count += 1
                self.statements.append(query[:120])
            self._depth += 1
            try:
                return await fn(client, query, *args, **kwargs)
            finally:
                self._depth -= 1

        return counted

    def __enter__(self) -> StatementCounter:
        from tortoise.backends.base.client import BaseDBAsyncClient

        todo: list[type] = [BaseDBAsyncClient]
        while todo:
            cls = todo.pop()
            todo.extend(cls.__subclasses__())
            for name in self.METHODS:
                if name in cls.__dict__:
                    self._saved.append((cls, name, cls.__dict__[name]))
                    setattr(cls, name, self._wrap(cls.__dict__[name]))
        return self

    def __exit__(self, *exc: object) -> None:
        for cls, name, fn in reversed(self._saved):
            setattr(cls, name, fn)
        self._saved.clear()


def measured(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` after the machine line and the load, and print the load again at its end."""
    import asyncio
    import os
    import time

    print(machine())
    print(f"start {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load {os.getloadavg()}")
    result = asyncio.run(work)
    print(f"end load {os.getloadavg()}")
    return result


class HandoffCounter:
    """Counts hand-offs to aiosqlite's thread while active (`with HandoffCounter() as h`): each
    is one queued call and one wake-up of the event loop, whatever SQL (or none) it runs."""

    def __init__(self) -> None:
        self.count = 0
        self._saved: Any = None

    def __enter__(self) -> HandoffCounter:
        import aiosqlite.core

        fn = aiosqlite.core.Connection._execute
        self._saved = fn

        async def counted(conn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await fn(conn, *args, **kwargs)

        aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        import aiosqlite.core

        aiosqlite.core.Connection._execute = self._saved  # type: ignore[method-assign]


def machine() -> str:
    """CPU model, cores, RAM, Python and SQLite versions: printed with every figure."""
    import os
    import platform
    import sqlite3

    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo").read().splitlines():  # noqa: SIM115
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = 0.0
    with contextlib.suppress(OSError):
        for line in open("/proc/meminfo").read().splitlines():  # noqa: SIM115
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) / 1024 / 1024
    load = os.getloadavg()[0]
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, {ram:.1f} GiB RAM, load {load:.1f}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def compile_sources() -> None:
    """Write the project's bytecode, as the container image does (`compileall` in Dockerfile).

    With PYTHONDONTWRITEBYTECODE set (this machine's environment and the image both set it), an
    editable install never gets `.pyc` files: every `logoff run` would compile bot/, storage/ and
    adapters/ from source (~0.1-0.2 s here) while the peers' site-packages are compiled. Started
    bots are measured as deployed. So is the dataclass code cache the build writes beside it
    (bot/app/dataclass_cache.py), when this checkout has one; in a process of its own, since it
    records what a fresh import of the start path generates.
    """
    import compileall
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for package in ("bot", "storage", "adapters", "benchmarks"):
        compileall.compile_dir(root / package, quiet=1)
    if (root / "bot" / "app" / "dataclass_cache.py").exists():
        writer = [sys.executable, "-m", "bot.app.dataclass_cache", "--write"]
        subprocess.run(writer, cwd=root, check=True, capture_output=True)


class RoundTripCounter:
    """Counts what this process sends PostgreSQL while active (`with RoundTripCounter() as r`):
    each write asyncpg makes on a socket is one request it then waits on (a simple query, a
    prepare, a bind-and-execute of a prepared statement, a pool connection's reset).

    `trips` lists them as (connection, kind, text): connection "listen" for the record cache's
    LISTEN connection, "pool" otherwise; kind "query" (simple protocol: BEGIN, COMMIT, a
    script), "prepare" (Parse: a statement not in asyncpg's cache), "execute" (Bind/Execute).
    """

    def __init__(self) -> None:
        self.trips: list[tuple[str, str, str]] = []
        self._saved: Any = None

    @property
    def count(self) -> int:
        return len(self.trips)

    def kinds(self) -> dict[str, int]:
        """How many of each: "listen", "reset", "prepare", or the first word of a query."""
        seen: dict[str, int] = {}
        for conn, kind, text in self.trips:
            if conn == "listen":
                key = "listen"
            elif kind == "query" and text.startswith("SELECT pg_advisory_unlock_all"):
                key = "reset"
            elif kind == "query":
                key = text.split(None, 1)[0].rstrip(";").upper() if text else "query"
            else:
                key = kind
            seen[key] = seen.get(key, 0) + 1
        return seen

    @staticmethod
    def _decode(data: bytes) -> tuple[str, str]:
        kind, text = "other", ""
        at = 0
        while at + 5 <= len(data):
            tag = chr(data[at])
            size = int.from_bytes(data[at + 1 : at + 5], "big")
            body = data[at + 5 : at + 1 + size]
            if tag == "Q":
                return "query", body.split(b"\0", 1)[0].decode(errors="replace")
            if tag == "P":
                query = body.split(b"\0", 2)[1] if body.count(b"\0") >= 2 else b""
                return "prepare", query.decode(errors="replace")
            if tag in "BE" and kind == "other":
                kind = "execute"
            at += 1 + size
        return kind, text

    def __enter__(self) -> RoundTripCounter:
        import asyncio.selector_events as events

        from storage import record_cache

        cls = events._SelectorSocketTransport
        write = cls.write
        self._saved = write

        def counted(transport: Any, data: Any) -> None:
            listener = record_cache._listener.connection
            conn = "listen" if listener is not None and listener._transport is transport else "pool"
            kind, text = self._decode(bytes(data))
            self.trips.append((conn, kind, text))
            write(transport, data)

        cls.write = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        import asyncio.selector_events as events

        events._SelectorSocketTransport.write = self._saved  # type: ignore[method-assign]
