"""RSS at ready with encryption off and on: Logoff beside a bare nio bot, both ways (prints only).

One throwaway Synapse, four bots: Logoff without and with encryption (`[matrix] encryption`),
the bare echo bot of `benchmarks.matrix_roundtrip` without a store (nio's default: it imports
nio's crypto layer when vodozemac is installed, but runs no Olm machine) and with one (store +
Olm, as nio's docs set up an encrypted bot). Each holds a room with
the member (Logoff: with a pledge) and Logoff `--jobs` pending jobs; each is launched
`--launches` times, one after the other, and its RSS read at ready and `--settle` s later (after
the first key upload and, for Logoff, its cross-signing), split into anonymous memory (heap,
Python objects) and file-backed pages (mapped code).

`--modules`: Logoff's launches also write, `--settle` s after ready, the modules it has loaded
(on SIGUSR1: `benchmarks.module_probe`), and the modules loaded only with encryption on are printed.

Run: .venv/bin/python -m benchmarks.encryption_rss  [--launches 5] [--jobs 1000] [--settle 2]
     [--modules]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import compile_sources, measured
from benchmarks.matrix_roundtrip import ECHO_READY, Proc, fill_jobs
from benchmarks.peer import Member, migrated_logoff

REPO = Path(__file__).resolve().parents[1]
NAMES = ("bare", "bare e2e", "Logoff", "Logoff e2e")


def smaps(pid: int) -> dict[str, float]:
    """RSS split (MiB): `anon` (heap, Python objects), `file` (mapped code and data)."""
    parts = {"anon": 0.0, "file": 0.0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Anonymous", "Rss"):
            parts["anon" if key == "Anonymous" else "file"] += int(rest.split()[0]) / 1024
    parts["file"] -= parts["anon"]
    return parts


async def run(args: argparse.Namespace) -> None:
    from tests.services.synapse import SynapseServer

    work = Path(tempfile.mkdtemp(prefix="logoff-e2e-rss-"))
    server = SynapseServer(work / "synapse")
    server.start()
    procs: dict[str, Proc] = {}
    member: Member | None = None
    try:
        users = {
            name: server.register(name.replace(" ", "").lower() + "bot", "logoff-password")[0]
            for name in NAMES
        }
        member = Member(server.url, *server.register("member", "member-password"))
        databases = []
        for name in ("Logoff", "Logoff e2e"):
            home = work / name.replace(" ", "-")
            home.mkdir()
            config = migrated_logoff(home, server.url, users[name], name.endswith("e2e"))
            cli = [sys.executable, "-m", "bot.app.cli", "--config", str(config)]
            if args.modules:
                dump = str(home / "modules.txt")
                cli = [sys.executable, "-m", "benchmarks.module_probe", dump, *cli[3:]]
            procs[name] = Proc([*cli, "run"], home / "bot.log", "matrix ready")
            databases.append(f"sqlite://{home / 'data' / 'logoff.db'}")
        for name in ("bare", "bare e2e"):
            store = ["", str(work / "bare-store")] if name.endswith("e2e") else []
            argv = [sys.executable, "-m", "benchmarks.matrix_roundtrip", "--echo-bot"]
            procs[name] = Proc(
                [*argv, server.url, users[name], "logoff-password", *store],
                work / f"{name.replace(' ', '-')}.log",
                ECHO_READY,
            )
        for proc in procs.values():
            proc.launch()
        await member.sync(0)
        for name in NAMES:
            room = await member.room_with(users[name])
            if name.startswith("Logoff"):
                await member.roundtrip(room, '!pledge new "Walk to the market" per week')
        await member.wait_quiet(time.time() + 3)
        for proc in procs.values():
            proc.stop()
        for db_url in databases:
            await fill_jobs(db_url, args.jobs)
        ready: dict[str, list[float]] = {name: [] for name in NAMES}
        settled: dict[str, list[float]] = {name: [] for name in NAMES}
        split: dict[str, list[dict[str, float]]] = {name: [] for name in NAMES}
        loads = []
        for _ in range(args.launches):
            for name in NAMES:
                proc = procs[name]
                loads.append(os.getloadavg()[0])
                proc.launch()
                ready[name].append(proc.rss)
                await asyncio.sleep(args.settle)
                settled[name].append(proc.rss)
                assert proc.process is not None
                split[name].append(smaps(proc.process.pid))
                if args.modules and name.startswith("Logoff"):
                    os.kill(proc.process.pid, signal.SIGUSR1)
                    await asyncio.sleep(0.5)
                proc.stop()
        print(f"load at each launch: median {statistics.median(loads):.2f}, max {max(loads):.2f}")
        print(f"| bot | RSS at ready | {args.settle:g} s later | anon / file then |")
        print("|---|---|---|---|")
        for name in NAMES:
            anon = statistics.median(s["anon"] for s in split[name])
            file = statistics.median(s["file"] for s in split[name])
            every = ", ".join(f"{r:.1f}" for r in ready[name])
            print(
                f"| {name} | {statistics.median(ready[name]):.1f} MiB ({every}) "
                f"| {statistics.median(settled[name]):.1f} MiB | {anon:.1f} / {file:.1f} |"
            )
        mid = {name: statistics.median(ready[name]) for name in NAMES}
        print(
            f"Logoff e2e - bare e2e: {mid['Logoff e2e'] - mid['bare e2e']:+.1f} MiB; "
            f"Logoff e2e - bare: {mid['Logoff e2e'] - mid['bare']:+.1f} MiB; "
            f"Logoff - bare: {mid['Logoff'] - mid['bare']:+.1f} MiB"
        )
        if args.modules:
            loaded = {}
            for name in ("Logoff", "Logoff e2e"):
                dump = procs[name].log.parent / "modules.txt"
                loaded[name] = set(dump.read_text().split()) if dump.exists() else set()
            extra = sorted(loaded["Logoff e2e"] - loaded["Logoff"])
            print(f"modules only with encryption ({len(extra)}): {' '.join(extra)}")
    finally:
        if member is not None:
            await member.client.close()
        for proc in procs.values():
            proc.stop()
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--modules", action="store_true")
    args = parser.parse_args()
    compile_sources()
    measured(run(args))


if __name__ == "__main__":
    main()
