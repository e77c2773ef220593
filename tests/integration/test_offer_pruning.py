"""Offers of numbered choices older than KEPT_FOR go, in one DELETE at most every PRUNE_EVERY."""

from __future__ import annotations

from datetime import UTC, datetime

from storage import choices as choice_queries
from storage import database

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def _offer(message_id: str, at: datetime) -> None:
    await choice_queries.record_choices("matrix", message_id, "", ("done 1",), at)


async def _kept(message_id: str) -> bool:
    return await choice_queries.find_choices("matrix", message_id) is not None


async def test_old_offers_go_when_the_prune_is_due_and_new_ones_stay(database_url: str) -> None:
    await database.migrate(database_url, keep_open=True)
    try:
        await _offer("$old", NOW)
        later = NOW + choice_queries.KEPT_FOR + choice_queries.PRUNE_EVERY
        await _offer("$new", later)
        assert not await _kept("$old")  # past KEPT_FOR at a due prune: gone
        await _offer("$newer", later + choice_queries.PRUNE_EVERY / 2)  # no prune: one write
        assert await _kept("$new")
        assert await _kept("$newer")
    finally:
        await database.close_database()
