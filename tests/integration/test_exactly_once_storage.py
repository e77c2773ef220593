"""Claims of incoming events and handed-over jobs, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.actors import Actor, Place
from bot.app.bootstrap import build_engine
from bot.app.config import Config
from bot.clock import VirtualClock
from bot.engine.choices import OfferedChoices
from bot.engine.claims import RUN, EventClaims
from bot.messages.markup import unescape_plain
from bot.messages.replies import Reply
from storage import choices as choice_queries
from storage import database, incoming
from storage import groups as group_queries
from storage import jobs as job_queries
from storage import models as m
from storage import scheduling as round_queries
from storage import sent as sent_queries
from storage.records import NewJob
from storage.scheduling import SentRecord
from storage.transaction import undone_on_error

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def _open(url: str) -> None:
    await database.migrate(url, keep_open=True)


async def test_an_event_is_claimed_by_one_process_and_answered_once(database_url: str):
    await _open(database_url)
    try:
        first = await incoming.claim("matrix", "$ev1", "a:run1", NOW)
        assert first.state == incoming.RUN
        other = await incoming.claim("matrix", "$ev1", "b:run1", NOW)
        assert other.state == incoming.HELD
        assert other.held_until == NOW + incoming.LEASE
        assert await incoming.store_reply("matrix", "$ev1", "a:run1", {"text": "hi"})
        await incoming.answered("matrix", "$ev1", "a:run1")
        assert (await incoming.claim("matrix", "$ev1", "a:run2", NOW)).state == incoming.DONE
        late = NOW + incoming.LEASE + timedelta(seconds=1)
        assert (await incoming.claim("matrix", "$ev1", "b:run1", late)).state == incoming.DONE
    finally:
        await database.close_database()


async def test_a_restarted_instance_takes_its_own_claims_back_at_once(database_url: str):
    await _open(database_url)
    try:
        assert (await incoming.claim("matrix", "$a", "inst:old", NOW)).state == incoming.RUN
        assert (await incoming.claim("matrix", "$b", "inst:old", NOW)).state == incoming.RUN
        assert await incoming.store_reply("matrix", "$b", "inst:old", {"text": "stored"})
        # The old run died (its data directory is ours now): no lease to wait for.
        again = await incoming.claim("matrix", "$a", "inst:new", NOW)
        assert again.state == incoming.RUN
        replied = await incoming.claim("matrix", "$b", "inst:new", NOW)
        assert replied.state == incoming.REPLY
        assert replied.reply == {"text": "stored"}
        # The dead run's late write cannot land: the claim is someone else's now.
        assert not await incoming.store_reply("matrix", "$a", "inst:old", {"text": "late"})
    finally:
        await database.close_database()


async def test_another_process_takes_a_claim_over_once_its_lease_ran_out(database_url: str):
    await _open(database_url)
    try:
        assert (await incoming.claim("discord", "9", "a:1", NOW)).state == incoming.RUN
        late = NOW + incoming.LEASE
        assert (await incoming.claim("discord", "9", "b:1", late)).state == incoming.RUN
        assert (await incoming.claim("discord", "9", "c:1", late)).state == incoming.HELD
        assert await incoming.prune(late + timedelta(seconds=1)) == 1
        assert await incoming.get("discord", "9") is None
    finally:
        await database.close_database()


async def test_a_job_handed_over_stays_marked_when_it_is_claimed_again(database_url: str):
    await _open(database_url)
    try:
        job = NewJob("send:g1:x", "send", NOW, None, {"reply": {}})
        assert await job_queries.plan([job], NOW) == 1
        (claimed,) = await job_queries.claim_due(NOW, NOW + timedelta(minutes=5), "t1", 10)
        assert claimed.handed_over_at is None
        assert await job_queries.mark_handed_over([claimed.id], "t1", NOW) == {claimed.id}
        assert await job_queries.mark_handed_over([claimed.id], "other", NOW) == set()
        # The claimer died; its lease runs out and another process claims the job.
        later = NOW + timedelta(minutes=6)
        (again,) = await job_queries.claim_due(later, later + timedelta(minutes=5), "t2", 10)
        assert again.handed_over_at == NOW
    finally:
        await database.close_database()


async def test_a_round_prepared_ahead_claims_jobs_due_soon_but_never_a_running_lease(
    database_url: str,
):
    await _open(database_url)
    try:
        soon = NOW + timedelta(milliseconds=400)
        due = NewJob("send:g1:soon", "send", soon, None, {"reply": {}})
        held = NewJob("send:g1:held", "send", NOW - timedelta(minutes=5), None, {"reply": {}})
        later = NewJob("send:g1:later", "send", soon + timedelta(seconds=1), None, {"reply": {}})
        await job_queries.plan([due, held, later], NOW)
        lease_ends = NOW + timedelta(milliseconds=200)  # before `soon`, after now
        (taken,) = await job_queries.claim_due(NOW - timedelta(minutes=5), lease_ends, "a", 1)
        assert taken.dedupe_key == "send:g1:held"
        got = await job_queries.claim_due(NOW, soon + timedelta(minutes=5), "b", 10, due_by=soon)
        # Due by the prepared instant: claimed; the lease of "a" runs until after now: kept.
        assert [j.dedupe_key for j in got] == ["send:g1:soon"]
    finally:
        await database.close_database()


async def test_a_command_and_its_stored_reply_commit_together_or_not_at_all(database_url: str):
    """Issue 10: EventClaims.handle_once; a lost claim or a failure keeps nothing."""
    await _open(database_url)
    try:
        clock = VirtualClock(NOW)
        claims = EventClaims(clock, "inst")

        async def make_member(name: str) -> str:
            await group_queries.ensure_member("matrix", f"@{name}:x", name, NOW)
            # A caught IntegrityError inside the transaction (an offer recorded twice):
            # PostgreSQL would abort the whole transaction without its savepoint.
            for _ in range(2):
                await choice_queries.record_choices("matrix", f"$offer-{name}", "", ("a",), NOW)
            return name

        def reply_of(name: str) -> tuple[Reply | None, dict[str, str]]:
            return Reply(f"hello {name}"), {"owner": name}

        assert (await claims.claim("matrix", "$ok")).state == RUN
        assert await claims.handle_once("matrix", "$ok", lambda: make_member("ok"), reply_of)
        again = await incoming.claim("matrix", "$ok", "inst:later", NOW)
        assert again.state == incoming.REPLY
        assert EventClaims.stored_reply(again) == Reply("hello ok")
        assert await group_queries.find_member("matrix", "@ok:x") is not None

        # Another process took the claim over meanwhile: nothing of this run is kept.
        assert (await claims.claim("matrix", "$lost")).state == RUN
        late = NOW + incoming.LEASE
        assert (await incoming.claim("matrix", "$lost", "other:1", late)).state == RUN
        lost = await claims.handle_once("matrix", "$lost", lambda: make_member("lost"), reply_of)
        assert lost is None
        assert await group_queries.find_member("matrix", "@lost:x") is None
        assert await choice_queries.find_choices("matrix", "$offer-lost") is None

        # The handler failed half-way: nothing of it is kept, the claim is still to run.
        async def fails() -> str:
            await make_member("failed")
            raise RuntimeError("the process died here")

        assert (await claims.claim("matrix", "$fail")).state == RUN
        with pytest.raises(RuntimeError):
            await claims.handle_once("matrix", "$fail", fails, reply_of)
        assert await group_queries.find_member("matrix", "@failed:x") is None
        # On SQLite the claim was never written (storage.incoming.take): nothing to take back.
        left = None if incoming.written_late() else (incoming.CLAIMED, claims.owner)
        assert await incoming.get("matrix", "$fail") == left
        assert (await incoming.claim("matrix", "$fail", "inst:next", NOW)).state == RUN
    finally:
        await database.close_database()


async def test_a_claim_taken_on_sqlite_is_written_by_the_events_first_write(database_url: str):
    """storage.incoming.take: one read on SQLite, the row inserted by `store_reply` (in the
    handling transaction) or `answered`; never over another owner's row. PostgreSQL claims
    at once, as `claim` does."""
    await _open(database_url)
    try:
        late = incoming.written_late()
        assert late == database_url.startswith("sqlite")
        assert (await incoming.take("matrix", "$t", "a:1", NOW)).state == incoming.RUN
        assert await incoming.get("matrix", "$t") == (None if late else (incoming.CLAIMED, "a:1"))
        assert await incoming.store_reply("matrix", "$t", "a:1", {"text": "hi"}, NOW)
        assert await incoming.get("matrix", "$t") == (incoming.HANDLED, "a:1")
        replied = await incoming.take("matrix", "$t", "a:2", NOW)
        assert (replied.state, replied.reply) == (incoming.REPLY, {"text": "hi"})
        # The old run's late write cannot land on the row the new run holds.
        assert not await incoming.store_reply("matrix", "$t", "a:1", {"text": "old"}, NOW)
        await incoming.answered("matrix", "$t", "a:2", NOW)
        assert (await incoming.take("matrix", "$t", "b:1", NOW)).state == incoming.DONE
        assert not await incoming.store_reply("matrix", "$t", "a:2", {"text": "again"}, NOW)
        # Finished without a handling transaction (a greeting): `answered` writes the row.
        assert (await incoming.take("matrix", "$hello", "a:2", NOW)).state == incoming.RUN
        await incoming.answered("matrix", "$hello", "a:2", NOW)
        assert await incoming.get("matrix", "$hello") == (incoming.ANSWERED, "a:2")
        # Another owner's claim stands: neither a store nor an answer of ours changes it.
        assert (await incoming.claim("matrix", "$b", "b:1", NOW)).state == incoming.RUN
        assert (await incoming.take("matrix", "$b", "a:2", NOW)).state == incoming.HELD
        assert not await incoming.store_reply("matrix", "$b", "a:2", {"text": "no"}, NOW)
        await incoming.answered("matrix", "$b", "a:2", NOW)
        assert await incoming.get("matrix", "$b") == (incoming.CLAIMED, "b:1")
    finally:
        await database.close_database()


async def test_a_command_that_fails_in_its_transaction_keeps_only_its_reply(database_url: str):
    """EventClaims.handle_once with a block under `undone_on_error` that raised (the engine's
    refused or failed command): what it wrote is rolled back, the reply is stored."""
    await _open(database_url)
    try:
        clock = VirtualClock(NOW)
        claims = EventClaims(clock, "inst")

        async def refused() -> str:
            try:
                async with undone_on_error():
                    await group_queries.ensure_member("matrix", "@half:x", "half", NOW)
                    raise ValueError("refused half-way")
            except ValueError:
                return "refused"

        def reply_of(text: str) -> tuple[Reply | None, dict[str, str]]:
            return Reply(text), {}

        assert (await claims.claim("matrix", "$r")).state == RUN
        assert await claims.handle_once("matrix", "$r", refused, reply_of) == "refused"
        assert await group_queries.find_member("matrix", "@half:x") is None
        again = await incoming.claim("matrix", "$r", "inst:later", NOW)
        assert again.state == incoming.REPLY
        assert EventClaims.stored_reply(again) == Reply("refused")
    finally:
        await database.close_database()


async def test_choices_kept_under_a_key_before_the_send_are_found_by_the_message_id(
    database_url: str,
):
    """Issue 10: an offer and a prompt stored before the send (under the idempotency key)
    get the message id after it, or from a reconcile; a row recorded under the id already
    stands and the early one goes."""
    await _open(database_url)
    try:
        choices = OfferedChoices(VirtualClock(NOW))
        await choices.expect("matrix", "reply:$cmd", "@ana:x", ("confirm-forget", "cancel"))
        await choices.expect_prompt("matrix", "job:7", "prompt", 1, 2, "week:2026-11-30")
        assert await choices.find("matrix", "$posted") is None
        await choices.posted("matrix", "reply:$cmd", "$posted")
        found = await choices.find("matrix", "$posted")
        assert found is not None
        assert found.owner == "@ana:x"
        assert found.actions == ("confirm-forget", "cancel")
        # The adapter attaches the prompt it kept; the scheduler's record of it adds no row.
        await choices.posted("matrix", "job:7", "$prompt")
        record = SentRecord("matrix", "$prompt", "prompt", 1, 2, "week:2026-11-30")
        await round_queries.record_sent_many([record], NOW)
        sent = await sent_queries.find_sent("matrix", "$prompt")
        assert sent is not None
        assert (sent.pledge_id, sent.period_key) == (2, "week:2026-11-30")
        assert await m.SentMessage.filter(message_id__startswith=sent_queries.PENDING).count() == 0
        # Recorded under its id before the early row was attached: one row stays.
        await choices.expect("matrix", "reply:$two", "", ("a",))
        await choice_queries.record_choices("matrix", "$two", "", ("a",), NOW)
        await choices.posted("matrix", "reply:$two", "$two")
        assert await m.OfferedChoice.filter(message_id__in=["$two", "key:reply:$two"]).count() == 1
    finally:
        await database.close_database()


async def test_a_command_in_its_transaction_and_a_close_at_the_same_time_both_finish(
    database_url: str,
):
    """The handling transaction is opened under the engine's writer lock: the other way
    round, a command holding the transaction (on SQLite the connection's only lock) waited
    for the engine's lock while the scheduler's close, holding it, waited for the database."""
    await _open(database_url)
    try:
        clock = VirtualClock(NOW)
        engine = build_engine(Config(), clock)
        claims = EventClaims(clock, "inst", engine.writer)
        place = Place("console", "room", "room")
        in_transaction = asyncio.Event()

        async def command() -> Reply | None:
            await group_queries.ensure_member("console", "ana", "ana", NOW)
            in_transaction.set()
            await asyncio.sleep(0.1)  # the scheduler's close starts meanwhile
            return await engine.handle_text(
                Actor("console", "ana", "ana"), place, '!pledge new "Walk" per week', "$e"
            )

        async def close() -> None:
            await in_transaction.wait()
            await engine.close_due()

        assert (await claims.claim("console", "$e")).state == RUN
        handled, _ = await asyncio.wait_for(
            asyncio.gather(
                claims.handle_once("console", "$e", command, lambda r: (r, {})), close()
            ),
            timeout=30,
        )
        assert handled is not None
        assert "New pledge `1` **Walk**" in unescape_plain(handled.text)
        assert await m.Pledge.filter(title="Walk").count() == 1
    finally:
        await database.close_database()
