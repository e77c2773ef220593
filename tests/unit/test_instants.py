"""Marked instants: one mark in the core; the group's clock on Matrix and the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.messages.instants import instants, mark, resolve, zone_text
from bot.messages.markup import clean_text, to_html, to_plain

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# 18:00 in Berlin on a winter Saturday (UTC+1).
START = datetime(2026, 12, 12, 17, 0, tzinfo=UTC)
UNIX = int(START.timestamp())


def test_a_mark_carries_the_utc_instant_and_the_zone() -> None:
    (found,) = instants(f"starts {mark(START, BERLIN, 'f', named=True)}")
    assert found.at == START
    assert found.zone == "Europe/Berlin"
    assert found.style == "f"
    assert found.named


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("f", "Sat 12 Dec 2026, 18:00"),
        ("s", "Sat 12 Dec 18:00"),
        ("t", "18:00"),
        ("wt", "Sat 18:00"),
        ("d", "Sat 12 Dec"),
        ("slot", "sat 18:00"),
        ("slotday", "18:00"),
    ],
)
def test_matrix_and_the_console_read_the_instant_on_the_groups_clock(
    style: str, expected: str
) -> None:
    text = f"at {mark(START, BERLIN, style)}."
    assert to_plain(text, str) == f"at {expected}."
    assert to_html(text, str) == f"at {expected}."


def test_the_zone_name_follows_where_the_text_asks_for_it() -> None:
    text = mark(START, NEW_YORK, "t", named=True)
    assert to_plain(text, str) == "12:00 (America/New_York)"


def test_on_says_today_only_on_the_groups_today() -> None:
    same_day = START - timedelta(hours=5)
    day_before = START - timedelta(days=1)
    assert to_plain(mark(START, BERLIN, "on", ref=same_day), str) == "today at 18:00"
    assert to_plain(mark(START, BERLIN, "on", ref=day_before), str) == "on Sat 12 Dec at 18:00"
    assert to_plain(mark(START, BERLIN, "day", ref=day_before), str) == "Saturday 12 Dec at 18:00"
    assert to_plain(mark(START, BERLIN, "day", ref=same_day), str) == "today at 18:00"


def test_the_groups_clock_follows_dst() -> None:
    summer = datetime(2026, 7, 4, 16, 0, tzinfo=UTC)  # UTC+2 in July
    assert to_plain(mark(summer, BERLIN, "t"), str) == "18:00"


def test_member_text_cannot_forge_a_mark() -> None:
    forged = mark(START, BERLIN, "f")
    assert clean_text(f"title {forged}") == f"title {UNIX}|f|Europe/Berlin||0"
    assert instants(clean_text(forged)) == []


def test_an_unknown_style_or_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="style"):
        mark(START, BERLIN, "x")
    with pytest.raises(ValueError, match="aware"):
        mark(START.replace(tzinfo=None), BERLIN)


def test_text_without_marks_is_left_alone() -> None:
    assert resolve("nothing to see", zone_text) == "nothing to see"
