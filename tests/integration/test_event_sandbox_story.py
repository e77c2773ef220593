"""Issue 14's check, scripted through `logoff sandbox` as a tester would: an event next week linked
to the meeting pledge, four members answering differently, the clocks going back on the way
(Europe/Berlin, Sun 25 Oct 2026), the reminder and the question, attendance keeping the pledge,
and bad dates and times that change nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

LOGOFF = [sys.executable, "-m", "bot.app.cli"]
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """\
!pledge new "Attend one local meeting" per week remind "thu 18:00"
@ana !pledge join 1
@ben !pledge join 1
@cat !pledge join 1
@dan !pledge join 1
!event new "Tenants' meeting" 2026-10-27 19:00 for 2h at "Community hall" pledge 1
@ana !tap 1
@ben !tap 2
@cat !not-going tenants
!event new "Night walk" 2026-10-25 02:30 for 1h
!event new "Bad" 2026-02-30 19:00
!event new "Bad" 2026-10-27 25:00
!event new "Bad" 2026-10-27 7pm
!event new "Bad" 27.10.2026 19:00
!event new "Bad" 2026-10-01 19:00
!event new "Bad" tomorrow 19:60
!event new "Bad" 2026-10-27
@dan !event list
!wait 8d 11h 30m
@ana !went 1
!wait 2h
@ben !tap 1
@ana !pledge list
!wait 6d
"""


def _sandbox(tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LOGOFF_CONFIG", None)
    result = subprocess.run(
        [*LOGOFF, "sandbox", "--start", "2026-10-19T09:00", "--tz", "Europe/Berlin"],
        input=SCRIPT,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def _block(out: str, stamp: str, needle: str) -> str:
    """The message posted at `stamp` (e.g. "[Mon 26 Oct 18:00] #console") that holds `needle`."""
    for part in re.split(r"\n(?=\[)", out):
        if part.startswith(stamp) and needle in part:
            return part
    raise AssertionError(f"no message {stamp} with {needle!r}")


def test_the_issue_14_story_in_the_sandbox_across_the_autumn_clock_change(tmp_path: Path):
    out = _sandbox(tmp_path)
    card = _block(out, "[Mon 19 Oct 09:00] reply to @you", "Tenants' meeting (event 1)")
    assert "27 Oct 2026" in card
    assert "19:00" in card
    assert "Going keeps Attend one local meeting for that week." in card
    assert "(1) Going · (2) Maybe · (3) Can't" in card
    # Four answers: a tap, a tap, a typed answer by title, silence. The card is edited in place.
    assert "✅ Going 1 · 🤔 Maybe 1 · ❌ Can't 1" in out
    assert out.count("#console (edited console-") == 3

    # A start the clocks pass twice (02:30 on 25 Oct) is said.
    walk = _block(out, "[Mon 19 Oct 09:00] reply to @you", "Night walk (event 2)")
    assert "02:30 happens twice on 2026-10-25 in Europe/Berlin" in walk
    assert "it starts at the first one (02:30 CEST)" in walk

    # Bad dates and times: what was wrong and how to write it; nothing half-written.
    for said in (
        '"2026-02-30" is not a real calendar date.',
        '"25:00" is not a time of day: hours go from 0 to 23.',
        '"7pm" is not a time of day.',
        '"27.10.2026" is not a date.',
        "That time has passed already.",
        '"19:60" is not a time of day: minutes go from 00 to 59.',
        "Missing HH:MM: the start, HH:MM in the group's time zone.",
    ):
        assert said in out, said
    assert out.count("Write a time as H:MM or HH:MM on the 24-hour clock") == 3
    listing = _block(out, "[Mon 19 Oct 09:00] reply to @dan", "Events to come")
    assert "Bad" not in listing
    assert len(re.findall(r"^  \d+ ", listing, re.M)) == 2

    # The reminder the day before at the question hour (18:00, CET now), to Going and Maybe.
    reminder = _block(out, "[Mon 26 Oct 18:00] #console", "⏰ Tenants' meeting")
    assert "19:00" in reminder
    assert "at Community hall. @ana @ben" in reminder
    assert "@cat" not in reminder
    assert "@dan" not in reminder
    # ana said she went during the meeting; the question after asks only ben, at the end.
    # `!wait 8d 11h 30m` from Mon 19 Oct 09:00: the calendar days keep 09:00 across the change.
    assert "(time is now Tue 27 Oct 2026 20:30 Europe/Berlin)" in out
    ana = _block(out, "[Tue 27 Oct 20:30] reply to @ana", "Glad you made it")
    assert "Attend one local meeting is kept for the week of Mon 26 Oct 2026" in ana
    question = _block(out, "[Tue 27 Oct 21:00] #console", "Did you make it")
    assert "@ben" in question
    assert "@ana" not in question
    assert "@cat" not in question
    assert "@dan" not in question
    assert "(1) I went · (2) Missed it" in question
    assert out.count("Did you make it") == 1
    assert out.count("⏰ Tenants' meeting") == 1
    ben = _block(out, "[Tue 27 Oct 22:30] reply to @ben", "Glad you made it")
    assert "kept for the week of Mon 26 Oct 2026" in ben
    assert "ana ✅, ben ✅, cat 0/1, dan 0/1" in out
    # The pledge's own nudge no longer asks who kept it by going.
    nudge = _block(out, "[Thu 29 Oct 18:00] #console", "A nudge")
    assert "@ana" not in nudge
    assert "@ben" not in nudge
    summary = _block(out, "[Mon 02 Nov 18:00] #console", "The week of Mon 26 Oct 2026")
    assert "Tenants' meeting" in summary
    assert "2 went — ana, ben" in summary
    assert "cat" not in summary.split("📅", 1)[1]
