"""The real `logoff run` (console adapter) on the full deployment plus 100,000 pending jobs:
time from launch to its banner, and resident memory once idle."""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks import deployment as dep
from benchmarks.common import compile_sources, machine, postgres

JOBS = 100_000
BANNER = "Logoff console"


def _job_rows() -> list[tuple[object, ...]]:
    # Reminders spread over the next week: pending, untried, far enough not to fire now.
    start = dep.NOW + timedelta(days=1)
    return [
        (
            f"bench:{i}",
            "remind",
            start + timedelta(seconds=6 * i),
            i % dep.GROUPS + 1,
            '{"pledge_id": 1, "period_key": "week:2026-11-30"}',
            "pending",
            0,
            dep.NOW,
        )
        for i in range(JOBS)
    ]


_JOB_COLS = "dedupe_key, kind, due_at, group_id_ref, payload, status, attempts, created_at"


def _add_jobs_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executemany(
        f"INSERT INTO jobs ({_JOB_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            tuple(v.isoformat(sep=" ") if hasattr(v, "tzinfo") else v for v in r)
            for r in _job_rows()
        ],
    )
    db.commit()
    db.close()


async def _add_jobs_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.copy_records_to_table("jobs", records=_job_rows(), columns=_JOB_COLS.split(", "))
    finally:
        await conn.close()


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(url: str, workdir: Path, idle_s: float) -> dict[str, float]:
    config = workdir / "config.toml"
    config.write_text(f'[bot]\ndata_dir = "{workdir}"\n[database]\nurl = "{url}"\n')
    env = {**os.environ, "LOGOFF_CONFIG": str(config)}
    cmd = [str(Path(sys.executable).parent / "logoff"), "--config", str(config), "run"]
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    ready = None
    buffer = b""
    deadline = t + 60
    while ready is None and time.perf_counter() < deadline:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            if BANNER.encode() in buffer:
                ready = time.perf_counter() - t
    if ready is None:
        proc.kill()
        raise RuntimeError(f"no banner within 60 s: {buffer.decode(errors='replace')[-500:]}")
    at_ready = _rss_mib(proc.pid)
    time.sleep(idle_s)  # the scheduler plans every group at start: let it settle
    idle = _rss_mib(proc.pid)
    proc.stdin.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    return {
        "ready_s": round(ready, 3),
        "rss_at_ready_mib": round(at_ready, 1),
        f"rss_after_{idle_s:g}s_idle_mib": round(idle, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds idle before RSS")
    args = parser.parse_args()
    compile_sources()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.backend == "sqlite":
            url = dep.sqlite_copy(workdir / "logoff.db")
            _add_jobs_sqlite(workdir / "logoff.db")
            figures = measure(url, workdir, args.idle)
        else:
            with postgres() as url:
                asyncio.run(dep.load_postgres(url))
                asyncio.run(_add_jobs_postgres(url))
                figures = measure(url, workdir, args.idle)
    print(
        f"idle bot ({args.backend}, {JOBS:,} pending jobs): "
        + ", ".join(f"{k}={v}" for k, v in figures.items())
    )


if __name__ == "__main__":
    main()
