"""Delivery delay of timed messages through Synapse, Logoff beside the bare nio bot (prints only).

The delivery step of `benchmarks.peer` alone, so it can be repeated: one throwaway Synapse,
`--timed` + 1 rooms where the member made a pledge with Logoff (a snooze reminder each, sent by
DM: the first opens the DM room and is not counted; the member leaves it after each round, so
every round opens one), the bare echo bot's timers in its room, due 0.5 s apart (the bare
bot's 0.25 s after Logoff's), starting 8 s after both were launched (steady state, not the
catch-up after a start). Delay = from the due instant until the member's
client has the message. With `--other DIR` (a copy of another checkout's sources, run with this
venv from DIR) each round is repeated with that Logoff, alternating, on the same Synapse.

Run: .venv/bin/python -m benchmarks.delivery_peer  [--rounds 2] [--timed 20] [--other DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import compile_sources, measured, percentile
from benchmarks.matrix_roundtrip import ECHO_READY, add_reminders
from benchmarks.peer import Member, first_events, median, migrated_logoff, same_shape
from benchmarks.ready_trace import Launch

REPO = Path(__file__).resolve().parents[1]


async def run(args: argparse.Namespace) -> None:
    from tests.services.synapse import SynapseServer

    work = Path(tempfile.mkdtemp(prefix="logoff-delivery-"))
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
        cli = ["-m", "bot.app.cli", "--config", str(config)]
        timers = work / "bare-timers.json"
        timers.write_text("[]")
        echo = ["-m", "benchmarks.matrix_roundtrip", "--echo-bot", server.url, bare_id]
        echo = [sys.executable, *echo, "bare-password", str(timers)]
        bare = Launch(
            "bare",
            echo,
            REPO,
            work / "bare.log",
            ECHO_READY,
        )
        logoffs = [
            Launch("this", [sys.executable, *cli, "run"], REPO, work / "this.log", "matrix ready")
        ]
        if args.other:
            other = Path(args.other)
            logoffs.append(
                Launch(
                    "other",
                    [sys.executable, *cli, "run"],
                    other,
                    work / "other.log",
                    "matrix ready",
                )
            )
        launches = [bare, *logoffs]
        bare.start()
        logoffs[0].start()
        await member.sync(0)
        bare_room = await member.room_with(bare_id)
        rooms = []
        for n in range(args.timed + 1):
            rooms.append(await member.room_with(bot_id))
            await member.roundtrip(rooms[-1], f'!pledge new "Walk to the market {n}" per week')
        # A round trip may count the bot's hello as the answer: let the last command finish
        # before the stop, or the next start replays it.
        await member.wait_quiet(time.time() + 3)
        for launch in launches:
            launch.stop()
        delays: dict[str, list[float]] = {launch.name: [] for launch in launches}
        splits: dict[str, dict[str, list[float]]] = {}
        for _ in range(args.rounds):
            for logoff in logoffs:
                t0 = int(time.time() + 8 + 3)  # after both launches
                logoff_dues = [t0 + 0.5 * n for n in range(args.timed + 1)]
                bare_dues = [d + 0.25 for d in logoff_dues]
                await add_reminders(
                    db_url,
                    member.user_id,
                    rooms,
                    [datetime.fromtimestamp(d, UTC) for d in logoff_dues],
                )
                timers.write_text(
                    json.dumps(
                        [
                            [bare_room, d, f"timed {n}", *floor_content(n, args)]
                            for n, d in enumerate(bare_dues)
                        ]
                    )
                )
                await member.sync(0)
                start = time.time()
                bare.start()
                logoff.start()
                pids = {
                    "Synapse": server._process.pid if server._process else 0,
                    logoff.name: logoff.process.pid if logoff.process else 0,
                    "bare": bare.process.pid if bare.process else 0,
                }
                await asyncio.sleep(max(0.0, logoff_dues[0] - 1 - time.time()))
                cpu_before = {name: cpu_ms(pid) for name, pid in pids.items()}
                await member.wait_quiet(logoff_dues[-1] + 5)
                # CPU time while the timed messages go out: what each costs, whatever the load.
                print(
                    "CPU while delivering: "
                    + ", ".join(
                        f"{name} {cpu_ms(pid) - cpu_before[name]:.0f} ms"
                        for name, pid in pids.items()
                    ),
                    flush=True,
                )
                for launch, word, dues in (
                    (logoff, "Walk to the market", logoff_dues),
                    (bare, "timed", bare_dues),
                ):
                    got = member.messages_since(bot_id if launch is logoff else bare_id, start)
                    arrived = first_events(got, word, args.timed + 1)
                    counted = [
                        (arrived[n], dues[n]) for n in range(1, args.timed + 1) if n in arrived
                    ]
                    got_delays = [(seen.wall - due) * 1000 for seen, due in counted]
                    name = launch.name if launch is logoff else f"bare (beside {logoff.name})"
                    delays.setdefault(name, []).extend(got_delays)
                    # Where the delay lies: until Synapse made the event (its origin_server_ts),
                    # and from there until the member's client had it.
                    for part, values in (
                        ("to server", [(seen.server - due) * 1000 for seen, due in counted]),
                        (
                            "server to member",
                            [(seen.wall - seen.server) * 1000 for seen, _ in counted],
                        ),
                    ):
                        splits.setdefault(name, {}).setdefault(part, []).extend(values)
                    print(
                        f"{name}: {len(arrived)}/{args.timed + 1} delivered, p50 "
                        f"{median(got_delays):.0f} ms (to server "
                        f"{median([(s.server - due) * 1000 for s, due in counted]):.0f}), load "
                        f"{os.getloadavg()[0]:.1f}, delays "
                        + ", ".join(f"{d:.0f}" for d in got_delays),
                        flush=True,
                    )
                bare.stop()
                logoff.stop()
                timers.write_text("[]")
                # The member leaves the DM room: every round's first message opens a new one,
                # as the first DM to a member does (and the round's second message follows it).
                for room_id in {
                    s_room for s_room, msgs in member.seen.items() if s_room not in rooms
                }:
                    if room_id != bare_room:
                        await member.client.room_leave(room_id)
                        member.seen.pop(room_id, None)
        for name, values in delays.items():
            if values:
                print(
                    f"{name}: p50 {statistics.median(values):.0f} ms, "
                    f"p95 {percentile(values, 95):.0f} ms, max {max(values):.0f} ms "
                    f"({len(values)} timed); p50 "
                    + ", ".join(
                        f"{part} {statistics.median(part_values):.0f} ms"
                        for part, part_values in splits.get(name, {}).items()
                    )
                )
    finally:
        if member is not None:
            await member.client.close()
        for launch in launches:
            launch.stop()
        server.close()


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def floor_content(n: int, args: argparse.Namespace) -> list[dict[str, object]]:
    """With `--same-message`, what the bare bot sends has the shape of Logoff's snooze DM
    (`benchmarks.peer.same_shape`); without it, nothing: a plain m.text."""
    return [same_shape(n)] if args.same_message else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--same-message",
        action="store_true",
        help="the bare bot sends content shaped like Logoff's DM, not a plain m.text",
    )
    parser.add_argument("--timed", type=int, default=20)
    parser.add_argument("--other", default="", help="a second copy of the sources to compare")
    args = parser.parse_args()
    compile_sources()
    measured(run(args))


if __name__ == "__main__":
    main()
