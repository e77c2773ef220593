"""Matrix figures through a real Synapse: command round-trip p50/p95, ready time, RSS (prints only).

Run: .venv/bin/python -m benchmarks.matrix_roundtrip  (installs Synapse into .cache on first use)
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nio import AsyncClient, RoomCreateResponse, RoomSendResponse, SyncResponse

from tests.services.synapse import SynapseServer

REPO = Path(__file__).resolve().parents[1]
COMMANDS = 50
FILTER = {"room": {"timeline": {"limit": 100}}}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Bot:
    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bot.cli", "--config", str(self.config), *args]

    def launch(self) -> float:
        """Start `logoff run`; return seconds from launch until it logs that it is ready."""
        seen = self.log.read_text().count("matrix ready") if self.log.exists() else 0
        start = time.perf_counter()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.cli("run"), cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )
        while self.log.read_text().count("matrix ready") <= seen:
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text())
            time.sleep(0.002)
        return time.perf_counter() - start

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


async def until_reply(client: AsyncClient, command_id: str) -> None:
    while True:
        resp = await client.sync(timeout=30_000, sync_filter=FILTER)
        assert isinstance(resp, SyncResponse), resp
        for info in resp.rooms.join.values():
            for event in info.timeline.events:
                relates = (event.source.get("content") or {}).get("m.relates_to") or {}
                if (relates.get("m.in_reply_to") or {}).get("event_id") == command_id:
                    return


async def roundtrips(client: AsyncClient, room_id: str, text: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        resp = await client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text}
        )
        assert isinstance(resp, RoomSendResponse), resp
        await until_reply(client, resp.event_id)
        times.append((time.perf_counter() - start) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="logoff-bench-"))
    server = SynapseServer(work / "synapse")
    server.start()
    bot: Bot | None = None
    client: AsyncClient | None = None
    try:
        bot_id, _, _ = server.register("logoffbench", "bench-password")
        member_id, token, device = server.register("member", "member-password")
        config = work / "config.toml"
        config.write_text(
            f'[bot]\ndata_dir = "{work / "data"}"\n[matrix]\nenabled = true\n'
            f'homeserver = "{server.url}"\nuser_id = "{bot_id}"\npassword = "bench-password"\n'
        )
        bot = Bot(config, work / "bot.log")
        subprocess.run(bot.cli("migrate"), cwd=REPO, check=True, capture_output=True)  # noqa: ASYNC221
        first_ready = bot.launch()

        client = AsyncClient(server.url, member_id)
        client.restore_login(member_id, device, token)
        await client.sync(timeout=0, sync_filter=FILTER)
        created = await client.room_create(invite=[bot_id])
        assert isinstance(created, RoomCreateResponse), created
        room = created.room_id
        await asyncio.sleep(1.0)  # the bot joins and greets
        await roundtrips(client, room, '!pledge new "Attend one local meeting" times 100', 1)
        await roundtrips(client, room, "!help", 5)  # warm-up
        done = await roundtrips(client, room, "!done 1", COMMANDS)
        listed = await roundtrips(client, room, "!pledge list", COMMANDS)
        rss = rss_mib(bot.process.pid) if bot.process else float("nan")
        bot.stop()
        ready = [bot.launch()]
        for _ in range(2):
            bot.stop()
            ready.append(bot.launch())
        print(f"command round-trip `!done 1` (DB write), {COMMANDS} sequential through Synapse:")
        print(f"  p50 {statistics.median(done):.1f} ms, p95 {pct(done, 0.95):.1f} ms")
        print(f"command round-trip `!pledge list` (read), {COMMANDS} sequential:")
        print(f"  p50 {statistics.median(listed):.1f} ms, p95 {pct(listed, 0.95):.1f} ms")
        print(
            f"ready after launch: first (login) {first_ready:.3f} s; with a saved session "
            f"{', '.join(f'{r:.3f}' for r in ready)} s"
        )
        print(f"RSS after {2 * COMMANDS} commands: {rss:.1f} MiB")
    finally:
        if client is not None:
            await client.close()
        if bot is not None:
            bot.stop()
        server.close()


if __name__ == "__main__":
    asyncio.run(main())
