"""A hypothesis state machine that drives the real engine and the reference model side by side."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bot.actions import Action
from bot.app import build_engine
from bot.clock import VirtualClock
from bot.config import BotConfig, Config
from bot.context import Actor, Place
from bot.engine import Engine
from storage import database
from storage import groups as group_queries
from storage import models as m
from storage import pledges as pledge_queries
from tests.model.reference import Reference, before, span_at

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
STREAK_LINE = re.compile(
    r"`(\d+)` \*\*.*?\*\*: streak (\d+) \w+ \(best (\d+)\), strength (\d+)%, freezes (\d+)"
)
FAILURE = "went wrong on my side"

member_names = st.sampled_from(MEMBERS)
pledge_numbers = st.sampled_from((1, 2))
answer_kinds = st.sampled_from(("done", "not", "skip"))

UrlFactory = Callable[[], tuple[str, Callable[[], None]]]


class EngineModel(RuleBasedStateMachine):
    """Members answer, undo, skip, pause and move house while time jumps; the model must agree."""

    new_database: UrlFactory  # set by `machine_for`

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.events = itertools.count(1)
        self.dispose: Callable[[], None] | None = None
        self.engine: Engine | None = None
        self.ref: Reference | None = None
        self.last_tap: tuple[str, int, str, str, str] | None = None

    # -- plumbing -----------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    @property
    def clock(self) -> VirtualClock:
        assert self.engine is not None
        clock = self.engine.clock
        assert isinstance(clock, VirtualClock)
        return clock

    @property
    def model(self) -> Reference:
        assert self.ref is not None
        return self.ref

    def say(self, who: str, text: str, event: str | None = None) -> str:
        assert self.engine is not None
        actor = Actor("console", who, who, is_admin=(who == ADMIN))
        event = event or f"e{next(self.events)}"
        reply = self.run(self.engine.handle_text(actor, PLACE, text, event))
        assert reply is not None
        assert FAILURE not in reply.text, reply.text
        return reply.text

    def tap(self, who: str, number: int, verb: str, key: str, event: str) -> str:
        assert self.engine is not None
        actor = Actor("console", who, who)
        pledge_id = self.run(self._pledge_id(number))
        action = Action(verb, pledge_id, key).encode()
        reply = self.run(self.engine.handle_action(actor, PLACE, action, event))
        assert FAILURE not in reply.text, reply.text
        return reply.text

    @staticmethod
    async def _pledge_id(number: int) -> int:
        row = await m.Pledge.get(number=number)
        return int(row.id)

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
        joins=st.lists(st.tuples(member_names, pledge_numbers), max_size=4),
    )
    def open_group(
        self, start: datetime, offset: int, times: int, joins: list[tuple[str, int]]
    ) -> None:
        url, self.dispose = self.new_database()
        now = start + timedelta(hours=offset)
        self.run(database.migrate(url, keep_open=True))
        # The rate limit is not under test here: the checks alone type `!streak` after every step.
        config = Config(bot=BotConfig(timezone="Europe/Berlin", commands_per_minute=0))
        self.engine = build_engine(config, VirtualClock(now))
        self.ref = Reference(now.astimezone(UTC), "Europe/Berlin")
        self.say("ana", f'!pledge new "Walk" times {times} per week')
        self.model.add_pledge(1, "week", times, "ana")
        self.say("ben", '!pledge new "Read" per day')
        self.model.add_pledge(2, "day", 1, "ben")
        for who, number in joins:
            self.join(who, number)

    # -- rules --------------------------------------------------------------------------

    @rule(who=member_names, number=pledge_numbers)
    def join(self, who: str, number: int) -> None:
        self.say(who, f"!pledge join {number}")
        self.model.join(who, number)

    @rule(who=member_names, number=pledge_numbers, note=st.booleans())
    def type_done(self, who: str, number: int, note: bool) -> None:
        event = f"e{next(self.events)}"
        self.say(who, f"!done {number}" + (" with Sam at the door" if note else ""), event)
        self.model.typed(who, number, "done", f"console:{event}")

    @rule(who=member_names, number=pledge_numbers)
    def type_skip(self, who: str, number: int) -> None:
        event = f"e{next(self.events)}"
        self.say(who, f"!skip {number} ill this week", event)
        self.model.typed(who, number, "skip", f"console:{event}")

    @rule(who=member_names, number=pledge_numbers, verb=answer_kinds, late=st.booleans())
    def tap_answer(self, who: str, number: int, verb: str, late: bool) -> None:
        pledge = self.model.pledges[number]
        span = self.model.current(pledge)
        if late:
            span = before(span, self.model.zone)
        event = f"tap{next(self.events)}"
        self.last_tap = (who, number, verb, span.key, event)
        self.tap(who, number, verb, span.key, event)
        self.model.tap(who, number, verb, span.key, f"console:{event}")

    @precondition(lambda self: self.last_tap is not None)
    @rule()
    def tap_again(self) -> None:
        """A double click or a replayed event counts once."""
        assert self.last_tap is not None
        who, number, verb, key, event = self.last_tap
        self.tap(who, number, verb, key, event)
        self.model.tap(who, number, verb, key, f"console:{event}")

    @rule(who=member_names, number=pledge_numbers)
    def undo(self, who: str, number: int) -> None:
        self.say(who, f"!undo {number}")
        self.model.undo(who, number)

    @rule(who=st.sampled_from((*MEMBERS, ADMIN)), number=pledge_numbers)
    def pause(self, who: str, number: int) -> None:
        self.say(who, f"!pledge pause {number}")
        self.model.pause(who, number, admin=who == ADMIN)

    @rule(who=st.sampled_from((*MEMBERS, ADMIN)), number=pledge_numbers)
    def resume(self, who: str, number: int) -> None:
        self.say(who, f"!pledge resume {number}")
        self.model.resume(who, number, admin=who == ADMIN)

    @rule(who=member_names, zone=st.sampled_from(ZONES))
    def move_house(self, who: str, zone: str) -> None:
        """A member's own zone changes when their reminders come, never their group's periods."""
        self.say(who, f"!me timezone {zone}")

    @rule(zone=st.sampled_from(ZONES))
    def change_group_zone(self, zone: str) -> None:
        self.say(ADMIN, f"!settings timezone {zone}")
        self.model.set_zone(zone)

    @rule(hours=st.sampled_from(HOURS), minutes=st.sampled_from((0, 0, 1, 59)))
    def wait(self, hours: int, minutes: int) -> None:
        self.jump(timedelta(hours=hours, minutes=minutes))

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

    def jump(self, span: timedelta) -> None:
        assert self.engine is not None
        self.clock.advance(span)
        self.run(self.engine.close_due())
        self.model.advance(span)
        assert self.clock.now() == self.model.now

    # -- checks -------------------------------------------------------------------------

    @invariant()
    def engine_agrees_with_the_model(self) -> None:
        if self.ref is None:
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
        assert group.group_streak == ref.group_streak, (group.group_streak, ref.weeks)

    async def _compare_shown(self, who: str) -> None:
        ref = self.model
        assert self.engine is not None
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
