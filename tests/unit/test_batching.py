"""One message per group slot: who is named in it, who waits for their own quiet hours, DMs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.messages.markup import to_plain
from bot.messages.notices import Notice
from bot.rules.pledge_periods import current_period
from bot.scheduling.attention import batch, importance
from tests.support import records as r

BERLIN = ZoneInfo("Europe/Berlin")
THURSDAY = datetime(2026, 12, 3, 18, 0, tzinfo=BERLIN)
GROUP = r.group()
PLEDGE = r.pledge()
WEEK = current_period(PLEDGE, GROUP, THURSDAY)
ANA = r.member()
BO = r.member(id=2, external_id="bo", display_name="Bo")
CY = r.member(id=3, external_id="cy", display_name="Cy", timezone="Asia/Tokyo")
DI = r.member(id=4, external_id="di", display_name="Di")
SOURCES = [r.job("remind:g1:p1:week:2026-11-30", "remind", THURSDAY)]


def _text(reply_text: str) -> str:
    return to_plain(reply_text, lambda i: f"@{i}")


def test_members_reminded_in_the_same_minute_share_one_channel_message() -> None:
    notices = [Notice("remind", m, PLEDGE, WEEK, dm=False) for m in (ANA, BO)]
    (out,) = batch(GROUP, notices, THURSDAY, SOURCES)
    assert out.member_id is None  # the group's channel
    assert out.due_at == THURSDAY
    assert [m.member_id for m in out.reply.mentions] == [1, 2]
    assert "• Call a neighbour — @1 @2" in _text(out.reply.text)
    assert [b.label for b in out.reply.buttons] == ["Done", "Not this time", "Skip", "Snooze"]
    assert (out.pledge_id, out.period_key) == (1, "week:2026-11-30")


def test_a_member_asleep_in_their_own_zone_is_named_in_a_later_message() -> None:
    notices = [Notice("remind", m, PLEDGE, WEEK, dm=False) for m in (ANA, CY)]
    now, later = batch(GROUP, notices, THURSDAY, SOURCES)
    assert [m.member_id for m in now.reply.mentions] == [1]
    # 18:00 in Berlin is 02:00 in Tokyo; Tokyo's 08:00 falls in Berlin's night, so 08:00 Berlin.
    assert later.due_at == datetime(2026, 12, 4, 8, 0, tzinfo=BERLIN)
    assert [m.member_id for m in later.reply.mentions] == [3]
    assert now.dedupe_key != later.dedupe_key


def test_a_member_who_chose_dms_gets_their_own_message_without_a_mention() -> None:
    notices = [
        Notice("remind", ANA, PLEDGE, WEEK, dm=False),
        Notice("prompt", DI, PLEDGE, WEEK, dm=True),
    ]
    channel, dm = batch(GROUP, notices, THURSDAY, SOURCES)
    assert channel.member_id is None
    assert channel.kind == "remind"
    assert dm.member_id == 4
    assert dm.kind == "prompt"
    assert dm.reply.mentions == ()
    assert _text(dm.reply.text).startswith("How did it go?")


def test_a_question_wins_over_a_nudge_when_both_meet_in_one_message() -> None:
    notices = [
        Notice("remind", ANA, PLEDGE, WEEK, dm=False),
        Notice("prompt", BO, PLEDGE, WEEK, dm=False),
    ]
    (out,) = batch(GROUP, notices, THURSDAY, SOURCES)
    assert out.kind == "prompt"


def test_the_same_batch_gets_the_same_keys_so_a_retry_sends_nothing_twice() -> None:
    notices = [Notice("remind", m, PLEDGE, WEEK, dm=False) for m in (ANA, CY)]
    first = [o.dedupe_key for o in batch(GROUP, notices, THURSDAY, SOURCES)]
    assert first == [o.dedupe_key for o in batch(GROUP, notices, THURSDAY, SOURCES)]
    other = [r.job("remind:g1:p2:week:2026-11-30", "remind", THURSDAY)]
    assert first != [o.dedupe_key for o in batch(GROUP, notices, THURSDAY, other)]


def test_the_weekly_cap_keeps_room_for_a_weekly_question_before_a_daily_nudge() -> None:
    assert importance("prompt", "week") > importance("followup", "week")
    assert importance("followup", "week") > importance("remind", "day")
