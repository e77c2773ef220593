"""Summaries, the board and reminders cost the same SQL statements for 500 members as for 50."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.common import NullOutbox, StatementCounter
from bot.app.bootstrap import build_engine
from bot.app.config import Config
from bot.clock import VirtualClock
from bot.messages import boards as reports
from bot.messages.weekly_summary import closed_week_summary
from bot.scheduling import group_plans
from bot.scheduling.scheduler import Scheduler
from storage import database
from storage import groups as group_queries
from storage import jobs as job_queries
from storage import models as m
from storage.records import GroupRec, NewJob

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)
NOW = MONDAY + timedelta(days=2, hours=10)  # Wednesday 10:00
SLOT = MONDAY + timedelta(days=2, hours=18)  # the pledge's reminder, Wednesday 18:00
LAST_WEEK = "week:2026-11-23"


@pytest.fixture
async def db() -> AsyncIterator[None]:
    await database.create_schema_for_tests()
    try:
        yield
    finally:
        await database.close_database()


async def _group(name: str, size: int) -> GroupRec:
    """A group of `size` members in one weekly pledge, with last week closed and vouched."""
    group = await m.Group.create(
        platform="test",
        external_id=name,
        name=name,
        timezone="UTC",
        summary_slot="mon 18:00",
        prompt_slot="sun 18:00",
        quiet_hours="22:00-08:00",
        created_at=MONDAY - timedelta(weeks=4),
    )
    pledge = await m.Pledge.create(
        group=group,
        number=1,
        title="Call a neighbour",
        cadence="week",
        remind_slot="wed 18:00",
        created_at=group.created_at,
    )
    await m.Member.bulk_create(
        [
            m.Member(platform="test", external_id=f"{name}-{i}", display_name=f"{name} {i}",
                     created_at=group.created_at)
            for i in range(size)
        ]
    )  # fmt: skip
    members = await m.Member.filter(external_id__startswith=f"{name}-").order_by("id")
    await m.Participation.bulk_create(
        [
            m.Participation(pledge=pledge, member=member, joined_at=group.created_at,
                            first_period="week:2026-11-02", closed_through=LAST_WEEK,
                            current_streak=i % 5,
                            next_close_at=MONDAY + timedelta(days=7, hours=12))
            for i, member in enumerate(members)
        ]
    )  # fmt: skip
    parts = await m.Participation.filter(pledge=pledge).order_by("id")
    await m.Outcome.bulk_create(
        [
            m.Outcome(participation=p, group_id_ref=group.id, period_key=LAST_WEEK,
                      period_end=MONDAY, outcome="kept" if i % 2 else "missed",
                      done=i % 2, closed_at=MONDAY + timedelta(hours=12))
            for i, p in enumerate(parts)
        ]
    )  # fmt: skip
    await m.CheckIn.bulk_create(
        [
            m.CheckIn(participation=p, period_key=key, kind="done", event_key=f"{key}-{p.id}",
                      created_at=MONDAY - timedelta(days=3))
            for i, p in enumerate(parts)
            for key in (LAST_WEEK, "week:2026-11-30")
            if i % 2
        ]
    )  # fmt: skip
    checkins = await m.CheckIn.filter(participation__pledge=pledge).order_by("id").limit(10)
    for c in checkins:
        await m.Vouch.create(checkin=c, member=members[0], created_at=MONDAY)
    await m.GroupWeek.create(
        group=group, week_key=LAST_WEEK, kept=size // 2, missed=size - size // 2, met=False,
        closed_at=MONDAY + timedelta(hours=12),
    )  # fmt: skip
    rec = await group_queries.get_group(group.id)
    assert rec is not None
    return rec


async def _reminder_slot_statements(group: GroupRec) -> int:
    pledge = await m.Pledge.get(group_id=group.id)
    key = "week:2026-11-30"
    payload = {"pledge_id": pledge.id, "period_key": key, "at": SLOT.isoformat()}
    await job_queries.plan([NewJob(f"remind:{group.id}", "remind", SLOT, group.id, payload)], NOW)
    clock = VirtualClock(SLOT)
    outbox = NullOutbox()
    scheduler = Scheduler(build_engine(Config(), clock), outbox, clock)
    with StatementCounter() as sql:
        await scheduler.run_due()
    assert outbox.messages == 1  # one message for the whole group
    return sql.count


async def test_a_group_of_500_costs_the_same_sql_as_a_group_of_50(db: None) -> None:
    small = await _group("small", 50)
    large = await _group("large", 500)
    counts: dict[str, list[int]] = {}
    for group in (small, large):
        with StatementCounter() as summary:
            reply = await closed_week_summary(group, LAST_WEEK)
        assert reply is not None
        assert "kept" in reply.text
        assert reply.image is not None  # the group's 12-week picture rides along
        assert reply.image.startswith(b"\x89PNG")
        assert reply.image_alt
        with StatementCounter() as board:
            text = reports.render_board(group, await reports.load_board(group, NOW), NOW)
        assert "Call a neighbour" in text
        with StatementCounter() as plan:
            await group_plans.plan_group(group.id, NOW)
        counts.setdefault("weekly summary", []).append(summary.count)
        counts.setdefault("pledge board", []).append(board.count)
        counts.setdefault("planning", []).append(plan.count)
        counts.setdefault("reminder slot", []).append(await _reminder_slot_statements(group))
    assert all(v[0] > 0 for v in counts.values()), counts  # the counter did see them
    assert {k: v[0] for k, v in counts.items()} == {k: v[1] for k, v in counts.items()}, counts
