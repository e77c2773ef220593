"""What others see of a change (an event's card) is sent once its transaction has committed,
and never when it rolled back: storage.transaction.after_commit on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage import groups
from storage import models as m
from storage.records import GroupDefaults
from storage.transaction import AfterCommit, after_commit, atomic


class Boom(Exception):
    pass


DEFAULTS = GroupDefaults("UTC", 0, "sun 18:00", "sun 18:00", 12, None, 6, 0.5)
CREATED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # stored only, never compared with a clock


async def _add_group() -> None:
    await groups.ensure_group("console", "room", "Room", DEFAULTS, CREATED)


async def _groups() -> int:
    return await m.Group.all().count()


def _shows(seen: list[str], name: str) -> AfterCommit:
    """An action that notes `name` and how many groups it saw committed."""

    async def shown() -> None:
        seen.append(f"{name}: groups={await _groups()}")

    return shown


async def test_an_action_runs_after_the_commit_and_sees_what_was_committed(migrated_db: None):
    seen: list[str] = []
    async with atomic():
        await _add_group()
        await after_commit(_shows(seen, "card"))
        assert seen == []  # not before the commit
    assert seen == ["card: groups=1"]


async def test_a_rolled_back_change_is_never_shown(migrated_db: None):
    seen: list[str] = []

    async def changed_then_failed() -> None:
        async with atomic():
            await _add_group()
            await after_commit(_shows(seen, "card"))
            raise Boom

    with pytest.raises(Boom):
        await changed_then_failed()
    assert seen == []
    assert await _groups() == 0


async def test_an_inner_block_rolled_back_drops_only_its_own(migrated_db: None):
    seen: list[str] = []

    async def inner_failed() -> None:
        async with atomic():
            await after_commit(_shows(seen, "inner"))
            raise Boom

    async with atomic():
        await after_commit(_shows(seen, "outer"))
        with pytest.raises(Boom):
            await inner_failed()
        await after_commit(_shows(seen, "after"))
    assert seen == ["outer: groups=0", "after: groups=0"]


async def test_outside_a_transaction_the_action_runs_now(migrated_db: None):
    seen: list[str] = []
    await after_commit(_shows(seen, "now"))
    assert seen == ["now: groups=0"]


async def test_a_failed_action_does_not_undo_the_commit_or_the_others(migrated_db: None):
    seen: list[str] = []

    async def fails() -> None:
        raise RuntimeError("the platform refused the edit")

    async with atomic():
        await _add_group()
        await after_commit(fails)
        await after_commit(_shows(seen, "card"))
    assert seen == ["card: groups=1"]
    assert await _groups() == 1
