"""Bad input of every kind gets a reply naming the problem and the right form, changing nothing.

The console prints plain text, so code marks (backticks) do not appear in what is read here.
"""

from __future__ import annotations

import pytest

from tests.support.session import ConsoleSession
from tests.support.snapshot import snapshot

BAD = [
    ("!frobnicate", "I don't know the command “frobnicate”"),
    ("!", "Which command?"),
    ("!pledge", "“pledge” needs one of"),
    ("!pledge renew 1", "“pledge renew” needs one of"),
    ("!pledge new", "Missing title"),
    ('!pledge new "Unclosed title', "A quote is not closed"),
    ('!pledge new "Run" per fortnight', "“fortnight” is not one of day, week, month"),
    ('!pledge new "Run" times many', "“many” is not a whole number"),
    ('!pledge new "Run" times 0', "must be between 1 and 93"),
    ('!pledge new "Run" times 999', "must be between 1 and 93"),
    ('!pledge new "Run" times', "times needs a value"),
    ('!pledge new "Run" until 31/12/2026', "YYYY-MM-DD"),
    ('!pledge new "Run" until 2020-01-01', "in the past"),
    ('!pledge new "Run" remind "someday 25:00"', "slot"),
    ('!pledge new "Run" per day remind "thu 18:00"', "time of day, without a weekday"),
    ('!pledge new "Attend one local meeting"', "exists already"),
    ('!pledge new "' + "x" * 130 + '"', "the limit is 120"),
    ('!pledge new "\x07\x1b"', "The title is empty"),
    ("!done", "Missing pledge"),
    ("!done 9", "No pledge here matches “9”"),
    ("!done zzz", "No pledge here matches “zzz”"),
    ("!done a", "fits more than one pledge"),
    ("!done 1 " + "n" * 400, "the limit is 300"),
    ("!pledge join 1 2 3", "I did not understand “2 3” at the end"),
    ("!skip 1", "Missing reason"),
    ("!vouch nobody 1", "I don't know a member called “nobody”"),
    ("!offline 3x", "unknown unit"),
    ("!offline 400d", "Write a duration"),
    ("!offline", "Missing duration"),
    ("!me timezone Mars/Olympus", "not a timezone I know"),
    ("!me timezone", "Missing Area/City"),
    ("!remind 1 someday", "slot"),
    ("!remind 1 thu 18:00 pigeon", "“pigeon” is not one of dm, channel"),
    ("!settings colour blue", "“colour” is not one of"),
    ("!settings threshold lots", "is not a number"),
    ("!settings timezone Atlantis/City", "not a timezone I know"),
    ("!settings quiet-hours 25:00-08:00", "quiet"),
    ("!forget confirm", "Nothing to confirm"),
    ("!tap 1", "no question with buttons"),
    ("!wait 3d", "only works in the sandbox"),
    ("!streak @ghost", "I don't know a member called “@ghost”"),
    ("!help frobnicate", "frobnicate"),
]


@pytest.mark.parametrize(("line", "expected"), BAD, ids=[b[0][:30] for b in BAD])
async def test_bad_input_is_explained_and_changes_nothing(
    session: ConsoleSession, line: str, expected: str
):
    await session.say('!pledge new "Attend one local meeting" per week')
    await session.say('!pledge new "Attend a workshop" per month')
    await session.say("@ana !pledge join 1")
    session.adapter.wait = None
    before = await snapshot()
    out = await session.say(line)
    assert expected.lower() in out.lower(), out
    assert "Traceback" not in out
    assert "something went wrong" not in out
    assert await snapshot() == before


async def test_control_characters_are_stripped_from_stored_text(session: ConsoleSession):
    out = await session.say('!pledge new "Call\x00 a\x1b neighbour\u202e" per week')
    assert "Call a neighbour" in out
    assert "\x1b" not in await session.say("!pledge list")


async def test_mass_pings_in_titles_are_shown_inert(session: ConsoleSession):
    out = await session.say('!pledge new "Tell @everyone and @room" per week')
    assert "@everyone" not in out
    assert "@room" not in out
