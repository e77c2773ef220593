"""Matrix figures through a real Synapse, Logoff beside a bare matrix-nio echo bot (prints only).

In one run, on one Synapse, measured by a member's nio client:
- command round-trip p50/p95 of `!done 1` (a database write) and `!pledge list` (a read), with
  the same number of round-trips to a bare nio echo bot interleaved one for one, so the gap to
  the bare bot is measured under the same load, not assumed;
- a burst of 50 commands sent at once: how many were answered, and how long the last took;
- reminders: 20 one-off reminders (the scheduler's snooze jobs) due half a second apart, each
  in its own room; delay from the due instant until the member's client has the message;
- ready after launch (the log line "matrix ready") with 100,000 pending jobs in the database,
  and RSS of both bots.

Run: .venv/bin/python -m benchmarks.matrix_roundtrip  (installs Synapse into .cache on first use)
     options: --commands 50 --reminders 20 --jobs 100000 --restarts 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILTER = {"room": {"timeline": {"limit": 100}}}
ECHO_READY = "echo ready"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return f"p50 {statistics.median(values):.1f} ms, p95 {pct(values, 0.95):.1f} ms"


# -- the bare echo bot (its own process) ------------------------------------------------------


async def echo_bot(
    url: str, user_id: str, password: str, timers: str = "", store: str = ""
) -> None:
    """The smallest useful nio bot: join on invite, answer each `!` line with a threaded notice.

    `timers`: a JSON file of `[room_id, epoch seconds, text]` to send at those instants (read at
    start: the floor for a timed message, a sleep until the due instant and one send); a fourth
    element, when present, is the whole message content to send instead of a plain m.text.
    `store`: a directory for nio's crypto store; the bot then runs encrypted (store + Olm, as
    nio's docs set up an encrypted bot; without it nio imports its crypto layer but runs none).
    """
    import json

    from nio import AsyncClient, AsyncClientConfig, InviteMemberEvent, MatrixRoom, RoomMessageText

    if store:
        Path(store).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
        client = AsyncClient(url, user_id, store_path=store, config=config)
    else:
        client = AsyncClient(url, user_id)
    await client.login(password)

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == client.user_id and event.membership == "invite":
            await client.join(room.room_id)

    async def on_text(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == client.user_id or not event.body.startswith("!"):
            return
        await client.room_send(
            room.room_id,
            "m.room.message",
            {
                "msgtype": "m.notice",
                "body": "echo: " + event.body,
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
            },
        )

    await client.sync(timeout=0, full_state=True)  # skip history
    client.add_event_callback(on_invite, InviteMemberEvent)  # type: ignore[arg-type]
    client.add_event_callback(on_text, RoomMessageText)  # type: ignore[arg-type]

    async def send_at(
        room_id: str, due: float, text: str, content: dict[str, object] | None = None
    ) -> None:
        await asyncio.sleep(max(0.0, due - time.time()))
        message = content or {"msgtype": "m.text", "body": text}
        await client.room_send(room_id, "m.room.message", message)

    pending = [
        asyncio.create_task(send_at(*timer))
        for timer in (json.loads(Path(timers).read_text()) if timers else [])  # noqa: ASYNC240
    ]
    print(ECHO_READY, flush=True)
    await client.sync_forever(timeout=30_000, sync_filter=FILTER)
    del pending


# -- processes ----------------------------------------------------------------------------------


class Proc:
    """A bot in a subprocess whose log says when it is ready."""

    def __init__(self, argv: list[str], log: Path, ready_line: str) -> None:
        self.argv, self.log, self.ready_line = argv, log, ready_line
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> float:
        """Start it; return seconds from launch until it logs that it is ready."""
        seen = self.log.read_text().count(self.ready_line) if self.log.exists() else 0
        start = time.perf_counter()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )
        while self.log.read_text().count(self.ready_line) <= seen:
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text())
            time.sleep(0.002)
        return time.perf_counter() - start

    @property
    def cpu_ms(self) -> float:
        """CPU time (user + system) the process has used so far."""
        if self.process is None:
            return float("nan")
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    @property
    def rss(self) -> float:
        return rss_mib(self.process.pid) if self.process else float("nan")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


# -- the member's side --------------------------------------------------------------------------


class Member:
    def __init__(self, url: str, user_id: str, token: str, device: str) -> None:
        from nio import AsyncClient

        self.client = AsyncClient(url, user_id)
        self.client.restore_login(user_id, device, token)
        self.user_id = user_id
        self.replies: dict[str, float] = {}  # command event id -> when its reply was seen
        self.pushes: list[tuple[str, float]] = []  # (room, wall time) of bot messages, no reply
        self.bots: set[str] = set()

    async def sync(self, timeout: int) -> None:  # noqa: ASYNC109 - the Matrix long-poll timeout
        from nio import SyncResponse

        resp = await self.client.sync(timeout=timeout, sync_filter=FILTER)
        assert isinstance(resp, SyncResponse), resp
        now_perf, now_wall = time.perf_counter(), time.time()
        for room_id in resp.rooms.invite:  # a DM the bot opened for reminders
            await self.client.join(room_id)
        for room_id, info in resp.rooms.join.items():
            for event in info.timeline.events:
                content = event.source.get("content") or {}
                relates = content.get("m.relates_to") or {}
                replied = (relates.get("m.in_reply_to") or {}).get("event_id")
                if replied:
                    self.replies[replied] = now_perf
                elif event.source.get("sender") in self.bots and "body" in content:
                    self.pushes.append((room_id, now_wall))

    async def send(self, room_id: str, text: str) -> str:
        from nio import RoomSendResponse

        resp = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text}
        )
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)

    async def roundtrip(self, room_id: str, text: str) -> float:
        start = time.perf_counter()
        event_id = await self.send(room_id, text)
        while event_id not in self.replies:
            await self.sync(30_000)
        return (self.replies[event_id] - start) * 1000

    async def burst(
        self, room_id: str, text: str, count: int, wait: float = 30.0
    ) -> tuple[int, float]:
        start = time.perf_counter()
        ids = await asyncio.gather(*(self.send(room_id, text) for _ in range(count)))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not all(i in self.replies for i in ids):
            await self.sync(1_000)
        answered = [self.replies[i] for i in ids if i in self.replies]
        last = (max(answered) - start) * 1000 if answered else float("nan")
        return len(answered), last

    async def room_with(self, bot_id: str) -> str:
        from nio import RoomCreateResponse

        created = await self.client.room_create(invite=[bot_id])
        assert isinstance(created, RoomCreateResponse), created
        return str(created.room_id)

    async def wait_joined(self, room_id: str, bot_id: str, wait: float = 15.0) -> None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            await self.sync(500)
            room = self.client.rooms.get(room_id)
            if room is not None and bot_id in room.users:
                return
        raise TimeoutError(f"{bot_id} did not join {room_id}")


# -- reminders through the scheduler's job table ------------------------------------------------


async def add_reminders(
    db_url: str, member_id: str, rooms: list[str], dues: list[datetime]
) -> None:
    """One snooze reminder (the job a 💤 tap makes, sent by DM) per group, due at `dues`."""
    import bot.commands  # noqa: F401 - first: `bot.scheduling.planning` alone is an import cycle
    from bot.rules import pledge_periods as tracking
    from bot.scheduling import planning
    from storage import database
    from storage import groups as group_queries
    from storage import jobs as job_queries
    from storage import pledges as pledge_queries

    await database.open_database(db_url)
    try:
        member = await group_queries.find_member("matrix", member_id)
        assert member is not None
        jobs = []
        for room_id, due in zip(rooms, dues, strict=True):
            group = await group_queries.find_group("matrix", room_id)
            assert group is not None
            pledge = (await pledge_queries.group_pledges(group.id, ("active",)))[0]
            period = tracking.current_period(pledge, group, due)
            jobs.append(planning.snooze_job(member, pledge, group, period.key, due))
        await job_queries.plan(jobs, datetime.now(UTC))
    finally:
        await database.close_database()


async def fill_jobs(db_url: str, count: int, first: int = 0) -> None:
    """`count` pending reminders a day or more ahead, as `benchmarks.startup` makes them."""
    from storage import database
    from storage import jobs as job_queries
    from storage.records import NewJob

    now = datetime.now(UTC)
    await database.open_database(db_url)
    try:
        jobs = [
            NewJob(
                f"remind:bench:{i}",
                "remind",
                now + timedelta(days=1, seconds=i),
                1_000_000 + i % 1000,  # no real group: planning must not cancel them
                {"pledge_id": i, "period_key": "week:2099-01-05"},
            )
            for i in range(first, first + count)
        ]
        await job_queries.plan(jobs, now)
    finally:
        await database.close_database()


# -- the run ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    from benchmarks.common import compile_sources
    from tests.services.synapse import SynapseServer

    compile_sources()

    work = Path(tempfile.mkdtemp(prefix="logoff-bench-"))
    server = SynapseServer(work / "synapse")
    server.start()
    bots: list[Proc] = []
    member: Member | None = None
    try:
        bot_id, _, _ = server.register("logoffbench", "bench-password")
        echo_id, _, _ = server.register("echobench", "echo-password")
        member_id, token, device = server.register("member", "member-password")
        config = work / "config.toml"
        config.write_text(
            f'[bot]\ndata_dir = "{work / "data"}"\ncommands_per_minute = 0\n'
            '[schedule]\nquiet_hours = "off"\n'  # the reminders are due whatever the hour
            "[matrix]\nenabled = true\n"
            f'homeserver = "{server.url}"\nuser_id = "{bot_id}"\npassword = "bench-password"\n'
        )
        cli = [sys.executable, "-m", "bot.app.cli", "--config", str(config)]
        db_url = f"sqlite://{work / 'data' / 'logoff.db'}"
        subprocess.run([*cli, "migrate"], cwd=REPO, check=True, capture_output=True)  # noqa: ASYNC221
        await fill_jobs(db_url, args.jobs)
        logoff = Proc([*cli, "run"], work / "bot.log", "matrix ready")
        echo = Proc(
            [
                sys.executable,
                "-m",
                "benchmarks.matrix_roundtrip",
                "--echo-bot",
                server.url,
                echo_id,
                "echo-password",
            ],
            work / "echo.log",
            ECHO_READY,
        )
        bots = [logoff, echo]
        first_ready = logoff.launch()
        echo_ready = echo.launch()

        member = Member(server.url, member_id, token, device)
        member.bots = {bot_id}
        await member.sync(0)
        room, echo_room = await member.room_with(bot_id), await member.room_with(echo_id)
        await member.wait_joined(room, bot_id)
        await member.wait_joined(echo_room, echo_id)
        await member.roundtrip(room, '!pledge new "Attend one local meeting" times 1000')
        for _ in range(5):  # warm-up
            await member.roundtrip(room, "!help")
            await member.roundtrip(echo_room, "!help")
        done, listed, bare = [], [], []
        cpu = logoff.cpu_ms, echo.cpu_ms
        for _ in range(args.commands):  # interleaved, so both see the same load
            done.append(await member.roundtrip(room, "!done 1"))
            bare.append(await member.roundtrip(echo_room, "!done 1"))
        cpu_logoff = (logoff.cpu_ms - cpu[0]) / args.commands
        cpu_echo = (echo.cpu_ms - cpu[1]) / args.commands
        for _ in range(args.commands):
            listed.append(await member.roundtrip(room, "!pledge list"))
        rss, echo_rss = logoff.rss, echo.rss
        burst = await member.burst(room, "!pledge list", 50)
        echo_burst = await member.burst(echo_room, "!pledge list", 50)

        # Reminders: one room (group) each, a weekly pledge the member joins by creating it.
        rooms = [await member.room_with(bot_id) for _ in range(args.reminders + 1)]
        for r in rooms:
            await member.wait_joined(r, bot_id)
            await member.roundtrip(r, '!pledge new "Walk to the market" per week')
        logoff.stop()
        # The first reminder opens the DM room (the member joins it); it is not counted.
        first = datetime.now(UTC) + timedelta(seconds=2.5)
        dues = [first + timedelta(seconds=0.5 * n) for n in range(len(rooms))]
        await add_reminders(db_url, member_id, rooms, dues)
        await member.sync(0)
        member.pushes.clear()
        ready = [logoff.launch()]
        deadline = time.monotonic() + 3 + 0.5 * len(rooms) + 10
        while len(member.pushes) < len(rooms) and time.monotonic() < deadline:
            await member.sync(1_000)
        # Due 0.5 s apart, so the n-th message is the n-th reminder.
        delays = [
            (t - d.timestamp()) * 1000 for (_, t), d in zip(member.pushes, dues, strict=False)
        ][1:]
        for _ in range(args.restarts - 1):
            logoff.stop()
            ready.append(logoff.launch())

        n = args.commands
        print(
            f"command round-trip, {n} sequential each, Logoff and a bare nio echo bot interleaved:"
        )
        print(f"  Logoff `!done 1` (DB write): {summary(done)}")
        print(f"  bare nio echo bot:           {summary(bare)}")
        gap50 = statistics.median(done) - statistics.median(bare)
        gap95 = pct(done, 0.95) - pct(bare, 0.95)
        print(f"  gap: p50 {gap50:+.1f} ms, p95 {gap95:+.1f} ms")
        print(f"  Logoff `!pledge list` (read): {summary(listed)}")
        print(
            f"  CPU per command (user + system, the bot process only): Logoff {cpu_logoff:.1f} ms,"
            f" echo bot {cpu_echo:.1f} ms"
        )
        print(
            f"burst of 50 commands sent at once: Logoff answered {burst[0]}/50 (last after "
            f"{burst[1]:.0f} ms); echo bot {echo_burst[0]}/50 ({echo_burst[1]:.0f} ms)"
        )
        print(
            f"reminders ({len(delays)}/{len(rooms) - 1} delivered), delay after the due instant: "
            f"{summary(delays)}"
        )
        print(
            f"ready after launch with {args.jobs:,} pending jobs: "
            f"first (login) {first_ready:.3f} s;"
            f" with a saved session {', '.join(f'{r:.3f}' for r in ready)} s"
            f" (echo bot, login: {echo_ready:.3f} s)"
        )
        print(f"RSS after the round-trips: Logoff {rss:.1f} MiB, echo bot {echo_rss:.1f} MiB")
    finally:
        if member is not None:
            await member.client.close()
        for bot in bots:
            bot.stop()
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--reminders", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--echo-bot", nargs="+", metavar="URL USER PASSWORD [TIMERS [STORE]]")
    args = parser.parse_args()
    if args.echo_bot:
        asyncio.run(echo_bot(*args.echo_bot))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
