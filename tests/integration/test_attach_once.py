"""Rows kept under a send's key move to its message id once: the scheduler skips what was moved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from benchmarks.common import StatementCounter
from bot.clock import VirtualClock
from bot.engine.choices import OfferedChoices
from storage import choices as choice_queries
from storage import database
from storage import scheduling as round_queries
from storage import sent as sent_queries
from storage.transaction import atomic

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[None]:
    """The same tests on SQLite and PostgreSQL (savepoints and rollbacks differ)."""
    await database.migrate(database_url, keep_open=True)
    try:
        yield
    finally:
        await database.close_database()


async def _expected(choices: OfferedChoices, key: str) -> None:
    """What the Matrix adapter keeps before a scheduled send: the prompt and its choices."""
    await choices.expect_prompt("matrix", key, "remind", None, None, "week:2026-11-30")
    await choices.expect("matrix", key, "@bob:localhost", ("done 1", "snooze 1"))


def _record(key: str, message_id: str) -> round_queries.SentRecord:
    return round_queries.SentRecord("matrix", message_id, "remind", None, None, None, key)


async def _recording_statements(key: str, message_id: str) -> int:
    with StatementCounter() as sql:
        await round_queries.record_sent_many([_record(key, message_id)], NOW)
    return sql.count


async def test_the_scheduler_skips_the_lookup_the_adapter_did_and_does_it_otherwise(
    db: None,
) -> None:
    choices = OfferedChoices(VirtualClock(NOW))
    await _expected(choices, "send:attached")
    await choices.posted("matrix", "send:attached", "$attached")  # the adapter, after the send
    await _expected(choices, "send:found")  # a send a reconcile found: not attached yet

    attached = await _recording_statements("send:attached", "$attached")
    found = await _recording_statements("send:found", "$found")

    assert attached == 1  # the insert alone: nothing looked up that the adapter moved already
    assert found == 5  # a SELECT of each table, and the move of each row found
    for key, message_id in (("send:attached", "$attached"), ("send:found", "$found")):
        assert await sent_queries.find_sent("matrix", message_id) is not None
        assert await choice_queries.find_choices("matrix", message_id) is not None
        pending = sent_queries.pending_id(key)
        assert await sent_queries.find_sent("matrix", pending) is None
        assert await choice_queries.find_choices("matrix", pending) is None


async def test_a_key_kept_again_after_its_attach_is_attached_again(db: None) -> None:
    choices = OfferedChoices(VirtualClock(NOW))
    await _expected(choices, "send:again")
    await choices.posted("matrix", "send:again", "$again")
    # A retried send keeps its prompt under the key again (the homeserver gives the same id
    # back for the same transaction id): the scheduler's attach must not be skipped now.
    await sent_queries.record_sent(
        "matrix", sent_queries.pending_id("send:again"), "remind", NOW, period_key="week:x"
    )
    await round_queries.record_sent_many([_record("send:again", "$again")], NOW)
    assert await sent_queries.find_sent("matrix", sent_queries.pending_id("send:again")) is None


async def test_an_attach_rolled_back_is_not_skipped_later(db: None) -> None:
    choices = OfferedChoices(VirtualClock(NOW))
    await _expected(choices, "send:undone")

    async def attached_then_undone() -> None:
        async with atomic():
            await choices.posted("matrix", "send:undone", "$undone")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await attached_then_undone()
    pending = sent_queries.pending_id("send:undone")
    assert await sent_queries.find_sent("matrix", pending) is not None  # back with the rollback

    await round_queries.record_sent_many([_record("send:undone", "$undone")], NOW)
    assert await sent_queries.find_sent("matrix", pending) is None
    assert await choice_queries.find_choices("matrix", "$undone") is not None
