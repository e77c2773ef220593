"""A synthetic deployment: 1,000 groups, 100,000 members, 2 years of history, on both backends.

Rows are written with raw bulk statements (executemany on SQLite, COPY on PostgreSQL) after the
real migrations created the schema; the SQLite file is cached under `.cache/bench/` because
generating it takes longer than every measurement together.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from storage import database

VERSION = 1  # bump when the shape changes: the cached file is then rebuilt
CACHE = Path(".cache/bench")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday, 10:00
THIS_WEEK = datetime(2026, 11, 30, tzinfo=UTC)  # Monday of NOW's week
WEEKS = 104  # two years of closed weeks
GROUPS = 1000
MEMBERS = 100_000
# Groups 0, 1 and 2 are the ones the summary benchmark compares; the rest share the others.
SIZED = {0: 5000, 1: 500, 2: 50}
PLEDGES_PER_GROUP = 2  # every member takes part in both: 200,000 participations
MAX_HISTORY_WEEKS = 35  # members come and go: each participation has 1..35 closed weeks


@dataclass(frozen=True)
class Layout:
    """Which members belong to which group (ids are 1-based, contiguous per group)."""

    first_member: list[int]
    size: list[int]

    def members_of(self, group_index: int) -> range:
        start = self.first_member[group_index]
        return range(start, start + self.size[group_index])


def layout() -> Layout:
    rest = MEMBERS - sum(SIZED.values())
    others = GROUPS - len(SIZED)
    sizes = [
        SIZED.get(g, rest // others + (1 if g - len(SIZED) < rest % others else 0))
        for g in range(GROUPS)
    ]
    first, at = [], 1
    for s in sizes:
        first.append(at)
        at += s
    return Layout(first, sizes)


def _cols(names: str) -> list[str]:
    return names.split()


def _week(n: int) -> datetime:
    """Start of the n-th closed week before this one (n = 1: last week)."""
    return THIS_WEEK - timedelta(weeks=n)


def _key(start: datetime) -> str:
    return f"week:{start.date().isoformat()}"


def tables() -> Iterator[tuple[str, list[str], list[tuple[Any, ...]]]]:
    """(table, columns, rows) in insertion order; deterministic (seeded)."""
    rnd = random.Random(6)
    lay = layout()
    created = _week(WEEKS)
    ages = [WEEKS if g in SIZED else rnd.randint(8, WEEKS) for g in range(GROUPS)]
    yield (
        "groups",
        _cols(
            "id platform external_id name timezone week_start summary_slot prompt_slot "
            "grace_hours quiet_hours weekly_message_cap threshold name_missed group_streak "
            "best_group_streak weeks_closed_through archived created_at"
        ),
        [
            (g + 1, "bench", f"room{g}", f"Group {g}", "UTC", 0, "mon 18:00", "sun 18:00", 12,
             "22:00-08:00", 6, 0.6, False, 3, 9, THIS_WEEK, False, _week(ages[g]))
            for g in range(GROUPS)
        ],
    )  # fmt: skip
    yield (
        "members",
        [
            "id",
            "platform",
            "external_id",
            "display_name",
            "timezone",
            "muted_until",
            "forget_requested_at",
            "created_at",
        ],
        [
            (i, "bench", f"u{i}", f"user{i}", None, None, None, created)
            for i in range(1, MEMBERS + 1)
        ],
    )
    titles = ("Call a neighbour", "Walk without a phone")
    yield (
        "pledges",
        _cols(
            "id group_id number title cadence target start_date end_date remind_slot "
            "status paused_at paused_until creator_id created_at"
        ),
        [
            (g * PLEDGES_PER_GROUP + n + 1, g + 1, n + 1, titles[n], "week", 1, None, None,
             "wed 18:00", "active", None, None, lay.first_member[g], _week(ages[g]))
            for g in range(GROUPS)
            for n in range(PLEDGES_PER_GROUP)
        ],
    )  # fmt: skip
    parts: list[tuple[Any, ...]] = []
    outcomes: list[tuple[Any, ...]] = []
    checkins: list[tuple[Any, ...]] = []
    weeks: dict[tuple[int, int], list[int]] = {}
    next_close = THIS_WEEK + timedelta(weeks=1, hours=12)
    for g in range(GROUPS):
        for n in range(PLEDGES_PER_GROUP):
            pledge_id = g * PLEDGES_PER_GROUP + n + 1
            for member in lay.members_of(g):
                pid = len(parts) + 1
                history = min(ages[g], rnd.randint(1, MAX_HISTORY_WEEKS))
                habit = rnd.random()  # some members keep nearly always, some rarely
                streak = best = 0
                for w in range(history, 0, -1):
                    start = _week(w)
                    roll = rnd.random()
                    outcome = "excused" if roll < 0.03 else "kept" if roll < habit else "missed"
                    end = start + timedelta(weeks=1)
                    outcomes.append(
                        (len(outcomes) + 1, pid, g + 1, _key(start), end,
                         outcome, int(outcome == "kept"), end + timedelta(hours=12))
                    )  # fmt: skip
                    if outcome != "missed":
                        kind = "done" if outcome == "kept" else "skip"
                        at = start + timedelta(days=rnd.randint(0, 6), hours=rnd.randint(8, 21))
                        checkins.append(
                            (
                                len(checkins) + 1,
                                pid,
                                _key(start),
                                kind,
                                "",
                                f"e{len(checkins)}",
                                at,
                                None,
                            )
                        )
                    streak = (
                        streak + 1 if outcome == "kept" else 0 if outcome == "missed" else streak
                    )
                    best = max(best, streak)
                    tally = weeks.setdefault((g, w), [0, 0, 0])
                    tally[("kept", "missed", "excused").index(outcome)] += 1
                if rnd.random() < 0.3:  # already done this week
                    checkins.append(
                        (len(checkins) + 1, pid, _key(THIS_WEEK), "done", "",
                         f"e{len(checkins)}", THIS_WEEK + timedelta(days=1, hours=9), None)
                    )  # fmt: skip
                first = _key(_week(history))
                parts.append(
                    (pid, pledge_id, member, True, _week(history), first, None, False, "channel",
                     streak, best, round(habit, 2), 1, 0, _key(_week(1)), next_close)
                )  # fmt: skip
    yield (
        "participations",
        [
            "id",
            "pledge_id",
            "member_id",
            "active",
            "joined_at",
            "first_period",
            "remind_slot",
            "remind_off",
            "delivery",
            "current_streak",
            "best_streak",
            "strength",
            "freezes",
            "kept_toward_freeze",
            "closed_through",
            "next_close_at",
        ],
        parts,
    )
    yield (
        "outcomes",
        [
            "id",
            "participation_id",
            "group_id_ref",
            "period_key",
            "period_end",
            "outcome",
            "done",
            "closed_at",
        ],
        outcomes,
    )
    yield (
        "checkins",
        [
            "id",
            "participation_id",
            "period_key",
            "kind",
            "note",
            "event_key",
            "created_at",
            "undone_at",
        ],
        checkins,
    )
    yield (
        "group_weeks",
        ["id", "group_id", "week_key", "kept", "missed", "excused", "met", "streak", "closed_at"],
        [
            (i + 1, g + 1, _key(_week(w)), k, mi, ex, k >= 0.6 * max(1, k + mi), 0,
             _week(w) + timedelta(weeks=1, hours=12))
            for i, ((g, w), (k, mi, ex)) in enumerate(sorted(weeks.items()))
        ],
    )  # fmt: skip


def _sqlite_value(v: Any) -> Any:
    # Tortoise stores aware datetimes as ISO text with a space; match it byte for byte.
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    return v


async def _migrate(url: str) -> None:
    await database.migrate(url)
    await database.close_database()


def sqlite_file() -> tuple[Path, dict[str, int]]:
    """The cached deployment as a SQLite file; built on first use. Returns (path, row counts)."""
    import asyncio

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"deployment-v{VERSION}.db"
    counts: dict[str, int] = {}
    if not path.exists():
        t = time.perf_counter()
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        asyncio.run(_migrate(f"sqlite://{tmp}"))
        db = sqlite3.connect(tmp)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        for table, cols, rows in tables():
            marks = ", ".join("?" for _ in cols)
            db.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                ([_sqlite_value(v) for v in r] for r in rows),
            )
            db.commit()
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        tmp.rename(path)
        print(f"generated {path} in {time.perf_counter() - t:.1f} s")
    db = sqlite3.connect(path)
    for table in ("groups", "members", "participations", "outcomes", "checkins", "group_weeks"):
        counts[table] = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    db.close()
    return path, counts


def sqlite_copy(dest: Path) -> str:
    """A private copy of the cached file (benchmarks write to it), brought up to the current
    schema (a cache built before a newer migration gets it here); returns its URL."""
    import asyncio

    path, _ = sqlite_file()
    shutil.copy(path, dest)
    url = f"sqlite://{dest}"
    asyncio.run(_migrate(url))
    return url


async def load_postgres(url: str) -> float:
    """Migrate and COPY the deployment into a PostgreSQL database; returns seconds taken."""
    import asyncpg

    t = time.perf_counter()
    await _migrate(url)
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        for table, cols, rows in tables():
            await conn.copy_records_to_table(table, records=rows, columns=cols)
        for table in (
            "groups",
            "members",
            "pledges",
            "participations",
            "outcomes",
            "checkins",
            "group_weeks",
        ):
            # Explicit ids bypassed the sequences: move them past the data.
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - t
