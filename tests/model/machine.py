"""A hypothesis state machine: the real engine and scheduler beside the reference model."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bot.actors import Actor, Place
from bot.app.bootstrap import App, build_app
from bot.app.config import BotConfig, Config
from bot.app.serve import advance
from bot.clock import VirtualClock
from bot.engine.engine import Engine
from bot.messages.actions import Action, decode, event_action
from bot.messages.replies import Reply
from storage import database
from storage import groups as group_queries
from storage import jobs as job_queries
from storage import models as m
from storage import pledges as pledge_queries
from storage.records import GroupRec, MemberRec
from tests.model.reference import (
    Answer,
    Reference,
    Span,
    before,
    described,
    in_quiet,
    span_at,
    span_of_key,
)

T = TypeVar("T")

ADMIN = "adm"
MEMBERS = ("ana", "ben", "cy")
PLACE = Place("console", "model-room", "model room")
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London", "UTC")
# Two DST days in Berlin: clocks jump forward on 29 March, back on 25 October 2026.
STARTS = (
    datetime(2026, 3, 26, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2026, 10, 22, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")),
)
TRANSITIONS = (
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
)
HOURS = (1, 2, 3, 6, 11, 12, 13, 23, 24, 25, 36, 47, 72, 100, 168)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TITLES = {1: "Meet", 2: "Walk", 3: "Tidy"}
CADENCES = {1: "week", 2: "day", 3: "month"}
STREAK_LINE = re.compile(
    r"`(\d+)` \*\*.*?\*\*: streak (\d+) \w+ \(best (\d+)\), strength (\d+)%, freezes (\d+)"
)
SHOWN_STREAK = re.compile(r"Streak: (\d+)")
NOTICE_LINE = re.compile(r"^• \*\*(.+?)\*\*(.*)$")
MENTION = re.compile(r"\{@(\d+)\}")
FAILURE = "went wrong on my side"
# How late a weekly reminder may reach a member after its slot: quiet hours in their zone.
REMINDER_WINDOW = timedelta(hours=16)

# Issue 14: at most this many events per run, all planned by the admin.
MAX_EVENTS = 3
EVENT_LINE = re.compile(r"(?:⏰|Did you make it to) \*\*Gather (\d+)\*\*")


@dataclass(frozen=True)
class PlannedEvent:
    id: int
    starts_at: datetime
    ends_at: datetime
    linked: bool


member_names = st.sampled_from(MEMBERS)
rsvp_verbs = st.sampled_from(("going", "maybe", "cant"))
pledge_numbers = st.sampled_from((1, 2, 3))
answer_kinds = st.sampled_from(("done", "not", "skip"))

UrlFactory = Callable[[], tuple[str, Callable[[], None]]]


@dataclass
class Delivered:
    at: datetime
    member_id: int | None  # None: the group's channel
    reply: Reply


@dataclass
class Outbox:
    """Every message the scheduler hands over, in order; the platform accepts them all."""

    clock: VirtualClock
    got: list[Delivered] = field(default_factory=list)

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str:
        self.got.append(Delivered(self.clock.now(), None, reply))
        return f"m{len(self.got)}"

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        self.got.append(Delivered(self.clock.now(), member.id, reply))
        return f"m{len(self.got)}"

    async def find_sent(self, key: str, group: GroupRec, member: MemberRec | None) -> str | None:
        return None  # one process, no crash: nothing was handed over before


@dataclass(frozen=True)
class Notice:
    """One member asked about one pledge's period by a delivered message."""

    member: str
    number: int
    key: str
    snoozed: bool


class EngineModel(RuleBasedStateMachine):
    """Members answer, tap old questions, snooze, pause, move house and change the calendar while
    time runs through the real scheduler; the model must agree, and every message must fit."""

    new_database: UrlFactory  # set by `machine_for`
    # Which families of checks run: the state (outcomes, streaks, group streak), the replies to
    # answers, every delivered message, and the weekly reminders' arrival.
    checks: frozenset[str] = frozenset({"state", "replies", "messages", "reminders"})

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.events = itertools.count(1)
        self.dispose: Callable[[], None] | None = None
        self.app: App | None = None
        self.outbox: Outbox | None = None
        self.ref: Reference | None = None
        self.last_tap: tuple[str, int, str, str, str] | None = None
        self.pledge_ids: dict[int, int] = {}
        self.member_ids: dict[int, str] = {}
        self.seen = 0  # deliveries checked so far
        self.asks: dict[tuple[str, int, str], int] = {}
        self.channel_week: dict[str, int] = {}
        self.week_cap: dict[str, int] = {}  # the highest cap in force during each week
        self.low_cap_weeks: set[str] = set()
        self.snoozes: set[tuple[str, int, str, datetime]] = set()
        self.reached: dict[tuple[str, int, str], list[datetime]] = {}
        self.expected: list[tuple[str, int, str, datetime]] = []
        self.unsettled: set[tuple[str, str]] = set()  # (member, week) with a mute or remind change
        self.planned_events: dict[int, PlannedEvent] = {}
        self.rsvps: dict[tuple[str, int], str] = {}
        # Who answered "went" / "missed" about an event (after its start): not asked again.
        self.told: set[tuple[str, int]] = set()
        # The check-in a "went" recorded, per (member, event); None when it recorded none.
        self.attended: dict[tuple[str, int], Answer | None] = {}
        self.event_messages: dict[tuple[int, str], int] = {}

    # -- plumbing -----------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    @property
    def engine(self) -> Engine:
        assert self.app is not None
        return self.app.engine

    @property
    def clock(self) -> VirtualClock:
        clock = self.engine.clock
        assert isinstance(clock, VirtualClock)
        return clock

    @property
    def model(self) -> Reference:
        assert self.ref is not None
        return self.ref

    def reply(self, who: str, text: str, event: str | None = None) -> Reply:
        actor = Actor("console", who, who, is_admin=(who == ADMIN))
        event = event or f"e{next(self.events)}"
        reply = self.run(self.engine.handle_text(actor, PLACE, text, event))
        assert reply is not None
        assert FAILURE not in reply.text, reply.text
        return reply

    def say(self, who: str, text: str, event: str | None = None) -> str:
        return self.reply(who, text, event).text

    def tap(self, who: str, action: str, event: str) -> Reply:
        actor = Actor("console", who, who)
        reply = self.run(self.engine.handle_action(actor, PLACE, action, event))
        assert FAILURE not in reply.text, reply.text
        return reply

    async def _ids(self) -> None:
        for row in await m.Pledge.all():
            self.pledge_ids[int(row.number)] = int(row.id)
        for row in await m.Member.all():
            self.member_ids[int(row.id)] = str(row.external_id)

    def teardown(self) -> None:
        try:
            self.run(database.close_database())
        finally:
            self.loop.close()
            if self.dispose is not None:
                self.dispose()

    # -- set-up -------------------------------------------------------------------------

    @initialize(
        start=st.sampled_from(STARTS),
        offset=st.integers(0, 96),
        times=st.sampled_from((1, 2)),
        weekly_slot=st.booleans(),
        daily_slot=st.booleans(),
        cy_abroad=st.booleans(),
        joins=st.lists(st.tuples(member_names, pledge_numbers), max_size=5),
    )
    def open_group(
        self,
        start: datetime,
        offset: int,
        times: int,
        weekly_slot: bool,
        daily_slot: bool,
        cy_abroad: bool,
        joins: list[tuple[str, int]],
    ) -> None:
        url, self.dispose = self.new_database()
        now = start + timedelta(hours=offset)
        self.run(database.migrate(url, keep_open=True))
        # The rate limit is not under test here: the checks alone type `!streak` after every step.
        config = Config(bot=BotConfig(timezone="Europe/Berlin", commands_per_minute=0))
        clock = VirtualClock(now)
        self.app = build_app(config, clock)
        self.outbox = Outbox(clock)
        self.app.attach_outbox("console", self.outbox)
        self.ref = Reference(now.astimezone(UTC), "Europe/Berlin")
        remind = ' remind "thu 18:00"' if weekly_slot else ""
        self.say("ana", f'!pledge new "Meet" times {times} per week{remind}')
        self.model.add_pledge(1, "week", times, "ana", (3, time(18, 0)) if weekly_slot else None)
        remind = ' remind "08:30"' if daily_slot else ""
        self.say("ben", f'!pledge new "Walk" per day{remind}')
        self.model.add_pledge(2, "day", 1, "ben", (None, time(8, 30)) if daily_slot else None)
        self.say("cy", '!pledge new "Tidy" per month')
        self.model.add_pledge(3, "month", 1, "cy")
        if cy_abroad:
            self.move_house("cy", "America/New_York")
        for who, number in joins:
            self.join(who, number)
        self.run(self._ids())

    # -- rules: answers -----------------------------------------------------------------

    @rule(who=member_names, number=pledge_numbers)
    def join(self, who: str, number: int) -> None:
        self.say(who, f"!pledge join {number}")
        self.model.join(who, number)
        self.run(self._ids())

    @rule(
        who=member_names,
        number=pledge_numbers,
        word=st.sampled_from(("", "", "today", "yesterday", "last week", "last month")),
        note=st.booleans(),
    )
    def type_done(self, who: str, number: int, word: str, note: bool) -> None:
        event = f"e{next(self.events)}"
        text = f"!done {number}" + (f" {word}" if word else "")
        reply = self.reply(who, text + (" with Sam at the door" if note else ""), event)
        verdict = self.model.typed(who, number, "done", f"console:{event}", word)
        self.check_answer(who, number, "done", verdict, reply)

    @rule(who=member_names, number=pledge_numbers, word=st.sampled_from(("", "yesterday")))
    def type_skip(self, who: str, number: int, word: str) -> None:
        event = f"e{next(self.events)}"
        text = f"!skip {number}" + (f" {word}" if word else "") + " ill this week"
        reply = self.reply(who, text, event)
        verdict = self.model.typed(who, number, "skip", f"console:{event}", word)
        self.check_answer(who, number, "skip", verdict, reply)

    @rule(who=member_names, number=pledge_numbers, verb=answer_kinds, late=st.booleans())
    def tap_answer(self, who: str, number: int, verb: str, late: bool) -> None:
        span = self.model.current(self.model.pledges[number])
        if late:
            span = before(span, self.model.zone)
        self.press(who, number, verb, span.key)

    @precondition(lambda self: self.outbox is not None and self.outbox.got)
    @rule(pick=st.integers(0, 10_000), who=member_names, button=st.integers(0, 30))
    def tap_a_delivered_button(self, pick: int, who: str, button: int) -> None:
        """Anyone may press a button of any message the bot sent, however old."""
        assert self.outbox is not None
        asked = [d for d in self.outbox.got if d.reply.buttons]
        if not asked:
            return
        message = asked[-1 - pick % len(asked)]
        action = decode(message.reply.buttons[button % len(message.reply.buttons)].action)
        if action is None or action.verb not in ("done", "not", "skip"):
            return
        numbers = {v: k for k, v in self.pledge_ids.items()}
        self.press(who, numbers[action.pledge_id], action.verb, action.period_key)

    def press(self, who: str, number: int, verb: str, key: str) -> None:
        event = f"tap{next(self.events)}"
        self.last_tap = (who, number, verb, key, event)
        action = Action(verb, self.pledge_ids[number], key).encode()
        reply = self.tap(who, action, event)
        verdict = self.model.tap(who, number, verb, key, f"console:{event}")
        self.check_answer(who, number, verb, verdict, reply)

    @precondition(lambda self: self.last_tap is not None)
    @rule()
    def tap_again(self) -> None:
        """A double click or a replayed event counts once."""
        assert self.last_tap is not None
        who, number, verb, key, event = self.last_tap
        action = Action(verb, self.pledge_ids[number], key).encode()
        self.tap(who, action, event)
        self.model.tap(who, number, verb, key, f"console:{event}")

    @rule(who=member_names, number=pledge_numbers)
    def undo(self, who: str, number: int) -> None:
        self.say(who, f"!undo {number}")
        self.model.undo(who, number)

    # -- rules: events (issue 14) ------------------------------------------------------

    @precondition(lambda self: len(self.planned_events) < MAX_EVENTS)
    @rule(
        days=st.integers(0, 9),
        hour=st.sampled_from((2, 3, 10, 18, 21)),
        length=st.sampled_from(("1h", "2h", "30m")),
        linked=st.booleans(),
        answers=st.lists(st.tuples(member_names, rsvp_verbs), max_size=4),
    )
    def plan_event(
        self, days: int, hour: int, length: str, linked: bool, answers: list[tuple[str, str]]
    ) -> None:
        number = len(self.planned_events) + 1
        local = (self.model.now.astimezone(self.model.zone) + timedelta(days=days)).date()
        pledge = " pledge 1" if linked else ""
        line = f'!event new "Gather {number}" {local.isoformat()} {hour:02d}:00 for {length}'
        reply = self.reply(ADMIN, line + pledge)
        if reply.error:
            assert "passed already" in reply.text, reply.text
            return
        row = self.run(m.Event.get(number=number))
        self.planned_events[number] = PlannedEvent(row.id, row.starts_at, row.ends_at, linked)
        for who, verb in answers:
            self.rsvp(who, number - 1, verb)

    @precondition(lambda self: self.planned_events)
    @rule(
        who=member_names, pick=st.integers(0, 2), verb=st.sampled_from(("going", "maybe", "cant"))
    )
    def rsvp(self, who: str, pick: int, verb: str) -> None:
        number = sorted(self.planned_events)[pick % len(self.planned_events)]
        event = self.planned_events[number]
        reply = self.tap(who, event_action(verb, event.id).encode(), f"rsvp{next(self.events)}")
        assert not reply.error, reply.text
        if self.model.now < event.ends_at:
            self.rsvps[who, number] = verb

    @precondition(lambda self: self.planned_events)
    @rule(
        pick=st.integers(0, 2),
        extra=st.sampled_from((0, 5, 90, 600)),
        answers=st.lists(st.tuples(member_names, st.booleans()), max_size=3),
    )
    def wait_for_an_event_to_end(
        self, pick: int, extra: int, answers: list[tuple[str, bool]]
    ) -> None:
        """Time runs to an event's end (its reminder and question on the way); some answer."""
        number = sorted(self.planned_events)[pick % len(self.planned_events)]
        end = self.planned_events[number].ends_at + timedelta(minutes=extra)
        if end > self.model.now:
            self.jump(end - self.model.now)
        started = sorted(n for n, e in self.planned_events.items() if e.starts_at <= self.model.now)
        for who, went in answers:
            self.attend(who, started.index(number), went)

    @precondition(
        lambda self: any(e.starts_at <= self.model.now for e in self.planned_events.values())
    )
    @rule(who=member_names, pick=st.integers(0, 2), went=st.booleans())
    def attend(self, who: str, pick: int, went: bool) -> None:
        started = sorted(n for n, e in self.planned_events.items() if e.starts_at <= self.model.now)
        number = started[pick % len(started)]
        event = self.planned_events[number]
        key = f"att{next(self.events)}"
        action = event_action("went" if went else "missed", event.id).encode()
        reply = self.tap(who, action, key)
        assert not reply.error, reply.text
        ref = self.model
        if ref.now >= event.starts_at:
            self.told.add((who, number))
        if ref.now < event.starts_at or not event.linked:
            return
        previous = self.attended.get((who, number))
        live = previous is not None and not previous.undone
        part = ref.parts.get((who, 1))
        span = span_at("week", event.starts_at, ref.zone, ref.week_start)
        is_open = part is not None and span.key in {s.key for s in ref.open_for(part)}
        if went and not live:
            self.attended[who, number] = None
            if part is None or part.pledge.paused or not is_open:
                return
            if ref.tap(who, 1, "done", span.key, f"console:{key}").what == "recorded":
                self.attended[who, number] = part.answers[-1]
                assert "is kept for the" in reply.text, reply.text
        elif not went and live and is_open:
            assert previous is not None
            previous.undone = True
            self.attended[who, number] = None
            assert "took back its check-in" in reply.text, reply.text
        elif not went and not live:
            self.attended[who, number] = None

    def check_event_message(self, d: Delivered) -> None:
        """An event's reminder and question reach who said Going or Maybe, nobody else, once."""
        hit = EVENT_LINE.search(d.reply.text)
        if hit is None:
            return
        number = int(hit.group(1))
        kind = "ask" if "Did you make it" in d.reply.text else "remind"
        event = self.planned_events[number]
        if kind == "remind":
            assert d.at < event.starts_at, ("a reminder after the start", d.at, event)
        else:
            assert d.at >= event.ends_at, ("asked before the end", d.at, event)
        mentioned = {self.member_ids[int(i)] for i in MENTION.findall(d.reply.text)}
        expected = {
            who
            for (who, n), verb in self.rsvps.items()
            if n == number
            and verb in ("going", "maybe")
            and not self.model.member(who).muted(d.at)
            and not (kind == "ask" and (who, n) in self.told)
        }
        assert mentioned == expected, (kind, number, mentioned, expected, d.reply.text)
        slot = (number, kind)
        self.event_messages[slot] = self.event_messages.get(slot, 0) + 1
        assert self.event_messages[slot] == 1, ("an event message twice", slot, d.reply.text)

    # -- rules: the group and its members -----------------------------------------------

    @rule(who=st.sampled_from((*MEMBERS, ADMIN)), number=pledge_numbers)
    def pause(self, who: str, number: int) -> None:
        self.say(who, f"!pledge pause {number}")
        if self.model.pause(who, number, admin=who == ADMIN):
            self.unsettle_everyone()

    @rule(who=st.sampled_from((*MEMBERS, ADMIN)), number=pledge_numbers)
    def resume(self, who: str, number: int) -> None:
        self.say(who, f"!pledge resume {number}")
        if self.model.resume(who, number, admin=who == ADMIN):
            self.unsettle_everyone()

    @rule(who=member_names, zone=st.sampled_from(ZONES))
    def move_house(self, who: str, zone: str) -> None:
        """A member's own zone changes when their pings may come, never their group's periods."""
        self.say(who, f"!me timezone {zone}")
        self.model.member(who).zone = zone
        self.unsettle(who)

    @rule(zone=st.sampled_from(ZONES))
    def change_group_zone(self, zone: str) -> None:
        self.say(ADMIN, f"!settings timezone {zone}")
        self.model.set_zone(zone)

    @rule(day=st.sampled_from(range(7)))
    def change_week_start(self, day: int) -> None:
        """A mid-week change must not move this week's progress: it waits for the week's close."""
        self.say(ADMIN, f"!settings week-start {WEEKDAYS[day]}")
        self.model.set_week_start(day)

    @rule(cap=st.sampled_from((2, 4, 6, 10)))
    def change_cap(self, cap: int) -> None:
        self.say(ADMIN, f"!settings cap {cap}")
        self.model.cap = cap
        week = self.model.week_key(self.model.now)
        self.week_cap[week] = max(self.week_cap.get(week, 6), cap)
        if cap < 4:
            self.low_cap_weeks.add(week)

    @rule(who=member_names, hours=st.sampled_from((0, 20, 60)))
    def go_offline(self, who: str, hours: int) -> None:
        self.say(who, f"!offline {hours}h" if hours else "!offline off")
        self.model.member(who).muted_until = (
            self.model.now + timedelta(hours=hours) if hours else None
        )
        self.unsettle(who)

    @rule(who=member_names, channel=st.sampled_from(("dm", "channel", "off")))
    def choose_delivery(self, who: str, channel: str) -> None:
        """`!remind 1 thu 18:00 dm` gives a personal slot (in their zone); `off` ends reminders."""
        part = self.model.parts.get((who, 1))
        text = "!remind 1 off" if channel == "off" else f"!remind 1 thu 18:00 {channel}"
        self.say(who, text)
        if part is not None:
            part.personal_slot = None if channel == "off" else (3, time(18, 0))
            part.dm = channel == "dm" or (part.dm and channel == "off")
            part.remind_off = channel == "off"
            self.unsettle(who)

    @rule(
        who=member_names,
        number=pledge_numbers,
        verb=st.sampled_from(("snooze1h", "snoozetonight", "snoozetomorrow")),
    )
    def snooze(self, who: str, number: int, verb: str) -> None:
        span = self.model.current(self.model.pledges[number])
        action = Action(verb, self.pledge_ids[number], span.key).encode()
        reply = self.tap(who, action, f"z{next(self.events)}")
        part = self.model.parts.get((who, number))
        if part is not None and not reply.error:
            self.snoozes.add((who, number, span.key, self.model.now))

    def unsettle(self, who: str) -> None:
        self.unsettled.add((who, self.model.week_key(self.model.now)))

    def unsettle_everyone(self) -> None:
        for who in MEMBERS:
            self.unsettle(who)

    # -- rules: time --------------------------------------------------------------------

    @rule(hours=st.sampled_from(HOURS), minutes=st.sampled_from((0, 0, 1, 59)))
    def wait(self, hours: int, minutes: int) -> None:
        self.jump(timedelta(hours=hours, minutes=minutes))

    @rule(days=st.integers(1, 4), hour=st.integers(0, 23))
    def wait_days(self, days: int, hour: int) -> None:
        """Days pass: a weekly reminder comes after several days of daily ones."""
        self.jump(timedelta(days=days, hours=hour))

    @rule(which=st.sampled_from(("midnight", "close", "dst")), nudge=st.sampled_from((-1, 0, 1)))
    def wait_until_an_edge(self, which: str, nudge: int) -> None:
        """Land on (or a second beside) a period's end, its close, or a DST change."""
        now = self.model.now
        if which == "dst":
            later = [t for t in TRANSITIONS if t > now + timedelta(seconds=1)]
            if not later:
                return
            target = later[0]
        else:
            span = span_at("day", now, self.model.zone)
            target = span.end if which == "midnight" else self.model.closes_at(span)
            if target <= now + timedelta(seconds=1):
                target = self.model.closes_at(span) + timedelta(days=1)
        self.jump(target + timedelta(seconds=nudge) - now)

    @rule(extra=st.sampled_from((0, 1, 5, 30)))
    def wait_for_the_bot(self, extra: int) -> None:
        """Move on to the bot's next job (a reminder, a question, a close), then a few minutes."""
        due = self.run(job_queries.next_due_at())
        if due is None or due <= self.model.now:
            return
        self.jump(due - self.model.now + timedelta(minutes=extra))

    def jump(self, span: timedelta) -> None:
        assert self.app is not None
        target = self.model.now + span
        # The calendar may switch on the way (a week start waiting for its week to close):
        # both sides stop there first.
        at = self.model.switch_at()
        if at is not None and self.model.now < at <= target:
            self.step_to(at)
        self.step_to(target)

    def step_to(self, target: datetime) -> None:
        assert self.app is not None
        start = self.model.now
        closed_before = {
            (who, number): set(part.closed) for (who, number), part in self.model.parts.items()
        }
        # Who the weekly reminder must reach is read in the calendar of this step (a waiting
        # week start takes effect at its end at the earliest).
        self.expect_weekly_reminders(start, target)
        self.run(advance(self.app.scheduler, self.clock, target - self.clock.now()))
        self.model.advance_to(target)
        assert self.clock.now() == self.model.now
        self.run(self._ids())
        self.check_messages(start, closed_before)

    # -- checks: answers ----------------------------------------------------------------

    def check_answer(self, who: str, number: int, verb: str, verdict: Any, reply: Reply) -> None:
        """Every reply names the period it recorded and shows the streak `!streak` shows."""
        if "replies" not in self.checks:
            return
        text = reply.text
        assert "closed already" not in text, text
        if verdict.what in ("recorded", "already"):
            span = span_of_key(verdict.key, self.model.zone)
            assert described(span) in text, (verdict, text)
            if verb == "done" or verdict.what == "recorded":
                shown = SHOWN_STREAK.search(text)
                assert shown is not None, text
                assert int(shown.group(1)) == self.model.shown_streak(who, number)[0], (
                    verdict,
                    text,
                    self.model.parts[who, number].closed,
                )
        elif verdict.what == "asked":
            keys = {decode(b.action).period_key for b in reply.buttons if decode(b.action)}
            assert set(verdict.keys) <= keys, (verdict, text, keys)
        elif verdict.what == "redirect":
            span = span_of_key(verdict.key, self.model.zone)
            assert described(span) in text, (verdict, text)
            part = self.model.parts[who, number]
            current = self.model.current(part.pledge)
            keys = {decode(b.action).period_key for b in reply.buttons if decode(b.action)}
            assert keys <= {current.key}, (verdict, text, keys)
            if current in self.model.open_for(part) and not part.answered(current.key):
                assert keys == {current.key}, (verdict, text)

    # -- checks: messages ---------------------------------------------------------------

    def notices(self, d: Delivered) -> list[Notice]:
        if not d.reply.buttons:
            return []  # a summary: it asks nobody anything
        names = {title: number for number, title in TITLES.items()}
        keys: dict[int, str] = {}
        for b in d.reply.buttons:
            action = decode(b.action)
            if action is not None and action.verb == "snooze":
                keys.setdefault(action.pledge_id, action.period_key)
        numbers = {v: k for k, v in self.pledge_ids.items()}
        found = []
        for line in d.reply.text.splitlines():
            hit = NOTICE_LINE.match(line)
            if hit is None or hit.group(1) not in names:
                continue
            number = names[hit.group(1)]
            key = keys.get(self.pledge_ids[number])
            assert key is not None, d.reply
            assert numbers[self.pledge_ids[number]] == number
            if d.member_id is not None:
                who = [self.member_ids[d.member_id]]
            else:
                who = [self.member_ids[int(i)] for i in MENTION.findall(hit.group(2))]
            for name in who:
                snoozed = (
                    any(s[:3] == (name, number, key) and s[3] < d.at for s in self.snoozes)
                    and d.member_id is not None
                )
                found.append(Notice(name, number, key, snoozed))
        return found

    def check_messages(self, start: datetime, closed_before: dict[Any, set[str]]) -> None:
        assert self.outbox is not None
        ref = self.model
        fresh = self.outbox.got[self.seen :]
        self.seen = len(self.outbox.got)
        if "messages" not in self.checks:
            fresh = []
        for d in fresh:
            assert "WARNING" not in d.reply.text, d.reply.text
            assert "logoff." not in d.reply.text, d.reply.text
            self.check_event_message(d)
            notices = self.notices(d)
            if d.member_id is None:
                week = ref.week_key(d.at)
                self.channel_week[week] = self.channel_week.get(week, 0) + 1
                cap = self.week_cap.get(week, ref.cap)
                assert self.channel_week[week] <= max(cap, ref.cap), (week, self.channel_week)
                assert not in_quiet(d.at, ref.zone), ("channel message in quiet hours", d)
            for n in notices:
                zone = ref.member(n.member).zone
                if d.member_id is not None or zone is not None:
                    tz = ZoneInfo(zone) if zone else ref.zone
                    assert not in_quiet(d.at, tz), ("a ping in their quiet hours", n, d.at, d)
                part = ref.parts[n.member, n.number]
                closed = ref.closed_at(part, n.key, d.at, closed_before[n.member, n.number])
                assert not closed, ("a message about a closed period", n, d.at, d.reply.text)
                assert not part.answered(n.key, d.at), ("asked after their answer", n, d)
                assert not ref.member(n.member).muted(d.at), ("pinged while offline", n, d)
                self.reached.setdefault((n.member, n.number, n.key), []).append(d.at)
                if n.snoozed:
                    continue
                span = span_of_key(n.key, ref.zone)
                budget = ref.week_key(span.start) if span.cadence == "day" else n.key
                if budget in ref.disturbed:
                    continue
                slot = (n.member, n.number, budget)
                self.asks[slot] = self.asks.get(slot, 0) + 1
                assert self.asks[slot] <= 1, ("asked twice", slot, d.at, d.reply.text)
        self.check_weekly_reminders()

    def expect_weekly_reminders(self, start: datetime, end: datetime) -> None:
        """A weekly pledge's reminder reaches every member it concerns, every week: a daily
        pledge in the same group never uses up its place. Noted for the slots in
        [start, end) before time moves on; checked once their window has passed."""
        ref = self.model
        if "reminders" not in self.checks or ref.pledges[1].slot is None:
            return
        span = span_at("week", start, ref.zone, ref.week_start)
        while span.start < end:
            self._expect(span, start, end)
            span = span_at("week", span.end, ref.zone, ref.week_start)

    def check_weekly_reminders(self) -> None:
        ref = self.model
        for who, number, key, due in list(self.expected):
            if ref.now < due + REMINDER_WINDOW:
                continue
            self.expected.remove((who, number, key, due))
            part = ref.parts[who, number]
            late = due + REMINDER_WINDOW
            if part.answered(key, late) or (who, ref.week_key(due)) in self.unsettled:
                continue
            got = [t for t in self.reached.get((who, number, key), []) if t >= due]
            assert got, ("a weekly reminder never came", who, key, due)

    def _expect(self, span: Span, start: datetime, end: datetime) -> None:
        ref = self.model
        week = ref.week_key(span.start)
        if week in ref.disturbed or week in self.low_cap_weeks or ref.cap < 4:
            return
        for (who, number), part in ref.parts.items():
            if number != 1 or part.personal_slot is not None or part.dm or part.remind_off:
                continue
            due = ref.reminder_due(part, span)
            if due is None or not start <= due < end or in_quiet(due, ref.zone):
                continue
            # A slot at the very second of joining is not owed: the member is on the screen
            # right then, and the bot plans slots strictly after the pledge's creation.
            if part.joined_at >= due or part.pledge.paused or ref.member(who).muted(due):
                continue
            first = span_of_key(part.first_key, ref.zone)
            if first.start > span.start or part.answered(span.key, due):
                continue
            if (who, week) in self.unsettled:
                continue
            self.expected.append((who, 1, span.key, due))

    # -- checks: state ------------------------------------------------------------------

    @invariant()
    def engine_agrees_with_the_model(self) -> None:
        if self.ref is None or "state" not in self.checks:
            return
        self.run(self._compare())

    async def _compare(self) -> None:
        ref = self.model
        group = await group_queries.find_group(PLACE.platform, PLACE.external_id)
        assert group is not None
        rows = await m.Outcome.all().prefetch_related(
            "participation__member", "participation__pledge"
        )
        stored = {
            (
                r.participation.member.external_id,
                r.participation.pledge.number,
                r.period_key,
                r.outcome,
                r.done,
            )
            for r in rows
        }
        assert stored == ref.outcomes(), (
            f"only engine: {sorted(stored - ref.outcomes())}; "
            f"only model: {sorted(ref.outcomes() - stored)}"
        )
        for (who, number), part in ref.parts.items():
            member = await group_queries.find_member("console", who)
            assert member is not None
            pledge = await m.Pledge.get(number=number)
            rec = await pledge_queries.participation_of(pledge.id, member.id)
            assert rec is not None
            got = (rec.current_streak, rec.best_streak, rec.freezes)
            want = (part.streak, part.best, part.freezes)
            assert got == want, (who, number, got, want, part.answers, part.closed)
            assert abs(rec.strength - part.strength) < 1e-9, (who, number, rec.strength)
        for who in MEMBERS:
            await self._compare_shown(who)
        assert group.week_start == ref.week_start, (group.week_start, ref.week_start)
        assert group.group_streak == ref.group_streak, (group.group_streak, ref.weeks)

    async def _compare_shown(self, who: str) -> None:
        ref = self.model
        actor = Actor("console", who, who)
        reply = await self.engine.handle_text(actor, PLACE, "!streak", f"s{next(self.events)}")
        assert reply is not None
        shown = {
            int(n): (int(s), int(b), int(p), int(f))
            for n, s, b, p, f in STREAK_LINE.findall(reply.text)
        }
        expected = {}
        for (member, number), part in ref.parts.items():
            if member != who:
                continue
            streak, best = ref.shown_streak(member, number)
            expected[number] = (streak, best, round(part.strength * 100), part.freezes)
        assert shown == expected, (who, reply.text)


_ = CADENCES
