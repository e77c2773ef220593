"""Two `logoff run` processes, a shard each, one PostgreSQL: nothing answered or sent twice."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bot.clock import SystemClock
from bot.messages.notices import reply_to_json
from bot.messages.replies import Reply, Visibility
from bot.scheduling import attention
from storage import database
from storage import groups as group_queries
from storage import jobs as job_queries
from storage.records import NewJob
from tests.discord_peer import DiscordPeer, InteractionHandle, PeerChannel
from tests.discord_peer.shards import shard_of
from tests.support.processes import interrupt

REPO = Path(__file__).resolve().parents[2]
SHARDS = 2
NOTES = 12  # scheduled messages per guild
WAIT = 60.0
# The real `logoff run`, with discord.py pointed at the local peer (as the in-process tests do).
LAUNCH = """
import sys
from tests.discord_peer.server import patch_discord
with patch_discord(int(sys.argv[1])):
    from bot.app.cli import main
    sys.exit(main(sys.argv[2:]))
"""


def write_config(folder: Path, url: str, shard: int) -> Path:
    folder.mkdir(parents=True)
    path = folder / "config.toml"
    path.write_text(
        f'[bot]\ndata_dir = "{folder / "data"}"\ntimezone = "Europe/Berlin"\n'
        f'[database]\nurl = "{url}"\n'
        # Scheduled messages must go out whenever the test runs, night included.
        '[schedule]\nquiet_hours = "off"\n'
        f'[discord]\nenabled = true\ntoken = "peer-token"\n'
        f"shard_count = {SHARDS}\nshard_ids = [{shard}]\n",
        encoding="utf-8",
    )
    return path


def start(port: int, config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", LAUNCH, str(port), "--config", str(config), "run"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def plan_notes(channel: PeerChannel, due_in: timedelta) -> list[str]:
    """Messages for the channel's group, due soon, as the scheduler's expansion stores them."""
    group = await group_queries.find_group("discord", str(channel.id))
    assert group is not None
    now = SystemClock().now()
    texts, jobs = [], []
    for n in range(NOTES):
        text = f"Scheduled note {n} for {channel.id}"
        key = f"send:g{group.id}:shard-test:{n}"
        reply = Reply(text, Visibility.PUBLIC, extra={"idempotency_key": key})
        out = attention.Outgoing(key, now + due_in, group.id, None, reply, "note", None, None)
        jobs.append(
            NewJob(
                key,
                "send",
                out.due_at,
                group.id,
                attention.send_payload(out, reply_to_json(reply), now),
            )
        )
        texts.append(text)
    await job_queries.plan(jobs, now)
    return texts


async def test_two_processes_with_a_shard_each_answer_every_interaction_once_and_send_once(
    tmp_path: Path, postgres_url: str
):
    async with DiscordPeer(shard_count=SHARDS) as peer:
        home = shard_of(peer.guild.id, SHARDS)
        other = peer.add_guild("Second Guild", peer.owner, shard=1 - home)
        second = peer.add_channel(other, "general")
        peer.add_member(other, peer.member)
        channels = {home: peer.channel, 1 - home: second}

        # Migrated once, and kept open here to plan the notes the processes will race for.
        await database.migrate(postgres_url, keep_open=True)
        bots = [
            start(
                peer.port,
                write_config(tmp_path / f"bot{s}", postgres_url, s),
                tmp_path / f"bot{s}.log",
            )
            for s in range(SHARDS)
        ]
        try:
            await peer.wait_connected(timeout=WAIT)
            assert sorted(i["shard"] for i in peer.gateway.identifies) == [[0, 2], [1, 2]]
            assert peer.gateway.shards[home].identifies[0]["shard"] == [home, 2]

            handles: list[InteractionHandle] = []

            async def slash(channel: PeerChannel | None, name: str, **options: object) -> None:
                command, _, sub = name.partition(" ")
                handle = await peer.slash(
                    peer.member, channel, command, subcommand=sub or None, options=options
                )
                await handle.wait_reply(timeout=WAIT)
                handles.append(handle)

            for channel in channels.values():
                await slash(channel, "pledge new", title="Call a neighbour", per="week", times=1)
            notes = [
                t for c in channels.values() for t in await plan_notes(c, timedelta(seconds=8))
            ]
            # A second pledge in each guild re-plans, which wakes each process's scheduler: both
            # then sleep until the same due notes and race for them.
            for channel in channels.values():
                await slash(channel, "pledge new", title="Knock on doors", per="week", times=1)
                await slash(channel, "pledge list")
            await slash(None, "help")  # a DM: Discord sends it to shard 0

            def all_sent() -> bool | None:
                seen = {m.content for m in peer.messages}
                return True if all(n in seen for n in notes) else None

            await peer.changed.wait_for(all_sent, WAIT, "every scheduled note")
            await asyncio.sleep(3)  # time for a duplicate to show, were one on its way

            for handle in handles:
                callbacks = [
                    r
                    for r in peer.requests
                    if r.path.endswith("/callback") and f"/interactions/{handle.id}/" in r.path
                ]
                assert len(callbacks) == 1, handle.payload
            per_shard = {
                s: [d.data["id"] for d in g.backlog if d.event == "INTERACTION_CREATE"]
                for s, g in peer.gateway.shards.items()
            }
            # Three commands in each guild; the DM goes to shard 0.
            assert len(per_shard[home]) == 3 + (1 if home == 0 else 0)
            assert len(per_shard[1 - home]) == 3 + (1 if home == 1 else 0)
            assert sorted(int(i) for ids in per_shard.values() for i in ids) == sorted(
                h.id for h in handles
            )
            copies = Counter(m.content for m in peer.messages if m.content in notes)
            assert copies == dict.fromkeys(notes, 1)
            logs = [(tmp_path / f"bot{s}.log").read_text() for s in range(SHARDS)]
            assert all(b.poll() is None for b in bots), logs
        finally:
            for bot in bots:
                interrupt(bot)
            await database.close_database()
        assert all("Traceback" not in (tmp_path / f"bot{s}.log").read_text() for s in range(SHARDS))
