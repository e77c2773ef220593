"""Which jobs a group's pledges need, planned from plain records (no database)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.scheduling.planning import plan_for_group, snooze_until
from storage.records import NewJob
from tests.support import records as r

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)  # the week of 30 Nov has just begun
ANA = (r.participation(), r.member())


def _local(jobs: list[NewJob], kind: str) -> list[datetime]:
    return sorted(j.due_at.astimezone(BERLIN) for j in jobs if j.kind == kind)


def test_a_weekly_pledge_gets_its_reminder_question_last_call_and_close_each_week() -> None:
    jobs = plan_for_group(r.group(), [r.pledge(remind_slot="thu 18:00")], [ANA], MONDAY)
    assert _local(jobs, "remind") == [
        datetime(2026, 12, 3, 18, 0, tzinfo=BERLIN),
        datetime(2026, 12, 10, 18, 0, tzinfo=BERLIN),
    ]
    assert _local(jobs, "prompt")[0] == datetime(2026, 12, 6, 19, 0, tzinfo=BERLIN)
    # The last call comes two thirds into the 12-hour grace window: 08:00 on Monday.
    assert _local(jobs, "followup")[0] == datetime(2026, 12, 7, 8, 0, tzinfo=BERLIN)
    # Last week closes at noon today (midnight + 12 h grace); this week next Monday.
    assert _local(jobs, "close")[:2] == [
        datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN),
        datetime(2026, 12, 7, 12, 0, tzinfo=BERLIN),
    ]
    prompt = next(j for j in jobs if j.kind == "prompt")
    assert prompt.payload["period_key"] == "week:2026-11-30"
    assert prompt.payload["fallback"] is True  # asked only of who the reminder did not reach


def test_the_summary_of_a_week_comes_at_the_first_summary_slot_after_its_close() -> None:
    jobs = plan_for_group(r.group(), [r.pledge()], [ANA], MONDAY)
    summaries = {
        j.payload["week_key"]: j.due_at.astimezone(BERLIN) for j in jobs if j.kind == "summary"
    }
    # Last week closes today at 12:00, after today's 09:00 slot: its summary waits a week.
    assert summaries["week:2026-11-23"] == datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN)


def test_every_job_has_one_key_so_planning_twice_stores_nothing_twice() -> None:
    jobs = plan_for_group(r.group(), [r.pledge(remind_slot="thu 18:00")], [ANA], MONDAY)
    keys = [j.dedupe_key for j in jobs]
    assert len(keys) == len(set(keys))
    again = plan_for_group(r.group(), [r.pledge(remind_slot="thu 18:00")], [ANA], MONDAY)
    assert [j.dedupe_key for j in again] == keys


def test_a_reminder_slot_in_quiet_hours_waits_for_their_end() -> None:
    jobs = plan_for_group(r.group(), [r.pledge(remind_slot="thu 23:30")], [ANA], MONDAY)
    remind = next(j for j in jobs if j.kind == "remind")
    assert remind.due_at.astimezone(BERLIN) == datetime(2026, 12, 4, 8, 0, tzinfo=BERLIN)
    assert remind.payload["at"] == "2026-12-03T22:30:00+00:00"  # the slot it stands for


def test_a_paused_pledge_keeps_only_its_closes() -> None:
    jobs = plan_for_group(
        r.group(), [r.pledge(status="paused", remind_slot="thu 18:00")], [ANA], MONDAY
    )
    assert {j.kind for j in jobs} == {"close", "summary"}


def test_a_daily_pledge_with_a_reminder_is_not_asked_again_nor_called_last() -> None:
    daily = r.pledge(cadence="day", remind_slot="19:00")
    jobs = plan_for_group(r.group(), [daily], [ANA], MONDAY)
    assert _local(jobs, "prompt") == []
    assert _local(jobs, "followup") == []
    assert _local(jobs, "remind")[0] == datetime(2026, 11, 30, 19, 0, tzinfo=BERLIN)


def test_a_members_own_reminder_follows_their_zone() -> None:
    tokyo = (
        r.participation(remind_slot="thu 07:00", delivery="dm"),
        r.member(timezone="Asia/Tokyo"),
    )
    jobs = plan_for_group(r.group(quiet_hours=None), [r.pledge()], [tokyo], MONDAY)
    (mine, *_) = [j for j in jobs if j.kind == "remind" and "member_id" in j.payload]
    assert mine.due_at == datetime(2026, 12, 3, 7, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert mine.payload["member_id"] == 1


def test_an_archived_group_or_one_without_pledges_plans_nothing() -> None:
    assert plan_for_group(r.group(archived=True), [r.pledge()], [ANA], MONDAY) == []
    assert plan_for_group(r.group(), [], [ANA], MONDAY) == []


def test_a_group_nobody_joined_gets_no_weekly_summary() -> None:
    jobs = plan_for_group(r.group(), [r.pledge()], [], MONDAY)
    assert "summary" not in {j.kind for j in jobs}


def test_snoozing_tonight_after_half_past_seven_means_in_an_hour() -> None:
    late = datetime(2026, 11, 30, 19, 45, tzinfo=BERLIN)
    assert snooze_until("snoozetonight", late, BERLIN) == datetime(
        2026, 11, 30, 20, 45, tzinfo=BERLIN
    )
    early = datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)
    assert snooze_until("snoozetonight", early, BERLIN) == datetime(
        2026, 11, 30, 20, 0, tzinfo=BERLIN
    )


def test_snoozing_until_tomorrow_is_nine_on_the_local_clock_across_a_dst_change() -> None:
    before_fall_back = datetime(2026, 10, 24, 21, 0, tzinfo=BERLIN)
    until = snooze_until("snoozetomorrow", before_fall_back, BERLIN)
    assert until == datetime(2026, 10, 25, 9, 0, tzinfo=BERLIN)
    assert until.astimezone(BERLIN).utcoffset() == timedelta(hours=1)  # winter time again
    assert (until - before_fall_back).total_seconds() == 13 * 3600  # 12 h of clock + 1 h back
