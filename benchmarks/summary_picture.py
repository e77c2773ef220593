"""The weekly summary picture of a 5,000-member group: query + render (target: under 200 ms).

Measured on the full deployment (benchmarks/deployment.py: groups of 5,000, 500 and 50
members in two weekly pledges, two years of history among 3.4 million outcomes), plus the
worst case it lacks: a 5,000-member group whose members each keep a daily, a weekly and a
monthly pledge, twelve closed weeks of them (about 500,000 more outcomes), written into the
same database. Each figure is the median of `--samples` calls after one warm-up call:
`picture_data.group_weeks` (the three queries and the weeks' arithmetic) and
`summary_picture.render_group_picture` (drawing and PNG encoding), and the member's own grid
for one member of the same group.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import deployment as dep
from benchmarks.common import StatementCounter, machine, peak_rss_mib, postgres
from bot.messages import picture_data
from bot.messages.summary_picture import Picture, render_group_picture, render_member_grid
from storage import database
from storage import groups as group_queries

WEEKS = 12
MEMBERS = 5000
# Ids of the extra group's rows start past the deployment's own.
GROUP_ID = dep.GROUPS + 1
PLEDGE_IDS = (dep.GROUPS * dep.PLEDGES_PER_GROUP + 1, dep.GROUPS * dep.PLEDGES_PER_GROUP + 2,
              dep.GROUPS * dep.PLEDGES_PER_GROUP + 3)  # fmt: skip
TITLES = ("Walk without a phone for an hour", "Knock on ten doors", "Bring a neighbour along")
CADENCES = ("day", "week", "month")


def _split(names: str) -> list[str]:
    return names.split()


def _week_of(end: datetime) -> datetime:
    """The start of the closed week a period ending at `end` counts in: (start, start + 7 d]."""
    for w in range(1, WEEKS + 1):
        if _monday(w) < end <= _monday(w - 1):
            return _monday(w)
    raise ValueError(f"{end} is not in the last {WEEKS} weeks")


def _monday(n: int) -> datetime:
    """Start of the n-th closed week before the deployment's current one (UTC)."""
    return dep.THIS_WEEK - timedelta(weeks=n)


def _periods(cadence: str) -> Iterator[tuple[str, datetime]]:
    """(key, end) of each period of `cadence` that closed in the last twelve weeks."""
    first, last = _monday(WEEKS), dep.THIS_WEEK
    if cadence == "day":
        for d in range(WEEKS * 7):
            start = first + timedelta(days=d)
            yield f"day:{start.date().isoformat()}", start + timedelta(days=1)
    elif cadence == "week":
        for w in range(WEEKS, 0, -1):
            yield f"week:{_monday(w).date().isoformat()}", _monday(w - 1)
    else:
        month = date(first.year, first.month, 1)
        while True:
            nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            end = datetime(nxt.year, nxt.month, 1, tzinfo=UTC)
            if end > last:
                return
            if end > first:
                yield f"month:{month.year:04d}-{month.month:02d}", end
            month = nxt


def extra_tables(
    first_ids: dict[str, int],
) -> Iterator[tuple[str, list[str], list[tuple[Any, ...]]]]:
    """The daily/weekly/monthly group, as (table, columns, rows); deterministic (seeded)."""
    rnd = random.Random(16)
    created = _monday(WEEKS)
    yield (
        "groups",
        _split(
            "id platform external_id name timezone week_start summary_slot prompt_slot "
            "grace_hours quiet_hours weekly_message_cap threshold name_missed group_streak "
            "best_group_streak weeks_closed_through archived created_at"
        ),
        [(GROUP_ID, "bench", "room-daily", "Riverside Tenants' Union", "UTC", 0, "mon 18:00",
          "sun 18:00", 12, "22:00-08:00", 6, 0.6, False, 0, 0, dep.THIS_WEEK, False, created)],
    )  # fmt: skip
    yield (
        "pledges",
        _split(
            "id group_id number title cadence target start_date end_date remind_slot "
            "status paused_at paused_until creator_id created_at"
        ),
        [(PLEDGE_IDS[n], GROUP_ID, n + 1, TITLES[n], CADENCES[n], 1, None, None, None,
          "active", None, None, None, created) for n in range(3)],
    )  # fmt: skip
    member0 = first_ids["members"]
    yield (
        "members",
        _split("id platform external_id display_name timezone muted_until forget_requested_at "
                  "created_at"),
        [(member0 + i, "bench", f"daily{i}", f"daily member {i}", None, None, None, created)
         for i in range(MEMBERS)],
    )  # fmt: skip
    parts, outcomes = [], []
    weeks: dict[datetime, list[int]] = {}
    outcome_id = first_ids["outcomes"]
    for n, cadence in enumerate(CADENCES):
        periods = list(_periods(cadence))
        for i in range(MEMBERS):
            pid = first_ids["participations"] + n * MEMBERS + i
            habit = rnd.random()
            parts.append(
                (pid, PLEDGE_IDS[n], member0 + i, True, created, periods[0][0], None, False,
                 "channel", 0, 0, 0.5, 1, 0, periods[-1][0], dep.THIS_WEEK + timedelta(days=8))
            )  # fmt: skip
            for key, end in periods:
                roll = rnd.random()
                outcome = "excused" if roll < 0.03 else "kept" if roll < habit else "missed"
                outcomes.append(
                    (outcome_id, pid, GROUP_ID, key, end, outcome, int(outcome == "kept"),
                     end + timedelta(hours=12))
                )  # fmt: skip
                outcome_id += 1
                tally = weeks.setdefault(_week_of(end), [0, 0, 0])
                tally[("kept", "missed", "excused").index(outcome)] += 1
    yield ("participations", _split(
        "id pledge_id member_id active joined_at first_period remind_slot remind_off delivery "
        "current_streak best_streak strength freezes kept_toward_freeze closed_through "
        "next_close_at"), parts)  # fmt: skip
    yield (
        "outcomes",
        _split("id participation_id group_id_ref period_key period_end outcome done closed_at"),
        outcomes,
    )
    rows, streak = [], 0
    for i, (start, (k, m, e)) in enumerate(sorted(weeks.items())):
        met = k / (k + m) >= 0.6 if k + m else None
        streak = streak if met is None else streak + 1 if met else 0
        rows.append((first_ids["group_weeks"] + i, GROUP_ID, f"week:{start.date().isoformat()}",
                     k, m, e, met, streak, start + timedelta(weeks=1, hours=12)))  # fmt: skip
    yield (
        "group_weeks",
        _split("id group_id week_key kept missed excused met streak closed_at"),
        rows,
    )


TABLES = ("members", "participations", "outcomes", "group_weeks")


def add_extra_sqlite(path: Path) -> int:
    db = sqlite3.connect(path)
    first = {
        t: db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {t}").fetchone()[0] for t in TABLES
    }
    count = 0
    for table, cols, rows in extra_tables(first):
        marks = ", ".join("?" for _ in cols)
        db.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
            ([dep._sqlite_value(v) for v in r] for r in rows),
        )
        count += len(rows)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return count


async def add_extra_postgres(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        first = {
            t: await conn.fetchval(f"SELECT coalesce(max(id), 0) + 1 FROM {t}") for t in TABLES
        }
        count = 0
        for table, cols, rows in extra_tables(first):
            await conn.copy_records_to_table(table, records=rows, columns=cols)
            count += len(rows)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return count


async def _timed(call: Callable[[], Awaitable[Any]], samples: int) -> tuple[list[float], Any]:
    result = await call()  # warm-up
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - t) * 1000)
    return times, result


def _figure(times: list[float]) -> str:
    return f"{statistics.median(times):.1f} ms (max {max(times):.1f})"


async def _one_group(
    group_id: int, member_id: int, what: str, samples: int, save: Path | None
) -> list[str]:
    group = await group_queries.get_group(group_id)
    assert group is not None
    with StatementCounter() as sql:
        data = await picture_data.group_weeks(group)
    assert data is not None
    query, _ = await _timed(lambda: picture_data.group_weeks(group), samples)

    async def render() -> Picture:
        return render_group_picture(data)

    draw, picture = await _timed(render, samples)
    total = [q + r for q, r in zip(query, draw, strict=True)]
    whole, _ = await _timed(lambda: picture_data.group_picture(group), samples)
    with StatementCounter() as member_sql:
        grid = await picture_data.member_weeks(group, member_id)
    assert grid is not None
    member_query, _ = await _timed(lambda: picture_data.member_weeks(group, member_id), samples)

    async def render_grid() -> Picture:
        return render_member_grid(grid)

    member_draw, member_picture = await _timed(render_grid, samples)
    if save is not None:
        (save / f"group-{group_id}.png").write_bytes(picture.png)
        (save / f"member-{group_id}.png").write_bytes(member_picture.png)
    return [
        f"group picture, {what}: query {_figure(query)} + render {_figure(draw)} = "
        f"{_figure(total)}; through group_picture() (render in a thread) {_figure(whole)}; "
        f"{sql.count} SQL statements; {picture.width}x{picture.height} PNG, "
        f"{picture.size / 1024:.0f} KiB, alt text {len(picture.alt)} characters",
        f"member grid, {what}: query {_figure(member_query)} + render {_figure(member_draw)}; "
        f"{member_sql.count} SQL statements; {member_picture.width}x{member_picture.height} "
        f"PNG, {member_picture.size / 1024:.0f} KiB",
    ]


async def run(url: str, samples: int, save: Path | None) -> list[str]:
    await database.open_database(url)
    lines = []
    try:
        lay = dep.layout()
        for g in sorted(dep.SIZED, key=lambda g: -dep.SIZED[g]):
            what = f"{lay.size[g]:,} members in 2 weekly pledges"
            lines += await _one_group(g + 1, lay.first_member[g], what, samples, save)
        extra = await group_queries.find_group("bench", "room-daily")
        member = await group_queries.find_member("bench", "daily0")
        assert extra is not None
        assert member is not None
        what = f"{MEMBERS:,} members in a daily, a weekly and a monthly pledge"
        lines += await _one_group(extra.id, member.id, what, samples, save)
    finally:
        await database.close_database()
    lines.append(f"peak RSS {peak_rss_mib():.0f} MiB")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--save", type=Path, help="write the pictures into this folder")
    args = parser.parse_args()
    print(machine())
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    if args.backend == "sqlite":
        _, counts = dep.sqlite_file()
        print("deployment: " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
        with tempfile.TemporaryDirectory() as tmp:
            url = dep.sqlite_copy(Path(tmp) / "bench.db")
            t = time.perf_counter()
            rows = add_extra_sqlite(Path(url.removeprefix("sqlite://")))
            print(f"extra group: {rows:,} rows in {time.perf_counter() - t:.1f} s")
            lines = asyncio.run(run(url, args.samples, args.save))
    else:
        with postgres() as url:
            print(f"loaded into PostgreSQL in {asyncio.run(dep.load_postgres(url)):.1f} s")
            t = time.perf_counter()
            rows = asyncio.run(add_extra_postgres(url))
            print(f"extra group: {rows:,} rows in {time.perf_counter() - t:.1f} s")
            lines = asyncio.run(run(url, args.samples, args.save))
    for line in lines:
        print(f"summary picture ({args.backend}): {line}")


if __name__ == "__main__":
    main()
