"""The first command after a launch against the later ones, step by step inside Logoff.

One throwaway Synapse, Logoff (Matrix, SQLite, a room with a pledge, `--jobs` pending jobs) run
through `benchmarks.first_probe`, launched `--launches` times; after each ready, `--pause`
seconds later (the peer benchmark launches two other bots in between), the member sends
`!done 1` once and then `--later` more times. For each step on the path (the sync's HTTP
response, its parse, the event, the claim, the engine, the handling transaction, the send's
HTTP request, the answered mark) it prints the median milliseconds since the member's send,
first command against later ones, the round trip the member saw, and the modules the first
and the later commands imported, and whether a command opened a new HTTP connection.

Run: .venv/bin/python -m benchmarks.first_command  [--launches 5] [--later 5] [--pause 2]
     [--jobs 1000] [--other DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.matrix_roundtrip import fill_jobs
from benchmarks.peer import Member, migrated_logoff
from benchmarks.ready_trace import Launch, run_compared, wind_down

REPO = Path(__file__).resolve().parents[1]
STEPS = (
    "http end",  # the sync's response headers (the event is in it)
    "parse end",
    "receive end",
    "event begin",
    "claim end",
    "handle_once begin",
    "engine begin",
    "engine end",
    "handle_once end",
    "post begin",
    "send begin",
    "room_send begin",
    "connect new",
    "room_send end",
    "post end",
    "answered end",
)


# Spans inside the Logoff process, each command's own (not medians of the offsets above).
SEGMENTS = (
    ("sync response to the event", "http end", "event begin"),
    ("event to claim taken", "event begin", "claim end"),
    ("claim to engine", "claim end", "engine begin"),
    ("engine", "engine begin", "engine end"),
    ("commit (effects and stored reply)", "engine end", "handle_once end"),
    ("to the send's request", "handle_once end", "room_send begin"),
    ("sync response to the send's request", "http end", "room_send begin"),
    ("the send's HTTP request", "room_send begin", "room_send end"),
)


def spans(found: list[dict[str, float]], begin: str, end: str) -> list[float]:
    """Each command's milliseconds from step `begin` to step `end` (where it has both)."""
    return [s[end] - s[begin] for s in found if begin in s and end in s]


def probe_lines(text: str) -> list[tuple[float, str]]:
    """The `probe` lines of a log: (perf_counter, step)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("probe "):
            _, at, step = line.split(" ", 2)
            lines.append((float(at), step))
    return lines


def steps_after(lines: list[tuple[float, str]], sent: float) -> dict[str, float]:
    """Milliseconds from `sent` to each step of the command sent then (the modules apart).

    The command's claim is the first after `sent`; the sync that brought it is the last HTTP
    response, parse and client update before that claim."""
    found: dict[str, float] = {}
    claim_at = next((at for at, step in lines if at >= sent and step == "claim begin"), None)
    if claim_at is None:
        return found
    for at, step in lines:
        if at < sent or step.startswith("modules"):
            continue
        name = "connect new" if step.startswith("connect new") else step
        if at < claim_at:
            if name in ("http end", "parse end", "receive end", "event begin"):
                found[name] = (at - sent) * 1000  # the last one before the claim
            continue
        found.setdefault(name, (at - sent) * 1000)
        if name == "answered end":
            break
    return found


def modules_after(lines: list[tuple[float, str]], sent: float) -> list[str]:
    """The modules the command answered after `sent` imported (its `after-command` line)."""
    for at, step in lines:
        if at >= sent and step.startswith("modules after-command"):
            return step.split()[3:]
    return []


async def run(args: argparse.Namespace) -> None:
    from tests.services.synapse import SynapseServer

    work = Path(tempfile.mkdtemp(prefix="logoff-first-"))
    server = SynapseServer(work / "synapse")
    server.start()
    launches: list[Launch] = []
    member: Member | None = None
    try:
        bot_id, _, _ = server.register("logoffbot", "logoff-password")
        member = Member(server.url, *server.register("member", "member-password"))
        config = migrated_logoff(work, server.url, bot_id)
        db_url = f"sqlite://{work / 'data' / 'logoff.db'}"

        def logoff(name: str, checkout: Path) -> Launch:
            probe = str(REPO / "benchmarks" / "first_probe.py")  # the other tree may lack it
            argv = [sys.executable, probe, "--config", str(config), "run"]
            return Launch(name, argv, checkout, work / f"{name}.log", "matrix ready")

        launches = [logoff("this", REPO)]
        if args.other:
            launches.append(logoff("other", Path(args.other)))
        launches[0].start()
        await member.sync(0)
        room = await member.room_with(bot_id)
        await member.roundtrip(room, '!pledge new "Attend one local meeting" per month times 80')
        await member.wait_quiet(time.time() + 2)
        launches[0].stop()
        await fill_jobs(db_url, args.jobs)
        got: dict[str, dict[str, list[list[float]]]] = {x.name: {} for x in launches}
        steps: dict[str, dict[str, list[dict[str, float]]]] = {x.name: {} for x in launches}
        imported: dict[str, dict[str, Counter[str]]] = {x.name: {} for x in launches}
        for _ in range(args.launches):
            for launch in launches:
                before = launch.log.stat().st_size if launch.log.exists() else 0
                launch.start()
                await member.sync(0)
                await asyncio.sleep(args.pause)
                sends: list[tuple[str, float, float]] = []
                for n in range(1 + args.later):
                    kind = "first" if n == 0 else "later"
                    await member.sync(0)
                    sent = time.perf_counter()
                    took = await member.roundtrip(room, "!done 1")
                    sends.append((kind, sent, took))
                await member.wait_quiet(time.time() + 0.5)
                launch.stop()
                lines = probe_lines(launch.log.read_bytes()[before:].decode(errors="replace"))
                for kind, sent, took in sends:
                    got[launch.name].setdefault(kind, []).append([took])
                    steps[launch.name].setdefault(kind, []).append(steps_after(lines, sent))
                    imported[launch.name].setdefault(kind, Counter()).update(
                        modules_after(lines, sent)
                    )
        for launch in launches:
            print(f"== {launch.name} ({launch.cwd})")
            for kind in ("first", "later"):
                trips = [t[0] for t in got[launch.name][kind]]
                print(
                    f"  {kind}: round trip median {statistics.median(trips):.1f} ms "
                    f"({', '.join(f'{t:.0f}' for t in trips)})"
                )
            print("  step (ms after the member's send, median)   first   later   first-later")
            for step in STEPS:
                first = [s[step] for s in steps[launch.name]["first"] if step in s]
                later = [s[step] for s in steps[launch.name]["later"] if step in s]
                if not first and not later:
                    continue
                a = statistics.median(first) if first else float("nan")
                b = statistics.median(later) if later else float("nan")
                seen = f" (in {len(first)}/{len(later)})" if step == "connect new" else ""
                print(f"    {step:<40} {a:7.1f} {b:7.1f} {a - b:+8.1f}{seen}")
            print("  inside Logoff, per command (ms, median)      first   later   first-later")
            for label, begin, end in SEGMENTS:
                first = spans(steps[launch.name]["first"], begin, end)
                later = spans(steps[launch.name]["later"], begin, end)
                if first and later:
                    a, b = statistics.median(first), statistics.median(later)
                    print(f"    {label:<40} {a:7.1f} {b:7.1f} {a - b:+8.1f}")
            for kind in ("first", "later"):
                mods = imported[launch.name].get(kind, Counter())
                print(f"  modules imported by {kind} commands ({sum(mods.values())}):")
                for name, count in sorted(mods.items()):
                    print(f"    {name} x{count}")
    finally:
        await wind_down(member, launches, server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--later", type=int, default=5)
    parser.add_argument("--pause", type=float, default=2.0)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--other", default="", help="a second copy of the sources to compare")
    run_compared(parser.parse_args(), run)


if __name__ == "__main__":
    main()
