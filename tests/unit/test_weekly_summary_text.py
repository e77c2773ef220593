"""The weekly summary's text from counted rows: rates, who kept it, vouches, milestones, names."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.messages.markup import member_spans, to_plain
from bot.messages.weekly_summary import MILESTONES_SHOWN, render_closed_week
from bot.rules.periods import period_from_key
from storage.records import GroupWeekRec
from storage.scheduling import WeekTotal
from tests.support import records as r

WEEK = period_from_key("week:2026-11-23", ZoneInfo("Europe/Berlin"))
CALL = r.pledge()
WALK = r.pledge(id=2, number=2, title="Walk **outside**", cadence="day")
STORED = GroupWeekRec(1, "week:2026-11-23", kept=7, missed=2, excused=0, met=True, streak=4)


def row(pid: int, pledge_id: int, name: str, kept: int, missed: int, streak: int = 0) -> WeekTotal:
    return WeekTotal(pid, pid, pledge_id, streak, name, kept, missed, kept + missed, "")


def _lines(text: str) -> list[str]:
    return to_plain(text, lambda i: f"@{i}").splitlines()


def test_a_closed_week_reads_rate_pledges_keepers_and_the_group_streak() -> None:
    group = r.group(group_streak=3, best_group_streak=5)
    totals = [row(1, 1, "Ana", 1, 0, streak=4), row(2, 1, "Bo", 0, 1), row(3, 2, "Cy", 6, 0)]
    text = render_closed_week(group, WEEK, STORED, totals, {1: CALL, 2: WALK}, {1: ["Di"]})
    assert _lines(text) == [
        "The week of Mon 23 Nov 2026 in Neighbours",
        "Kept rate: 78% (target 60%) — the group met its target.",
        "• Call a neighbour: 1 of 2 kept",
        "• Walk **outside**: 6 of 6 days kept",
        "Kept it: Ana (vouched by Di), Cy 🎉",
        "🏅 Ana: 4 weeks in a row of Call a neighbour",
        "Group streak: 4 weeks (best 5). 🏅 4 weeks in a row together!",
    ]
    assert "Walk **outside**" in member_spans(text)  # a title is never read as markup


def test_who_missed_is_named_only_when_the_group_asked_for_it() -> None:
    totals = [row(1, 1, "Ana", 1, 0), row(2, 1, "Bo", 0, 1)]
    quiet = render_closed_week(r.group(), WEEK, STORED, totals, {1: CALL}, {})
    assert not any(line.startswith("Not this time") for line in _lines(quiet))
    named = render_closed_week(r.group(name_missed=True), WEEK, STORED, totals, {1: CALL}, {})
    assert "Not this time: Bo" in _lines(named)


def test_a_week_of_only_excused_periods_counts_nothing_and_names_nobody() -> None:
    empty = GroupWeekRec(1, "week:2026-11-23", kept=0, missed=0, excused=2, met=None, streak=0)
    text = render_closed_week(r.group(), WEEK, empty, [row(1, 1, "Ana", 0, 0)], {1: CALL}, {})
    assert _lines(text) == [
        "The week of Mon 23 Nov 2026 in Neighbours",
        "No answers to count this week (target 60% kept).",
        "Group streak: 0 weeks (best 0).",
    ]


def test_rows_of_pledges_not_asked_for_are_left_out_of_the_lines() -> None:
    totals = [row(1, 1, "Ana", 1, 0), row(3, 2, "Cy", 6, 0)]
    lines = _lines(render_closed_week(r.group(), WEEK, STORED, totals, {1: CALL}, {}))
    assert "• Call a neighbour: 1 of 1 kept" in lines
    assert not any("Walk" in line for line in lines)
    assert "Kept it: Ana 🎉" in lines


def test_without_a_closed_week_record_the_rate_counts_only_the_rows_shown() -> None:
    totals = [row(1, 1, "Ana", 1, 0), row(2, 1, "Bo", 0, 1), row(3, 2, "Cy", 0, 6)]
    lines = _lines(render_closed_week(r.group(), WEEK, None, totals, {1: CALL}, {}))
    assert "Kept rate: 50% (target 60%) — next week is a fresh start." in lines


def test_a_crowd_of_milestones_is_cut_to_a_count() -> None:
    totals = [row(i, 1, f"M{i:02}", 1, 0, streak=4) for i in range(1, MILESTONES_SHOWN + 4)]
    lines = _lines(render_closed_week(r.group(), WEEK, STORED, totals, {1: CALL}, {}))
    assert sum(line.startswith("🏅 M") for line in lines) == MILESTONES_SHOWN
    assert "🏅 …and 3 more milestones this week." in lines
