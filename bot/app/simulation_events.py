"""`logoff simulate --events`: one offline event a week, linked to the meeting pledge, answered
the way members answer (Going / Maybe / Can't on the card, "did you make it?" after)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.messages.actions import ATTENDANCE_VERBS, RSVP_VERBS, Action, decode
from bot.messages.event_card import CARD_KEY
from bot.messages.replies import Reply
from bot.rules.localtime import resolve_local
from bot.rules.periods import period_at
from storage import events as event_queries

EVENT_TITLE = "Neighbourhood meeting"
EVENT_PLACE = "Community hall"
# Thursday 19:00-21:00 in the group's zone; the organiser plans it on the Monday at 10:00.
EVENT_WEEKDAY = 3
EVENT_TIME = time(19, 0)
EVENT_LENGTH = "2h"
PLANNED_AFTER = timedelta(hours=1)
# How a neighbourhood group answers a meeting's card: the rest (25 %) do not answer at all.
RSVP_SHARES = (("going", 0.40), ("maybe", 0.20), ("cant", 0.15))
# Who comes: most of those who said Going, fewer of the Maybes, nobody else.
ATTENDS = {"going": 0.85, "maybe": 0.40}
# Members answer the card within this many minutes of seeing it (10 minutes to 2.5 days).
RSVP_DELAY_MINUTES = (10, 3600)


@dataclass
class EventTally:
    """What the event loop cost and gave, counted as it happened."""

    events: int = 0
    answers: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*RSVP_VERBS, "none"), 0))
    taps: int = 0
    accepted: int = 0
    asked: int = 0
    answered_after: int = 0


class WeeklyEvents:
    """Plans the organiser's weekly event and the members' answers to its card and question.

    `push(at, who, kind, text)` queues a member's action on the simulation's timeline; each
    member's plan for the week (will they come?) is drawn once, when they answer the card."""

    def __init__(
        self,
        rng: random.Random,
        tz: ZoneInfo,
        push: Callable[[datetime, str, str, str], None],
        responsiveness: Callable[[str], float],
    ) -> None:
        self.rng = rng
        self.tz = tz
        self.push = push
        self.responsiveness = responsiveness
        self.tally = EventTally()
        self.comes: dict[tuple[str, int], bool] = {}  # (member, event id) -> attends
        self.answer_of: dict[tuple[str, int], str] = {}  # (member, event id) -> their answer
        self.comes_in_week: dict[tuple[str, str], bool] = {}  # (member, week key) -> attends
        self.week_of: dict[int, str] = {}  # event id -> the week key of its start

    def plan(self, start: datetime, weeks: int, organiser: str, pledge_number: int) -> None:
        first = start.astimezone(self.tz).date()
        for w in range(weeks):
            monday = first + timedelta(days=7 * w - first.weekday())
            day: date = monday + timedelta(days=EVENT_WEEKDAY)
            at = max(start, resolve_local(monday, time(9, 0), self.tz) + PLANNED_AFTER)
            self.push(
                at,
                organiser,
                "say",
                f'!event new "{EVENT_TITLE}" {day.isoformat()} {EVENT_TIME:%H:%M} '
                f'for {EVENT_LENGTH} at "{EVENT_PLACE}" pledge {pledge_number}',
            )

    @staticmethod
    def is_card(reply: Reply | None) -> bool:
        return reply is not None and not reply.error and CARD_KEY in reply.extra

    async def card_posted(self, reply: Reply, members: list[str], now: datetime) -> None:
        """Everyone sees the card; each member answers it in one tap, or not at all."""
        event = await event_queries.get_event(int(reply.extra[CARD_KEY]))
        assert event is not None
        self.tally.events += 1
        self.week_of[event.id] = period_at(event.starts_at, "week", self.tz).key
        taps = {a.verb: b.action for b in reply.buttons if (a := decode(b.action)) is not None}
        for name in members:
            answer = self._draw_answer()
            self.tally.answers[answer] += 1
            self.answer_of[(name, event.id)] = answer
            comes = answer in ATTENDS and self.rng.random() < ATTENDS[answer]
            self.comes[(name, event.id)] = comes
            self.comes_in_week[(name, self.week_of[event.id])] = comes
            if answer != "none":
                delay = timedelta(minutes=self.rng.randint(*RSVP_DELAY_MINUTES))
                self.push(now + delay, name, "tap", taps[answer])

    def _draw_answer(self) -> str:
        roll = self.rng.random()
        for answer, share in RSVP_SHARES:
            if roll < share:
                return answer
            roll -= share
        return "none"

    def attends(self, name: str, week_key: str) -> bool:
        """Whether a member keeps the meeting pledge this week by coming to the event (then
        they answer "did you make it?" instead of the pledge's own buttons)."""
        return self.comes_in_week.get((name, week_key), False)

    def asked(self, reply: Reply, names: list[str], now: datetime) -> bool:
        """ "Did you make it?": who is asked taps I went / Missed it as often as they tap."""
        actions = [a for b in reply.buttons if (a := decode(b.action)) is not None]
        answers = {a.verb: a for a in actions if a.verb in ATTENDANCE_VERBS}
        if not answers:
            return False
        event_id = next(iter(answers.values())).pledge_id
        for name in names:
            self.tally.asked += 1
            if self.rng.random() >= self.responsiveness(name):
                continue
            verb = "went" if self.comes.get((name, event_id)) else "missed"
            delay = timedelta(minutes=self.rng.randint(5, 180))
            self.push(now + delay, name, "tap", answers[verb].encode())
        return True

    def tapped(self, action: Action, reply: Reply) -> None:
        self.tally.taps += 1
        if not reply.error:
            self.tally.accepted += 1
            if action.verb in ATTENDANCE_VERBS:
                self.tally.answered_after += 1

    async def outcome(self) -> dict[str, int]:
        """Who went, who missed, and how many of those who went kept the pledge by it."""
        ids = list(self.week_of)
        rows = await event_queries.attendance(ids)
        return {
            "went": sum(1 for r in rows if r.went),
            "missed": sum(1 for r in rows if not r.went),
            "pledge_kept_by_going": sum(1 for r in rows if r.went and r.checkin_id is not None),
        }
