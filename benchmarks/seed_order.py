"""When a message's seeded reactions go out, and what that does to the message (prints only).

One throwaway Synapse, a member and two senders (nio clients in this process, each with its own
sync loop, as a bot and a member's client have): one shares only its DM room with the member
(the bare bot), the other `--rooms` more (Logoff's group rooms). They send a message with the
shape of Logoff's snooze DM (`benchmarks.peer.same_shape`), by turns: the first sender; the
second with no reactions; with 4 reactions at once (Logoff before the eighth session); with 4
once its own sync brought the message back (`adapters.matrix.echoes`, after). Delay = from the
send call until the member's sync has the message; the modes alternate message by message, so
they share the machine's load.

Run: .venv/bin/python -m benchmarks.seed_order  [--messages 120] [--gap 0.5] [--rooms 22]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import measured, percentile
from benchmarks.matrix_roundtrip import FILTER
from benchmarks.peer import same_shape

MODES = (
    "sender in 1 room, no reactions",
    "no reactions",
    "reactions at once",
    "reactions after the echo",
)
KEYS = ("✅", "❌", "⏭️", "💤")


class Synced:
    """A nio client's own sync loop, noting when each event id first came through it."""

    def __init__(self, url: str, user_id: str, token: str, device: str) -> None:
        from nio import AsyncClient

        self.client = AsyncClient(url, user_id)
        self.client.restore_login(user_id, device, token)
        self.arrived: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Event] = {}

    async def loop(self) -> None:
        from nio import SyncResponse

        since = None
        while True:
            resp = await self.client.sync(timeout=30_000, sync_filter=FILTER, since=since)
            wall = time.time()
            if not isinstance(resp, SyncResponse):
                await asyncio.sleep(0.1)
                continue
            since = resp.next_batch
            for room_id in resp.rooms.invite:
                await self.client.join(room_id)
            for info in resp.rooms.join.values():
                for event in info.timeline.events:
                    self.arrived.setdefault(event.event_id, wall)
                    waiter = self.waiting.pop(event.event_id, None)
                    if waiter is not None:
                        waiter.set()

    async def echo(self, event_id: str, timeout: float) -> None:  # noqa: ASYNC109
        if event_id in self.arrived:
            return
        waiter = self.waiting.setdefault(event_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout)


async def send(client: Any, room_id: str, kind: str, content: dict[str, Any]) -> str:
    from nio import RoomSendResponse

    resp = await client.room_send(room_id, kind, content)
    assert isinstance(resp, RoomSendResponse), resp
    return str(resp.event_id)


async def run(args: argparse.Namespace) -> None:
    from tests.services.synapse import SynapseServer

    server = SynapseServer(Path(tempfile.mkdtemp(prefix="logoff-seed-order-")) / "synapse")
    server.start()
    try:
        bare = Synced(server.url, *server.register("barebot", "bare-password"))
        bot = Synced(server.url, *server.register("seedbot", "seed-password"))
        member = Synced(server.url, *server.register("member", "member-password"))
        loops = [asyncio.create_task(c.loop()) for c in (bare, bot, member)]
        rooms = {}
        for sender, count in ((bare, 1), (bot, 1 + args.rooms)):
            for _ in range(count):
                created = await sender.client.room_create(invite=[member.client.user_id])
                rooms[sender] = created.room_id  # the last one: where it sends
        while any(r not in member.client.rooms for r in rooms.values()):  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # the member's loop joins on the invites
        await asyncio.sleep(2)
        delays: dict[str, list[float]] = {mode: [] for mode in MODES}
        seeding: set[asyncio.Task[None]] = set()
        sent: list[tuple[str, str, float]] = []
        for n in range(args.messages):
            mode = MODES[n % len(MODES)]
            start = time.time()
            sender = bare if mode == MODES[0] else bot
            room_id = rooms[sender]
            event_id = await send(sender.client, room_id, "m.room.message", same_shape(n))
            sent.append((mode, event_id, start))

            async def seed(room_id: str, event_id: str, mode: str) -> None:
                if mode == MODES[3]:
                    await bot.echo(event_id, 1.0)
                await asyncio.gather(
                    *(
                        send(
                            bot.client,
                            room_id,
                            "m.reaction",
                            {
                                "m.relates_to": {
                                    "rel_type": "m.annotation",
                                    "event_id": event_id,
                                    "key": key,
                                }
                            },
                        )
                        for key in KEYS
                    )
                )

            if mode in MODES[2:]:
                task = asyncio.create_task(seed(room_id, event_id, mode))
                seeding.add(task)
                task.add_done_callback(seeding.discard)
            await asyncio.sleep(args.gap)
        await asyncio.sleep(2)
        for mode, event_id, start in sent[len(MODES) :]:  # the first turn warms up
            if event_id in member.arrived:
                delays[mode].append((member.arrived[event_id] - start) * 1000)
        for mode, values in delays.items():
            print(
                f"{mode}: p50 {statistics.median(values):.0f} ms, p95 "
                f"{percentile(values, 95):.0f} ms ({len(values)} messages)"
            )
        for task in loops:
            task.cancel()
        for c in (bare, bot, member):
            await c.client.close()
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=120)
    parser.add_argument("--rooms", type=int, default=22, help="more rooms of the second sender")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between messages")
    args = parser.parse_args()
    measured(run(args))


if __name__ == "__main__":
    main()
