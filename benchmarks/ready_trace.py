"""Ready after launch, Logoff beside the bare nio bot, with Logoff's start traced step by step.

One throwaway Synapse, the bare echo bot of `benchmarks.matrix_roundtrip` and `logoff run`
(Matrix, SQLite, `--rooms` rooms with a pledge each, `--jobs` pending jobs), launched one after
the other `--launches` times; with `--other DIR` a second copy of the sources (e.g.
`git -C /work/main archive HEAD | tar -x -C DIR`, run with this venv from DIR) is launched in
the same rounds, so the two are compared under the same load.
Each Logoff launch runs with `LOGOFF_TRACE_START` (bot/app/start_trace.py): the median second
of every step traced is printed per checkout (a checkout without the trace prints only ready).

Run: .venv/bin/python -m benchmarks.ready_trace  [--launches 5] [--rooms 10] [--jobs 1000]
     [--other /work/main]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import compile_sources, measured
from benchmarks.matrix_roundtrip import ECHO_READY, fill_jobs
from benchmarks.peer import Member, migrated_logoff

REPO = Path(__file__).resolve().parents[1]
STEP = re.compile(r"start \+(\d+\.\d+)s (.+)$")


class Launch:
    """A bot in a subprocess (from checkout `cwd`) whose log says when it is ready."""

    def __init__(self, name: str, argv: list[str], cwd: Path, log: Path, ready: str) -> None:
        self.name, self.argv, self.cwd, self.log, self.ready = name, argv, cwd, log, ready
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> tuple[float, dict[str, float]]:
        """Seconds from launch until the ready line, and the traced steps of this launch."""
        before = self.log.stat().st_size if self.log.exists() else 0
        env = dict(os.environ, LOGOFF_TRACE_START=repr(time.time()))
        start = time.perf_counter()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT, env=env
            )
        while True:
            text = self.log.read_bytes()[before:].decode(errors="replace")
            if self.ready in text:
                break
            if self.process.poll() is not None:
                raise RuntimeError(text)
            time.sleep(0.002)
        ready = time.perf_counter() - start
        time.sleep(0.3)  # the steps logged right after ready (warm-up end)
        text = self.log.read_bytes()[before:].decode(errors="replace")
        steps: dict[str, float] = {}
        for line in text.splitlines():
            m = STEP.search(line)
            if m:
                steps.setdefault(m.group(2), float(m.group(1)))
        return ready, steps

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


async def run(args: argparse.Namespace) -> None:
    from tests.services.synapse import SynapseServer

    work = Path(tempfile.mkdtemp(prefix="logoff-ready-"))
    server = SynapseServer(work / "synapse")
    server.start()
    launches: list[Launch] = []
    member: Member | None = None
    try:
        bot_id, _, _ = server.register("logoffbot", "logoff-password")
        bare_id, _, _ = server.register("barebot", "bare-password")
        member = Member(server.url, *server.register("member", "member-password"))
        config = migrated_logoff(work, server.url, bot_id)
        db_url = f"sqlite://{work / 'data' / 'logoff.db'}"

        def logoff(name: str, checkout: Path) -> Launch:
            argv = [sys.executable, "-m", "bot.app.cli", "--config", str(config), "run"]
            return Launch(name, argv, checkout, work / f"{name}.log", "matrix ready")

        bare = Launch(
            "bare",
            [
                sys.executable,
                "-m",
                "benchmarks.matrix_roundtrip",
                "--echo-bot",
                server.url,
                bare_id,
                "bare-password",
            ],
            REPO,
            work / "bare.log",
            ECHO_READY,
        )
        here = logoff("this", REPO)
        launches = [bare, here]
        if args.other:
            launches.append(logoff("other", Path(args.other)))
        bare.start()
        here.start()
        await member.sync(0)
        await member.room_with(bare_id)
        for n in range(args.rooms):
            room = await member.room_with(bot_id)
            await member.roundtrip(room, f'!pledge new "Walk to the market {n}" per week')
        # A round trip may count the bot's hello as the answer: let the last command finish
        # before the stop, or the next start replays it.
        await member.wait_quiet(time.time() + 3)
        for launch in launches:
            launch.stop()
        await fill_jobs(db_url, args.jobs)
        ready: dict[str, list[float]] = {launch.name: [] for launch in launches}
        steps: dict[str, dict[str, list[float]]] = {launch.name: {} for launch in launches}
        for _ in range(args.launches):
            for launch in launches:
                seconds, traced = launch.start()
                ready[launch.name].append(seconds)
                for step, at in traced.items():
                    steps[launch.name].setdefault(step, []).append(at)
                launch.stop()
        for launch in launches:
            every = ", ".join(f"{s:.3f}" for s in ready[launch.name])
            middle = statistics.median(ready[launch.name])
            print(f"{launch.name}: ready median {middle:.3f} s ({every})")
            for step, ats in sorted(
                steps[launch.name].items(), key=lambda kv: statistics.median(kv[1])
            ):
                print(f"    {statistics.median(ats):7.3f} s  {step}")
    finally:
        await wind_down(member, launches, server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--other", default="", help="a second copy of the sources to compare")
    run_compared(parser.parse_args(), run)


def prepare_other(other: Path) -> None:
    """Byte-compile a second copy of the sources (and its dataclass cache), as for this one."""
    import compileall

    for package in ("bot", "storage", "adapters"):
        compileall.compile_dir(other / package, quiet=1)
    if (other / "bot" / "app" / "dataclass_cache.py").exists():
        writer = [sys.executable, "-m", "bot.app.dataclass_cache", "--write"]
        subprocess.run(writer, cwd=other, check=True, capture_output=True)


async def wind_down(member: Member | None, launches: list[Launch], server: Any) -> None:
    """The member's client closed, every bot stopped, the throwaway Synapse gone."""
    if member is not None:
        await member.client.close()
    for launch in launches:
        launch.stop()
    server.close()


def run_compared(args: argparse.Namespace, run: Callable[[argparse.Namespace], Any]) -> None:
    """Both checkouts byte-compiled, then `run(args)` between the machine line and the load."""
    compile_sources()
    if args.other:
        prepare_other(Path(args.other))
    measured(run(args))


if __name__ == "__main__":
    main()
