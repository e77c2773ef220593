"""Rows kept under a send's key move to its message id once, by the adapter that kept them."""

from __future__ import annotations

from datetime import UTC, datetime

from benchmarks.common import StatementCounter
from bot.clock import VirtualClock
from bot.engine.choices import OfferedChoices
from storage import choices as choice_queries
from storage import models as m
from storage import scheduling as round_queries
from storage import sent as sent_queries

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def _expected(choices: OfferedChoices, key: str) -> None:
    """What the Matrix adapter keeps before a scheduled send: the prompt and its choices."""
    await choices.expect_prompt("matrix", key, "remind", None, None, "week:2026-11-30")
    await choices.expect("matrix", key, "@bob:localhost", ("done 1", "snooze 1"))


def _record(message_id: str) -> round_queries.SentRecord:
    return round_queries.SentRecord("matrix", message_id, "remind", None, None, "week:2026-11-30")


async def _pending(key: str) -> tuple[bool, bool]:
    pid = sent_queries.pending_id(key)
    return (
        await sent_queries.find_sent("matrix", pid) is not None,
        await choice_queries.find_choices("matrix", pid) is not None,
    )


async def test_the_scheduler_records_a_send_in_one_insert_and_leaves_the_attach_to_the_adapter(
    migrated_db: None,
) -> None:
    choices = OfferedChoices(VirtualClock(NOW))
    await _expected(choices, "send:one")

    with StatementCounter() as recording:
        await round_queries.record_sent_many([_record("$one")], NOW)
    # The scheduler's record looked up nothing and moved nothing: the rows under the key
    # are the adapter's, attached by it after the send or after the reconcile that found it.
    assert recording.count == 1
    assert await _pending("send:one") == (True, True)

    # The adapter's attach after that (a reconcile's, say): the recorded row stands.
    await choices.posted("matrix", "send:one", "$one")
    assert await _pending("send:one") == (False, False)
    sent = await sent_queries.find_sent("matrix", "$one")
    assert sent is not None
    assert sent.period_key == "week:2026-11-30"
    assert await choice_queries.find_choices("matrix", "$one") is not None


async def test_a_prompt_attached_after_its_send_is_recorded_as_one_row(migrated_db: None) -> None:
    choices = OfferedChoices(VirtualClock(NOW))
    await _expected(choices, "send:two")
    with StatementCounter() as attaching:
        await choices.posted("matrix", "send:two", "$two")  # the adapter, right after the send
    assert attaching.count == 4  # a SELECT of each table, and the move of each row found
    await round_queries.record_sent_many([_record("$two")], NOW)  # the scheduler, later
    await round_queries.record_sent_many([_record("$two")], NOW)  # a settle retried
    assert await m.SentMessage.filter(message_id="$two").count() == 1
    assert await m.SentMessage.filter(message_id__startswith=sent_queries.PENDING).count() == 0
