"""`logoff simulate --events`: a weekly event linked to the meeting pledge, within the budget."""

from __future__ import annotations

import re

from bot.app.config import Config
from bot.app.simulation import simulate

EVENT_ID = re.compile(r":e(\d+):")


async def test_a_weekly_event_reaches_only_going_and_maybe_and_keeps_the_pledge_in_one_tap():
    figures, sim = await simulate(Config(), members=12, pledges=2, weeks=8, seed=1, events=True)
    assert sim.weekly is not None
    assert figures.events_per_week == 1
    assert sim.weekly.tally.events == 8
    assert figures.quiet_hour_messages == 0
    assert figures.taps_to_confirm == 1
    assert figures.taps_per_event_answer == 1  # one tap per RSVP and per "I went"
    assert figures.event_outcome["went"] > 0
    assert figures.event_outcome["pledge_kept_by_going"] == figures.event_outcome["went"]
    # The card, at most one reminder and one question a week: what the event adds.
    assert 0 < figures.event_messages_per_member_week <= 3
    assert figures.event_channel_messages_per_week <= 3
    assert figures.channel_messages_per_week <= Config().schedule.weekly_message_cap
    names = {m.member_id: m.name for m in sim.members.values()}
    asked = 0
    for d in sim.delivered:
        if not d.event or not d.reply.mentions:
            continue
        key = EVENT_ID.search(d.reply.extra["idempotency_key"])
        assert key is not None
        for ref in d.reply.mentions:
            asked += 1
            answer = sim.weekly.answer_of[(names[ref.member_id], int(key.group(1)))]
            assert answer in ("going", "maybe"), (
                "an event message reached a Can't or a silent member"
            )
    assert asked > 0
