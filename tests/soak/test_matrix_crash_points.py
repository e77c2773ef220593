"""A bot killed at each step of answering a command answers it exactly once after a restart.

Deterministic companions of the Matrix soak: the crash point fires on the first command, the
process dies by SIGKILL there, and the next life (without crash points) finishes the job.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from storage import models as m
from tests.matrix.harness import Member, Seen, in_reply_to, unique
from tests.services.synapse import SynapseServer
from tests.soak.harness import connected
from tests.soak.matrix_harness import (
    Instance,
    MatrixSoak,
    Tally,
    Watcher,
    age_leases,
    ask,
    judge,
    set_up_rooms,
    wait_answered,
    wait_ready,
)


@asynccontextmanager
async def _one_bot(
    soak: MatrixSoak,
) -> AsyncIterator[tuple[MatrixSoak, Instance, Member, Tally]]:
    """One `logoff run` instance on a migrated database, and a member client whose watcher
    counts what reaches it; all stopped on the way out."""
    soak.register_bot()
    bot = soak.add_instance()
    soak.migrate()
    member = await Member.register(soak.server, "Counter")
    tally = Tally(soak.user_id)
    watcher = Watcher(member, tally)
    watcher.start()
    try:
        yield soak, bot, member, tally
    finally:
        bot.stop()
        await watcher.stop()
        await member.close()


def _points_bot(
    tmp_path: Path, synapse_server: SynapseServer, backend: str, request: pytest.FixtureRequest
) -> AbstractAsyncContextManager[tuple[MatrixSoak, Instance, Member, Tally]]:
    """`_one_bot` on a SQLite file or on a new PostgreSQL database."""
    if backend == "sqlite":
        url = f"sqlite://{tmp_path}/points.db"
    else:
        url = request.getfixturevalue("postgres_server").create_database(unique("points"))
    return _one_bot(MatrixSoak(tmp_path / "points", synapse_server, url))


async def _killed(bot: Instance, within: float = 30) -> None:
    """Wait for the crash point's SIGKILL."""
    await asyncio.to_thread(bot.proc.wait, within)  # type: ignore[union-attr]
    assert bot.proc is not None
    assert bot.proc.returncode == -9, bot.log_text()[-2000:]


@pytest.mark.parametrize(
    ("backend", "point"),
    [
        ("sqlite", "handled"),
        ("sqlite", "replied"),
        ("sqlite", "claimed"),
        ("postgres", "claimed"),
        ("sqlite", "undone"),
        ("postgres", "undone"),
    ],
)
async def test_a_command_interrupted_at_a_crash_point_is_answered_once_after_restart(
    tmp_path: Path, synapse_server: SynapseServer, backend: str, point: str, request
):
    """`claimed`: the event is taken (on SQLite nothing of it is written yet, on PostgreSQL
    its claim is committed); `undone`: a refused command's transaction was rolled back and
    its reply not stored yet (bot.engine.claims); `handled`: written, not committed;
    `replied`: sent, not marked answered. The restarted bot answers the command once, and
    the check-in of `!done 1` is counted once."""
    async with _points_bot(tmp_path, synapse_server, backend, request) as (soak, bot, member, t):
        tally = t
        url = soak.url
        bot.start()
        await wait_ready(bot)
        room = await member.create_room(invite=(soak.user_id,))
        await wait_answered(tally, await ask(member, room, '!pledge new "Walk" per week', tally))
        bot.stop()
        bot.env["LOGOFF_CRASH_POINTS"] = f"{point}:1"
        bot.start()
        await wait_ready(bot)
        # `!done 7` is refused (there is no pledge 7): the path through `undone`.
        text = "!done 7" if point == "undone" else "!done 1"
        command = await ask(member, room, text, tally)
        await _killed(bot)
        answered_before = tally.replies[command]
        assert answered_before == (1 if point == "replied" else 0)
        bot.env.pop("LOGOFF_CRASH_POINTS")
        bot.start()
        await wait_ready(bot)
        await wait_answered(tally, command)
        # A second command proves the restarted bot is past the first one, and lets a
        # late duplicate of the first show up before we count.
        later = await ask(member, room, "!streak", tally)
        await wait_answered(tally, later)
        await asyncio.sleep(2.0)
        assert tally.replies[command] == 1
        done_answers = [b for k, b in tally.bodies.items() if k == f"reply:{command}"]
        assert len(done_answers) == 1
        assert ("7" if point == "undone" else "Walk") in done_answers[0], done_answers
        async with connected(url):
            checkins = await m.CheckIn.all().count()
        assert checkins == (0 if point == "undone" else 1)


async def _pledges_titled(url: str, title: str) -> int:
    async with connected(url):
        return await m.Pledge.filter(title=title).count()


@pytest.mark.parametrize("point", ["handled", "stored"])
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_pledge_made_just_before_a_kill_is_made_once_and_answered_once(
    tmp_path: Path, synapse_server: SynapseServer, backend: str, point: str, request
):
    """Issue 10: `pledge new` killed after its writes (`handled`: not committed yet; `stored`:
    committed with its reply, not sent) makes one pledge and gets one answer after restart:
    the re-delivered event runs the command again only if nothing of it was committed."""
    async with _points_bot(tmp_path, synapse_server, backend, request) as (soak, bot, member, t):
        tally = t
        url = soak.url
        bot.env["LOGOFF_CRASH_POINTS"] = f"{point}:1"
        bot.start()
        await wait_ready(bot)
        room = await member.create_room(invite=(soak.user_id,))
        command = await ask(member, room, '!pledge new "Walk at dawn" per week', tally)
        await _killed(bot)
        assert tally.replies[command] == 0
        # `handled` died inside the transaction, `stored` after its commit.
        assert await _pledges_titled(url, "Walk at dawn") == (1 if point == "stored" else 0)
        bot.env.pop("LOGOFF_CRASH_POINTS")
        bot.start()
        await wait_ready(bot)
        await wait_answered(tally, command)
        later = await ask(member, room, "!pledge list", tally)
        await wait_answered(tally, later)
        await asyncio.sleep(2.0)  # time for a late duplicate to show up
        assert tally.replies[command] == 1
        assert await _pledges_titled(url, "Walk at dawn") == 1
        assert "Walk at dawn" in tally.bodies[f"reply:{command}"]
        assert tally.bodies[f"reply:{later}"].count("Walk at dawn") == 1


async def _seen(member: Member, match: Callable[[Seen], bool], within: float = 30.0) -> Seen:
    """The first message the watcher saw from the bot that matches (the watcher syncs)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        for item in list(member.seen):
            mine = item.source.get("sender") == member.user_id
            if item.source.get("type") == "m.room.message" and not mine and match(item):
                return item
        await asyncio.sleep(0.05)
    raise TimeoutError("the bot's message never came")


async def test_choices_posted_just_before_a_kill_still_take_a_tap_after_restart(
    tmp_path: Path, synapse_server: SynapseServer
):
    """Issue 10: the bot dies right after Synapse accepted a reply with numbered choices
    (`posted`), before it learnt or kept the event id: the offer was stored under the reply's
    key before the send, the restart finds the reply in the room by that key and attaches
    it, and a reaction on it is answered."""
    async with _one_bot(
        MatrixSoak(tmp_path / "posted", synapse_server, f"sqlite://{tmp_path}/posted.db")
    ) as (soak, bot, member, tally):
        bot.env["LOGOFF_CRASH_POINTS"] = "posted:1"
        bot.start()
        await wait_ready(bot)
        room = await member.create_room(invite=(soak.user_id,))
        command = await ask(member, room, "!forget", tally)
        await _killed(bot)
        await wait_answered(tally, command)  # it went out before the kill
        asked = await _seen(member, lambda s: "Yes, delete" in str(s.content.get("body")))
        bot.env.pop("LOGOFF_CRASH_POINTS")
        bot.start()
        await wait_ready(bot)
        await member.react(room, asked.event_id, "2️⃣")
        answer = await _seen(member, lambda s: in_reply_to(s) == asked.event_id)
        assert "Cancelled: nothing was deleted." in answer.content["body"]
        later = await ask(member, room, "!help", tally)
        await wait_answered(tally, later)
        assert tally.replies[command] == 1  # the restart found it and did not send it again


async def test_a_batched_reminder_killed_between_its_parts_reaches_the_member_whole_once(
    tmp_path: Path, synapse_server: SynapseServer
):
    """Twelve pledges reminded at one minute: one reminder in two parts (ten numbers, then
    two). `logoff run` is SIGKILLed right after the first part went out (`batch_part`), and
    the next life logs in afresh (a new device: Synapse's transaction ids dedupe nothing, as
    past its 30 minutes or from another process). It finds the first part without its
    follow-up, posts only the follow-up, and records the job: the member sees each part once
    and every pledge reminded once."""
    async with _one_bot(
        MatrixSoak(tmp_path / "batch", synapse_server, f"sqlite://{tmp_path}/batch.db")
    ) as (soak, bot, member, tally):
        bot.env["LOGOFF_CRASH_POINTS"] = "batch_part:1"
        bot.start()
        await wait_ready(bot)
        _, titles = await set_up_rooms(
            soak, member, tally, rooms=1, per_minute=12, minutes=1, lead=timedelta(seconds=15)
        )
        await _killed(bot, within=150)
        await asyncio.sleep(1.0)  # the watcher catches up with what went out before the kill
        reminders = [
            k for k, body in tally.bodies.items() if not k.startswith("reply:") and "Walk" in body
        ]
        assert len(reminders) == 1, tally.bodies
        (key,) = reminders
        assert tally.keys[key] == 1
        assert f"{key}:part2" not in tally.keys
        session = soak.root / "data0" / "matrix" / "session.json"
        state = json.loads(session.read_text(encoding="utf-8"))
        old_device = state["device_id"]
        state.update(access_token="", device_id="")  # a fresh login: a new device
        session.write_text(json.dumps(state), encoding="utf-8")
        await age_leases(soak.url)  # as if it had been down for its lease
        bot.env.pop("LOGOFF_CRASH_POINTS")
        bot.start()
        await wait_ready(bot)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while f"{key}:part2" not in tally.keys:
            assert loop.time() < deadline, bot.log_text()[-3000:]
            await asyncio.sleep(0.1)
        later = await ask(member, next(iter(member.nio.rooms)), "!help", tally)
        await wait_answered(tally, later)
        await asyncio.sleep(2.0)  # room for a late duplicate to show
        assert json.loads(session.read_text(encoding="utf-8"))["device_id"] != old_device
        verdict = await judge(soak, tally, titles)
        assert verdict.duplicated_keys == {}
        assert verdict.missing_keys == set()
        assert key in verdict.sent_keys
        parts = [tally.bodies[key], tally.bodies[f"{key}:part2"]]
        named = Counter(t for body in parts for t in re.findall(r"Walk r0 m0 k\d+", body))
        assert named == Counter(dict.fromkeys(titles, 1)), named  # every pledge, once
        assert "in part [1]; the rest goes out" in bot.log_text()
