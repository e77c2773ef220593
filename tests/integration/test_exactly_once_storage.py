"""Claims of incoming events and handed-over jobs, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import database, incoming
from storage import jobs as job_queries
from storage.records import NewJob

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
