"""What others see of a change (an event's card) is sent once its transaction has committed,
and never when it rolled back: storage.transaction.after_commit on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage import database, groups
from storage import models as m
from storage.records import GroupDefaults
from storage.transaction import after_commit, atomic


class Boom(Exception):
    pass


DEFAULTS = GroupDefaults("UTC", 0, "sun 18:00", "sun 18:00", 12, None, 6, 0.5)
CREATED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # stored only, never compared with a clock


async def _add_group() -> None:
    await groups.ensure_group("console", "room", "Room", DEFAULTS, CREATED)


async def _groups() -> int:
    return await m.Group.all().count()


async def test_an_action_runs_after_the_commit_and_sees_what_was_committed(database_url: str):
    await database.migrate(database_url, keep_open=True)
    try:
        seen: list[str] = []

        async def shown() -> None:
            seen.append(f"groups={await _groups()}")

        async with atomic():
            await _add_group()
            assert after_commit(shown) is None
            assert seen == []  # not before the commit
        assert seen == ["groups=1"]
    finally:
        await database.close_database()


async def test_a_rolled_back_change_is_never_shown(database_url: str):
    await database.migrate(database_url, keep_open=True)
    try:
        seen: list[str] = []

        async def shown() -> None:
            seen.append("shown")

        async def changed_then_failed() -> None:
            async with atomic():
                await _add_group()
                after_commit(shown)
                raise Boom

        with pytest.raises(Boom):
            await changed_then_failed()
        assert seen == []
        assert await _groups() == 0
    finally:
        await database.close_database()


async def test_an_inner_block_rolled_back_drops_only_its_own(database_url: str):
    await database.migrate(database_url, keep_open=True)
    try:
        seen: list[str] = []

        def mark(name: str):
            async def shown() -> None:
                seen.append(name)

            return shown

        async def inner_failed() -> None:
            async with atomic():
                after_commit(mark("inner"))
                raise Boom

        async with atomic():
            after_commit(mark("outer"))
            with pytest.raises(Boom):
                await inner_failed()
            after_commit(mark("after"))
        assert seen == ["outer", "after"]
    finally:
        await database.close_database()


async def test_outside_a_transaction_the_action_is_handed_back_to_run_now():
    async def shown() -> None:
        return None

    assert after_commit(shown) is shown


async def test_a_failed_action_does_not_undo_the_commit_or_the_others(database_url: str):
    await database.migrate(database_url, keep_open=True)
    try:
        seen: list[str] = []

        async def fails() -> None:
            raise RuntimeError("the platform refused the edit")

        async def shown() -> None:
            seen.append("shown")

        async with atomic():
            await _add_group()
            after_commit(fails)
            after_commit(shown)
        assert seen == ["shown"]
        assert await _groups() == 1
    finally:
        await database.close_database()
