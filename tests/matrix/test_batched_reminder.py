"""A reminder naming 20 pledges: every pledge gets its own one-tap number on Matrix."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from nio import RoomMessagesResponse

from adapters.matrix import adapter as adapter_module
from adapters.matrix import render
from adapters.matrix.idempotency import find_parts, txn_id
from bot.clock import VirtualClock
from bot.messages.actions import decode
from bot.messages.markup import unescape_plain
from bot.messages.notices import REMIND, Notice
from bot.messages.notices import render as render_notices
from bot.rules.periods import period_at
from bot.scheduling import crash_points
from storage import choices as choice_queries
from storage.records import MemberRec, PledgeRec
from tests.matrix.harness import (
    Member,
    Seen,
    in_reply_to,
    new_bot_account,
    room_with_pledge,
    running_bot,
    sent_by,
)
from tests.matrix.html_rules import message_problems
from tests.services.synapse import SynapseServer

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
PLEDGES = 20


def _notices(count: int) -> list[Notice]:
    week = period_at(MONDAY, "week", BERLIN, 0)
    members = [
        MemberRec(i, "matrix", f"@m{i}:example.org", f"M{i}", None, None, None) for i in (1, 2)
    ]
    out = []
    for n in range(1, count + 1):
        pledge = PledgeRec(
            n, 1, n, f"Pledge {n}", "week", 1, None, None, "thu 18:00", "active",
            None, None, None, datetime(2026, 11, 30, tzinfo=UTC),
        )  # fmt: skip
        out.append(Notice(REMIND, members[n % 2], pledge, week, dm=False))
    return out


def test_every_pledge_of_a_batch_gets_a_number_and_ten_fit_in_one_message() -> None:
    reply = render_notices(REMIND, _notices(PLEDGES), dm=False)
    assert len(reply.buttons) < 4 * PLEDGES  # the buttons run out: the numbers do not
    parts = render.batch_parts(reply)
    assert parts is not None
    assert [len(actions) for _, actions in parts] == [10, 10]
    answered = [decode(a) for _, actions in parts for a in actions]
    assert [a.pledge_id for a in answered if a is not None] == list(range(1, PLEDGES + 1))
    assert {a.verb for a in answered if a is not None} == {"done"}
    first, second = (unescape_plain(part.text) for part, _ in parts)  # member text unmarked
    assert first.splitlines()[1].startswith("1️⃣ **Pledge 1**")
    assert "🔟 **Pledge 10**" in first
    assert second.startswith("(continued: pledges 11–20 of 20)\n1️⃣ **Pledge 11**")
    for part, _ in parts:
        content = render.safe_message(render.content(part, msgtype="m.text"))
        assert message_problems(content) == []
        assert render.NUMBER_HINT in content["body"]
    one_pledge = render_notices(REMIND, _notices(1), dm=False)
    assert render.batch_parts(one_pledge) is None  # ✅ ❌ ⏭ 💤 as before


async def test_a_reminder_of_twenty_pledges_answers_each_in_one_tap_on_synapse(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    account.commands_per_minute = 0
    alice = await Member.register(synapse_server, "Alice")
    clock = VirtualClock(MONDAY)
    try:
        async with running_bot(synapse_server, account, clock=clock) as app:
            room = await alice.room_with_bot(account.user_id)
            for n in range(1, PLEDGES + 1):
                await alice.reply_to(
                    await alice.send(
                        room, f'!pledge new "Pledge {n:02d}" per week remind "thu 18:00"'
                    )
                )
            mark = len(alice.seen)
            await app.scheduler.advance_to(clock, datetime(2026, 12, 3, 18, 5, tzinfo=BERLIN))

            def reminder(s: Seen) -> bool:
                return sent_by(account.user_id)(s) and render.NUMBER_HINT in s.content["body"]

            first = await alice.wait_for(reminder, after=mark)
            follow = await alice.wait_for(
                lambda s: reminder(s) and s.event_id != first.event_id, after=mark
            )
            for part in (first, follow):
                assert part.content["msgtype"] == "m.text"  # a ping, not a silenced notice
                assert part.content["m.mentions"] == {"user_ids": [alice.user_id]}
            assert "1️⃣ Pledge 01" in first.content["body"]
            assert "🔟 Pledge 10" in first.content["body"]
            assert "1️⃣ Pledge 11" in follow.content["body"]
            assert "🔟 Pledge 20" in follow.content["body"]
            for part, offset in ((first, 0), (follow, 10)):
                for k, key in enumerate(render.CHOICE_KEYS):
                    await alice.react(room, part.event_id, key)
                    answer = await alice.wait_for(
                        lambda s, e=part.event_id, title=f"Pledge {offset + k + 1:02d}": (
                            sent_by(account.user_id)(s)
                            and in_reply_to(s) == e
                            and title in s.content["body"]
                        ),
                    )
                    assert "1/1" in answer.content["body"]
            board = await alice.reply_to(await alice.send(room, "!pledge list"))
            assert "0/1" not in board.content["body"]
    finally:
        await alice.close()


def _event(event_id: str, content: dict[str, object]) -> SimpleNamespace:
    return SimpleNamespace(event_id=event_id, source={"content": content})


class _History:
    """The bot's own events in one room, newest first, one page at a time."""

    def __init__(self, events: list[SimpleNamespace]) -> None:
        self.events = events

    async def room_messages(self, room_id: str, start: str | None, **_: object) -> object:
        at = int(start or 0)
        page = self.events[at : at + 2]
        return RoomMessagesResponse(room_id, page, str(at), str(at + 2) if page else None)


async def test_find_parts_tells_a_whole_batch_from_one_cut_short() -> None:
    key = "send:g1:k1"
    cut = _History([
        _event("$other", {"org.logoff.key": "send:g1:k10:part2"}),  # another job's part
        _event("$x", {"org.logoff.key": "send:g1:k1:partly"}),
        _event("$p3", {"org.logoff.key": f"{key}:part3"}),
        _event("$p1", {"org.logoff.key": key, "org.logoff.parts": 3}),
        _event("$old", {"org.logoff.key": f"{key}:part2"}),  # older than the first: not its
    ])  # fmt: skip
    found = await find_parts(cut, "!r", "@bot", key)  # type: ignore[arg-type]
    assert found is not None
    assert (found.event_id, found.parts, found.found) == ("$p1", 3, {1: "$p1", 3: "$p3"})
    assert not found.complete
    whole = _History(
        [
            _event("$p2", {"org.logoff.key": f"{key}:part2"}),
            _event("$p1", {"org.logoff.key": key, "org.logoff.parts": 2}),
        ]
    )
    found = await find_parts(whole, "!r", "@bot", key)  # type: ignore[arg-type]
    assert found is not None
    assert found.complete
    single = _History([_event("$one", {"org.logoff.key": key, "org.logoff.parts": "2"})])
    found = await find_parts(single, "!r", "@bot", key)  # type: ignore[arg-type]
    assert found is not None
    assert found.complete  # no count (or not a number): one message, as before
    assert await find_parts(_History([]), "!r", "@bot", key) is None  # type: ignore[arg-type]


class _Killed(Exception):
    """Stands for the SIGKILL a crash point sends."""


async def test_a_batch_cut_short_by_a_crash_gets_only_its_missing_part_on_a_new_device(
    synapse_server: SynapseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first part of a 20-pledge reminder went out, then the process died; the retry comes
    where Synapse's transaction ids cannot help (another device, past its 30 minutes): the
    first part is found without its follow-up, so `find_sent` does not call it sent, and the
    send that follows posts only the follow-up. Every part reaches the member once."""
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account) as app:
            _, group = await room_with_pledge(alice, account.user_id)
            key = f"send:g{group.id}:batch:1"
            batch = render_notices(REMIND, _notices(PLEDGES), dm=False)
            reply = replace(batch, extra={**batch.extra, "idempotency_key": key})

            def die_between_parts(name: str) -> None:
                if name == "batch_part":
                    raise _Killed

            monkeypatch.setattr(crash_points, "reached", die_between_parts)
            with pytest.raises(_Killed):
                await app.outbox.send_to_group(group, reply)
            monkeypatch.undo()
            # A new device: transaction ids dedupe nothing any more.
            monkeypatch.setattr(adapter_module, "txn_id", lambda k, p="": f"new-{txn_id(k, p)}")
            assert await app.outbox.find_sent(key, group, None) is None  # cut short: not sent
            first = await app.outbox.send_to_group(group, reply)
            assert await app.outbox.find_sent(key, group, None) == first
            await alice.sync(300)
            offered = [
                await choice_queries.find_choices("matrix", s.event_id)
                for s in alice.seen
                if str(s.content.get("org.logoff.key", "")).startswith(key)
            ]
            assert len(offered) == 2
            assert None not in offered  # the found part's choices are kept too

        def copies(k: str) -> list[Seen]:
            return [s for s in alice.seen if s.content.get("org.logoff.key") == k]

        (part1,) = copies(key)
        assert part1.event_id == first
        assert part1.content["org.logoff.parts"] == 2
        (part2,) = copies(f"{key}:part2")
        assert "1️⃣ Pledge 11" in part2.content["body"]

        def seeded(event_id: str) -> int:
            return sum(
                1
                for s in alice.seen
                if s.source.get("type") == "m.reaction"
                and s.source.get("sender") == account.user_id
                and (s.content.get("m.relates_to") or {}).get("event_id") == event_id
            )

        assert seeded(part1.event_id) == 10  # seeded once, before the crash
        assert seeded(part2.event_id) == 10
    finally:
        await alice.close()
