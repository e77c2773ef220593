"""Offline events on the real Synapse: ✅ 🤔 ❌ reactions answer, the card is replaced in place
(`m.replace`), the reminder reaches Going and Maybe only, "did you make it?" after, the .ics."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ical.calendar_stream import IcsCalendarStream
from nio import DownloadResponse

from bot.clock import VirtualClock
from tests.matrix.harness import Member, Seen, new_bot_account, running_bot, sent_by
from tests.services.synapse import SynapseServer

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
NEW_EVENT = '!event new "Tenants\' assembly" 2026-12-03 19:00 at "Community hall"'


def _replaces(event_id: str, bot: str):  # type: ignore[no-untyped-def]
    def match(seen: Seen) -> bool:
        relates = seen.content.get("m.relates_to") or {}
        return (
            sent_by(bot)(seen)
            and relates.get("rel_type") == "m.replace"
            and relates.get("event_id") == event_id
        )

    return match


def _reactions_by(bot: str, event_id: str, seen: list[Seen]) -> list[str]:
    keys = []
    for s in seen:
        relates = s.content.get("m.relates_to") or {}
        if (
            s.source.get("type") == "m.reaction"
            and s.source.get("sender") == bot
            and relates.get("event_id") == event_id
        ):
            keys.append(relates.get("key"))
    return keys


def _mentioned(seen: Seen) -> list[str]:
    return sorted((seen.content.get("m.mentions") or {}).get("user_ids", []))


async def test_reactions_answer_the_card_is_replaced_and_the_loop_reaches_going_and_maybe(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    bot = account.user_id
    alice = await Member.register(synapse_server, "Alice")
    bob = await Member.register(synapse_server, "Bob")
    carol = await Member.register(synapse_server, "Carol")
    clock = VirtualClock(MONDAY)
    try:
        async with running_bot(synapse_server, account, clock=clock) as app:
            jobs = app.scheduler
            assert jobs is not None
            room = await alice.create_room(invite=(bot, bob.user_id, carol.user_id))
            await bob.join(room)
            await carol.join(room)
            await alice.wait_for(lambda s: sent_by(bot)(s) and s.room_id == room)
            card = await alice.reply_to(await alice.send(room, NEW_EVENT))
            body = card.content["body"]
            assert "Tenants' assembly" in body
            assert "✅ Going · 🤔 Maybe · ❌ Can't — react to answer" in body
            await alice.wait_for(lambda s: len(_reactions_by(bot, card.event_id, alice.seen)) == 3)
            assert _reactions_by(bot, card.event_id, alice.seen) == ["✅", "🤔", "❌"]

            mark = len(alice.seen)
            await alice.react(room, card.event_id, "✅")
            maybe = await bob.react(room, card.event_id, "🤔")
            await carol.react(room, card.event_id, "❌")
            edit = await alice.wait_for(
                lambda s: (
                    _replaces(card.event_id, bot)(s)
                    and "Going 1 · 🤔 Maybe 1 · ❌ Can't 1" in s.content["m.new_content"]["body"]
                ),
                after=mark,
            )
            # The spec's shape: a "* " fallback, the whole message in m.new_content, no new ping.
            new = edit.content["m.new_content"]
            assert edit.content["body"] == "* " + new["body"]
            assert edit.content["formatted_body"] == "* " + new["formatted_body"]
            assert "m.relates_to" not in new
            assert edit.content["m.mentions"] == {}
            assert "react to answer" in new["body"]
            notices = [
                s
                for s in alice.seen[mark:]
                if sent_by(bot)(s) and not _replaces(card.event_id, bot)(s)
            ]
            assert not notices, "an answer by reaction posted a message of its own"

            # Bob takes his 🤔 back: the card is replaced again, still without a message.
            mark = len(alice.seen)
            await bob.redact(room, maybe)
            await alice.wait_for(
                lambda s: (
                    _replaces(card.event_id, bot)(s)
                    and "Going 1 · 🤔 Maybe 0 · ❌ Can't 1" in s.content["m.new_content"]["body"]
                ),
                after=mark,
            )
            await alice.sync(300)
            assert not [
                s
                for s in alice.seen[mark:]
                if sent_by(bot)(s) and not _replaces(card.event_id, bot)(s)
            ], "taking a reaction back posted a message"
            await bob.react(room, card.event_id, "🤔")
            await alice.wait_for(
                lambda s: (
                    _replaces(card.event_id, bot)(s)
                    and "Going 1 · 🤔 Maybe 1 · ❌ Can't 1" in s.content["m.new_content"]["body"]
                ),
                after=mark,
            )

            mark = len(alice.seen)
            await jobs.advance_to(clock, datetime(2026, 12, 3, 18, 0, tzinfo=BERLIN))
            reminder = await alice.wait_for(
                lambda s: sent_by(bot)(s) and s.content.get("body", "").startswith("⏰"),
                after=mark,
            )
            assert reminder.content["msgtype"] == "m.text"
            assert _mentioned(reminder) == sorted([alice.user_id, bob.user_id])

            mark = len(alice.seen)
            await jobs.advance_to(clock, datetime(2026, 12, 4, 12, 0, tzinfo=BERLIN))
            question = await alice.wait_for(
                lambda s: sent_by(bot)(s) and "make it" in s.content.get("body", ""), after=mark
            )
            assert _mentioned(question) == sorted([alice.user_id, bob.user_id])
            assert "✅ I went · ❌ Missed it — react to answer" in question.content["body"]
            await alice.wait_for(
                lambda s: len(_reactions_by(bot, question.event_id, alice.seen)) == 2
            )
            await alice.react(room, question.event_id, "✅")
            answer = await alice.reply_to(question.event_id)
            assert "made it" in answer.content["body"]
    finally:
        for member in (alice, bob, carol):
            await member.close()


async def test_the_ics_file_arrives_as_a_calendar_file_an_independent_parser_reads(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    bot = account.user_id
    alice = await Member.register(synapse_server, "Alice")
    clock = VirtualClock(MONDAY)
    try:
        async with running_bot(synapse_server, account, clock=clock):
            room = await alice.create_room(invite=(bot,))
            await alice.wait_for(lambda s: sent_by(bot)(s) and s.room_id == room)
            await alice.reply_to(await alice.send(room, NEW_EVENT))
            # `event show` is a private answer, not the card: its buttons stay numbered choices.
            shown = await alice.reply_to(await alice.send(room, "!event show 1"))
            assert "1️⃣ Going" in shown.content["body"]
            assert "react to answer" not in shown.content["body"]
            mark = len(alice.seen)
            await alice.send(room, "!event ics 1")
            file = await alice.wait_for(
                lambda s: sent_by(bot)(s) and s.content.get("msgtype") == "m.file", after=mark
            )
            assert file.content["body"].endswith(".ics")
            assert file.content["info"]["mimetype"] == "text/calendar"
            download = await alice.nio.download(file.content["url"])
            assert isinstance(download, DownloadResponse), download
            assert file.content["info"]["size"] == len(download.body)
            # Read by `ical`, a parser independent of the library that wrote the file.
            calendar = IcsCalendarStream.calendar_from_ics(download.body.decode("utf-8"))
            (event,) = calendar.events
            assert event.summary == "Tenants' assembly"
            assert event.location == "Community hall"
            assert event.dtstart == datetime(2026, 12, 3, 19, 0, tzinfo=BERLIN)
            assert event.dtend == datetime(2026, 12, 3, 21, 0, tzinfo=BERLIN)
    finally:
        await alice.close()
