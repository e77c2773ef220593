"""Through the real scheduler: a due reminder reaches the room as a ping, and ✅ answers it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.matrix.idempotency import CONTENT_KEY
from bot.app.bootstrap import App
from bot.clock import VirtualClock
from storage import sent as sent_queries
from tests.matrix.harness import (
    Member,
    Seen,
    in_reply_to,
    new_bot_account,
    running_bot,
    sent_by,
)
from tests.services.synapse import SynapseServer

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


async def test_a_scheduled_reminder_pings_its_member_and_a_reaction_answers_it(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    clock = VirtualClock(MONDAY)
    try:
        async with running_bot(synapse_server, account, clock=clock) as app:
            jobs = app.scheduler
            room = await alice.room_with_bot(account.user_id)
            await alice.reply_to(
                await alice.send(room, '!pledge new "Call a neighbour" per week remind "thu 18:00"')
            )
            mark = len(alice.seen)
            await jobs.advance_to(clock, datetime(2026, 12, 3, 18, 5, tzinfo=BERLIN))
            reminder = await alice.wait_for(
                lambda s: (
                    sent_by(account.user_id)(s)
                    and s.content.get("msgtype") == "m.text"
                    and alice.user_id in (s.content.get("m.mentions") or {}).get("user_ids", [])
                ),
                after=mark,
            )
            assert "Call a neighbour" in reminder.content["body"]
            assert reminder.content["m.mentions"] == {"user_ids": [alice.user_id]}
            await alice.react(room, reminder.event_id, "✅")
            answer = await alice.wait_for(
                lambda s: sent_by(account.user_id)(s) and in_reply_to(s) == reminder.event_id
            )
            assert "1/1" in answer.content["body"]
    finally:
        await alice.close()


def _attaches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(idempotency key, message id) of every attach of rows kept under a send's key."""
    seen: list[tuple[str, str]] = []
    attach = sent_queries.attach_posted

    async def counted(posted: Iterable[tuple[str, str, str]]) -> None:
        posted = list(posted)
        seen.extend((key, mid) for _, key, mid in posted)
        await attach(posted)

    monkeypatch.setattr(sent_queries, "attach_posted", counted)
    return seen


async def _reminded(app: App, alice: Member, room: str, clock: VirtualClock, bot: str) -> Seen:
    """Alice's pledge with a Thursday reminder, and that reminder, sent by the scheduler."""
    await alice.reply_to(
        await alice.send(room, '!pledge new "Call a neighbour" per week remind "thu 18:00"')
    )
    mark = len(alice.seen)
    await app.scheduler.advance_to(clock, datetime(2026, 12, 3, 18, 5, tzinfo=BERLIN))
    return await alice.wait_for(
        lambda s: sent_by(bot)(s) and s.content.get("msgtype") == "m.text", after=mark
    )


async def _counted_in(alice: Member, room: str, reminder: Seen, bot: str) -> None:
    """Alice taps ✅ on the reminder right away; the bot's answer counts her in."""
    await alice.react(room, reminder.event_id, "✅")
    answer = await alice.wait_for(lambda s: sent_by(bot)(s) and in_reply_to(s) == reminder.event_id)
    assert "1/1" in answer.content["body"]


def _failing_once(choices: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The adapter's attach right after a send fails once (the database away for a moment)."""
    posted = choices.posted
    failed: list[str] = []

    async def fails_once(platform: str, key: str, message_id: str) -> None:
        if not failed:
            failed.append(message_id)
            raise ConnectionError("database away")
        await posted(platform, key, message_id)

    monkeypatch.setattr(choices, "posted", fails_once)
    return failed


@pytest.mark.parametrize("attach_fails", [False, True], ids=["attached", "attach-failed"])
async def test_a_scheduled_prompt_is_attached_once_and_a_tap_on_it_counts(
    synapse_server: SynapseServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    attach_fails: bool,
) -> None:
    """The adapter kept the prompt under its key before the send and attaches it right after
    (a tap at once counts); the scheduler's record of the send does not attach it again.
    When that attach fails (the database away right after Synapse took the reminder), the
    send counts as failed: the scheduler's retry finds the reminder in the room by its key,
    attaches it there and posts nothing."""
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    clock = VirtualClock(MONDAY)
    attaches = _attaches(monkeypatch)
    try:
        async with running_bot(synapse_server, account, clock=clock) as app:
            choices = app.outboxes["matrix"].choices  # type: ignore[attr-defined]
            failed = _failing_once(choices, monkeypatch) if attach_fails else []
            room = await alice.room_with_bot(account.user_id)
            # With a failed attach, the retry comes after the scheduler's back-off, within
            # the five minutes `_reminded` lets pass.
            reminder = await _reminded(app, alice, room, clock, account.user_id)
            assert failed == ([reminder.event_id] if attach_fails else [])
            key = reminder.content[CONTENT_KEY]
            assert [a for a in attaches if a[1] == reminder.event_id] == [(key, reminder.event_id)]
            assert await sent_queries.find_sent("matrix", sent_queries.pending_id(key)) is None
            await _counted_in(alice, room, reminder, account.user_id)
            assert len([s for s in alice.seen if s.content.get(CONTENT_KEY) == key]) == 1
    finally:
        await alice.close()
