"""`logoff simulate`: a synthetic group run by the real scheduler and engine on virtual time."""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import random
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.actors import Actor, Place
from bot.app.bootstrap import App, build_app
from bot.app.config import BotConfig, Config
from bot.app.simulation_events import WeeklyEvents
from bot.clock import VirtualClock
from bot.messages.actions import Action, decode
from bot.messages.markup import to_plain, unescape_plain
from bot.messages.replies import Reply
from bot.rules.localtime import parse_start, parse_timezone, resolve_local
from bot.rules.periods import period_at, period_from_key
from bot.rules.quiet import QuietHours, parse_quiet_hours, quiet_end
from storage import closing as close_queries
from storage import database
from storage import groups as group_queries
from storage import jobs as job_queries
from storage import pledges as pledge_queries
from storage.records import GroupRec, MemberRec

PLATFORM = "sim"
PLACE = Place(PLATFORM, "group-1", "Neighbours")
TITLES = (
    "Attend one local meeting",
    "Call a neighbour",
    "Knock on 10 doors",
    "Help at the food bank",
    "Walk to the market",
    "Visit the community garden",
)
DAILY_TITLES = ("Walk outside", "Cook a real meal", "Read on paper")
REMIND_SLOT = "wed 18:00"
DAILY_SLOT = "08:30"
# Members of the mixed-cadence scenario do their daily pledge at a local time in this range.
DAILY_HOURS = (7, 20)
DM_SHARE = 0.25
MUTER_SHARE = 0.2
_TITLE = re.compile(r"\*\*(.+?)\*\*")
_MENTION = re.compile(r"\{@(\d+)\}")


@dataclass
class SimMember:
    name: str
    reliability: float  # how often they keep a pledge
    responsiveness: float  # how often they tap when asked
    dm: bool
    muter: bool
    member_id: int = 0
    zone: str | None = None  # their own time zone, when not the group's


@dataclass
class Delivered:
    at: datetime
    member: str | None  # None: the group channel
    reply: Reply
    quiet: bool
    event: bool = False  # the event's card, reminder or "did you make it?"


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    who: str = field(compare=False)
    kind: str = field(compare=False)  # "tap" or "say"
    text: str = field(compare=False)


@dataclass
class Figures:
    members: int
    pledges: int
    weeks: int
    seed: int
    timezone: str
    messages_per_member_week: float
    worst_member_week: float
    channel_per_member_week: float
    dm_per_member_week: float
    channel_messages_per_week: float
    pings_per_member_week: float
    quiet_hour_messages: int
    taps_to_confirm: float
    confirmations: int
    daily_pledges: int
    second_zone: str | None
    typed_checkins: int
    which_period_questions: int
    held_back: int
    outcomes: dict[str, int]
    group_streak: int
    best_group_streak: int
    streaks: dict[str, list[int]]
    # `--events`: one offline event a week (0 without), what its messages add, its answers.
    events_per_week: int = 0
    event_messages_per_member_week: float = 0.0
    event_channel_messages_per_week: float = 0.0
    event_answers: dict[str, int] = field(default_factory=dict)
    event_outcome: dict[str, int] = field(default_factory=dict)
    taps_per_event_answer: float = 0.0
    card_edits: int = 0

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SimOutbox:
    """Records what the scheduler hands over and lets simulated members react to it."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self._ids = 0

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str:
        return self._deliver(group, None, reply)

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        assert fallback is not None
        return self._deliver(fallback, member, reply)

    async def find_sent(self, key: str, group: GroupRec, member: MemberRec | None) -> str | None:
        return None  # one process on a virtual clock: nothing is handed over twice

    async def edit(self, group: GroupRec, message_id: str, reply: Reply) -> None:
        self.sim.edited += 1

    def _deliver(self, group: GroupRec, member: MemberRec | None, reply: Reply) -> str:
        self._ids += 1
        self.sim.received(group, member, reply)
        return f"sim-{self._ids}"


class Simulation:
    """Members with varied reliability who answer the bot's questions by tapping."""

    def __init__(self, app: App, clock: VirtualClock, tz: ZoneInfo, seed: int) -> None:
        self.app = app
        self.clock = clock
        self.tz = tz
        self.rng = random.Random(seed)
        self.members: dict[str, SimMember] = {}
        self.by_id: dict[int, SimMember] = {}
        self.pledge_ids: dict[str, int] = {}
        self.delivered: list[Delivered] = []
        self.events: list[_Event] = []
        self.will_do: dict[tuple[str, int, str], bool] = {}
        self.answered: set[tuple[str, int, str]] = set()
        self.confirm_taps = 0
        self.edited = 0
        self.confirmations = 0
        self._seq = 0
        self._event_ids = 0
        self.quiet: QuietHours | None = None
        self.numbers: dict[int, int] = {}
        self.daily_ids: list[int] = []
        self.daily_at: dict[tuple[str, int, str], datetime] = {}
        self.typed = 0
        self.which_period = 0
        self.weekly: WeeklyEvents | None = None
        self.cards = 0

    # -- set-up ------------------------------------------------------------------------------

    def actor(self, name: str) -> Actor:
        return Actor(PLATFORM, name, name, is_admin=(name == "m01"))

    async def say(self, name: str, text: str) -> Reply | None:
        self._event_ids += 1
        return await self.app.engine.handle_text(
            self.actor(name), PLACE, text, f"ev{self._event_ids}"
        )

    async def setup(
        self, members: int, pledges: int, daily: int = 0, second_zone: str | None = None
    ) -> None:
        for i in range(1, members + 1):
            m = SimMember(
                name=f"m{i:02d}",
                reliability=self.rng.uniform(0.45, 0.95),
                responsiveness=self.rng.uniform(0.65, 0.97),
                dm=self.rng.random() < DM_SHARE,
                muter=self.rng.random() < MUTER_SHARE,
                zone=second_zone if second_zone and i % 2 == 0 else None,
            )
            self.members[m.name] = m
        for k in range(pledges):
            title = TITLES[k % len(TITLES)] + ("" if k < len(TITLES) else f" {k + 1}")
            await self.say("m01", f'!pledge new "{title}" per week remind "{REMIND_SLOT}"')
        for k in range(daily):
            title = DAILY_TITLES[k % len(DAILY_TITLES)] + (
                "" if k < len(DAILY_TITLES) else f" {k + 1}"
            )
            await self.say("m01", f'!pledge new "{title}" per day remind "{DAILY_SLOT}"')
        for m in self.members.values():
            if m.zone:
                await self.say(m.name, f"!me timezone {m.zone}")
            for k in range(1, pledges + daily + 1):
                await self.say(m.name, f"!pledge join {k}")
                if m.dm and k <= pledges:
                    await self.say(m.name, f"!remind {k} {REMIND_SLOT} dm")
        group = await group_queries.find_group(PLATFORM, PLACE.external_id)
        assert group is not None
        self.quiet = parse_quiet_hours(group.quiet_hours) if group.quiet_hours else None
        for p in await pledge_queries.group_pledges(group.id, ("active",)):
            self.pledge_ids[p.title] = p.id
            self.numbers[p.id] = p.number
            if p.cadence == "day":
                self.daily_ids.append(p.id)
        for _part, member in await pledge_queries.participations(list(self.pledge_ids.values())):
            sim = self.members[member.external_id]
            sim.member_id = member.id
            self.by_id[member.id] = sim

    def zone_of(self, sim: SimMember) -> ZoneInfo:
        return parse_timezone(sim.zone) if sim.zone else self.tz

    def plan_daily(self, start: datetime, weeks: int) -> None:
        """Daily pledges: on the days a member does it (as reliable as they are), at a local
        time of their own day; as often as they tap when asked, they check in on their own."""
        for pledge_id in self.daily_ids:
            for m in self.members.values():
                tz = self.zone_of(m)
                first = start.astimezone(tz).date()
                for d in range(7 * weeks + 1):
                    if self.rng.random() >= m.reliability:
                        continue
                    minute = self.rng.randint(DAILY_HOURS[0] * 60, DAILY_HOURS[1] * 60)
                    at = resolve_local(
                        first + timedelta(days=d), time(minute // 60, minute % 60), tz
                    )
                    key = period_at(at, "day", self.tz).key
                    self.will_do[(m.name, pledge_id, key)] = True
                    self.daily_at[(m.name, pledge_id, key)] = at
                    if at >= start and self.rng.random() < m.responsiveness:
                        self.answered.add((m.name, pledge_id, key))
                        number = self.numbers[pledge_id]
                        self._push(at, m.name, "say", f"!done {number}")

    def plan_mutes(self, start: datetime, weeks: int) -> None:
        for w in range(weeks):
            for m in self.members.values():
                if m.muter and self.rng.random() < 0.35:
                    at = start + timedelta(days=7 * w + self.rng.randint(0, 5), hours=2)
                    self._push(at, m.name, "say", f"!offline {self.rng.choice(['2d', '3d'])}")

    # -- reacting ----------------------------------------------------------------------------

    def _push(self, at: datetime, who: str, kind: str, text: str) -> None:
        self._seq += 1
        heapq.heappush(self.events, _Event(at, self._seq, who, kind, text))

    def plan_events(self, start: datetime, weeks: int) -> None:
        """One event a week, linked to the first pledge (the meeting pledge)."""
        self.weekly = WeeklyEvents(
            self.rng, self.tz, self._push, lambda name: self.members[name].responsiveness
        )
        self.weekly.plan(start, weeks, "m01", 1)

    def received(self, group: GroupRec, member: MemberRec | None, reply: Reply) -> None:
        now = self.clock.now()
        concerned = self._concerned(member, reply)
        quiet = self._in_quiet(now, member, concerned)
        event = ":ev_" in reply.extra.get("idempotency_key", "")
        self.delivered.append(
            Delivered(now, member.external_id if member else None, reply, quiet, event)
        )
        if event and self.weekly is not None:
            self.weekly.asked(reply, list(concerned), now)
            return
        for name, titles in concerned.items():
            for title in titles:
                self._react(name, title, reply)

    def _in_quiet(
        self, now: datetime, member: MemberRec | None, concerned: dict[str, list[str]]
    ) -> bool:
        """In quiet hours for anyone it reaches: the channel in the group's zone, and every
        member it pings (by DM or mention) in their own zone."""
        zones = [self.tz] if member is None else []
        zones += [self.zone_of(self.members[name]) for name in concerned]
        return any(quiet_end(now, self.quiet, tz) is not None for tz in zones)

    def _concerned(self, member: MemberRec | None, reply: Reply) -> dict[str, list[str]]:
        """Who each line of a reminder or prompt asks, and about which pledge titles."""
        out: dict[str, list[str]] = {}
        for line in reply.text.splitlines():
            title = _TITLE.search(line)
            if title is None:
                continue
            title_text = unescape_plain(title.group(1))
            if member is not None:
                out.setdefault(member.external_id, []).append(title_text)
                continue
            for mid in _MENTION.findall(line):
                sim = self.by_id.get(int(mid))
                if sim is not None:
                    out.setdefault(sim.name, []).append(title_text)
        return out

    def _react(self, name: str, title: str, reply: Reply) -> None:
        sim = self.members[name]
        pledge_id = self.pledge_ids.get(title)
        actions = [a for b in reply.buttons if (a := decode(b.action)) and a.pledge_id == pledge_id]
        if not actions or self.rng.random() > sim.responsiveness:
            return
        # The period a message is about is its Snooze button's; a daily nudge may offer a
        # Done for the day before as well.
        main = next((a for a in actions if a.verb == "snooze"), actions[0])
        buttons = {a.verb: a for a in actions if a.period_key == main.period_key}
        key = (name, main.pledge_id, main.period_key)
        if key in self.answered:
            return
        if self.weekly and main.pledge_id == self.meeting_id and self.weekly.attends(name, key[2]):
            # They keep the meeting pledge by going: "did you make it?" is their answer.
            self.answered.add(key)
            return
        does = self.will_do.setdefault(key, self.rng.random() < sim.reliability)
        question = "not" in buttons
        nudge = reply.text.startswith(("⏰", "💤"))
        delay = timedelta(minutes=self.rng.randint(3, 150))
        at = self.clock.now() + delay
        for late in actions:
            late_key = (name, late.pledge_id, late.period_key)
            earlier = late.verb == "done" and late.period_key != main.period_key
            if earlier and late_key not in self.answered and self.will_do.get(late_key):
                self._tap(at, name, late, late_key)  # did it yesterday, forgot to say so
        if does:
            # After a nudge, doers tap Done when they have done it (earlier or later this
            # period); a question they answer right away.
            when = max(at, self._doing_time(main.period_key, key)) if nudge else at
            self._tap(when, name, buttons["done"], key)
        elif question and self.rng.random() < 0.6:
            self._tap(at, name, buttons["not"], key)
        elif nudge and "snooze" in buttons and self.rng.random() < 0.05:
            self._push(at, name, "tap", buttons["snooze"].encode())
            snooze1h = Action("snooze1h", main.pledge_id, main.period_key)
            self._push(at + timedelta(seconds=20), name, "tap", snooze1h.encode())

    def _doing_time(self, period_key: str, key: tuple[str, int, str]) -> datetime:
        """When a member gets round to it: the time planned for a daily pledge, else any
        time before the period's last evening."""
        if key in self.daily_at:
            return self.daily_at[key]
        period = period_from_key(period_key, self.tz)
        latest = period.end - timedelta(hours=8)
        span = max(0, int((latest - period.start).total_seconds() // 60))
        return period.start + timedelta(minutes=self.rng.randint(0, span))

    def _tap(self, at: datetime, name: str, action: Action, key: tuple[str, int, str]) -> None:
        self.answered.add(key)
        self._push(at, name, "tap", action.encode())

    @property
    def meeting_id(self) -> int:
        return self.pledge_ids[TITLES[0]]

    async def perform(self, event: _Event) -> None:
        self._event_ids += 1
        if event.kind == "say":
            reply = await self.say(event.who, event.text)
            if self.weekly is not None and reply is not None and self.weekly.is_card(reply):
                await self._post_card(reply)
            if reply is not None and event.text.startswith("!done"):
                self.typed += 1
                if reply.buttons:
                    # "Today or yesterday?": they mean the day they did it, today.
                    self.which_period += 1
                    today = period_at(self.clock.now(), "day", self.tz).key
                    pick = next(
                        (
                            b
                            for b in reply.buttons
                            if (decode(b.action) or Action("")).period_key == today
                        ),
                        reply.buttons[0],
                    )
                    self._push(
                        self.clock.now() + timedelta(seconds=30), event.who, "tap", pick.action
                    )
            return
        reply = await self.app.engine.handle_action(
            self.actor(event.who), PLACE, event.text, f"tap{self._event_ids}"
        )
        verb = decode(event.text)
        if verb is not None and verb.is_event and self.weekly is not None:
            self.weekly.tapped(verb, reply)
        elif verb is not None and verb.verb in ("done", "not"):
            self.confirm_taps += 1
            if not reply.error:
                self.confirmations += 1

    async def _post_card(self, reply: Reply) -> None:
        """The event's card is in the channel (the reply to `event new`): everyone sees it."""
        assert self.weekly is not None
        self.cards += 1
        now = self.clock.now()
        quiet = self._in_quiet(now, None, {})
        self.delivered.append(Delivered(now, None, reply, quiet, True))
        await self.app.engine.record_posted(PLATFORM, f"card-{self.cards}", reply)
        await self.weekly.card_posted(reply, list(self.members), now)

    # -- running -----------------------------------------------------------------------------

    async def run_until(self, end: datetime) -> None:
        scheduler = self.app.scheduler
        while True:
            # One due instant at a time: members' taps queued by a message must happen
            # before later jobs run.
            target = min(self.events[0].at, end) if self.events else end
            due = await job_queries.next_due_at()
            if due is not None:
                target = max(min(target, due), self.clock.now())
            await scheduler.advance_to(self.clock, target)
            while self.events and self.events[0].at <= self.clock.now():
                await self.perform(heapq.heappop(self.events))
            if self.clock.now() >= end and not (self.events and self.events[0].at <= end):
                return


async def _figures(
    sim: Simulation, weeks: int, pledges: int, seed: int, daily: int, second_zone: str | None
) -> Figures:
    names = list(sim.members)
    n = len(names)
    channel = [d for d in sim.delivered if d.member is None]
    dms: dict[str, int] = {name: 0 for name in names}
    addressed: dict[str, int] = {name: 0 for name in names}
    pings: dict[str, int] = {name: 0 for name in names}
    for d in sim.delivered:
        if d.member is not None:
            dms[d.member] += 1
            pings[d.member] += 1
            continue
        mentioned = {
            sim.by_id[m.member_id].name for m in d.reply.mentions if m.member_id in sim.by_id
        }
        for name in names:
            if not d.reply.mentions or name in mentioned:
                addressed[name] += 1
            if name in mentioned:
                pings[name] += 1
    group = await group_queries.find_group(PLATFORM, PLACE.external_id)
    assert group is not None
    far = datetime(9999, 1, 1, tzinfo=sim.tz)
    counts = await close_queries.week_counts(group.id, group.created_at - timedelta(days=1), far)
    streaks: dict[str, list[int]] = {}
    for part, member in await pledge_queries.participations(list(sim.pledge_ids.values())):
        streaks.setdefault(member.external_id, []).append(part.best_streak)
    per = n * weeks
    channel_addressed = sum(addressed.values())
    worst = max(addressed[name] + dms[name] for name in names) / weeks
    held = await job_queries.jobs_with(kinds=["held"])
    event_part = await _event_figures(sim, names, weeks)
    return Figures(
        members=n,
        pledges=pledges,
        weeks=weeks,
        seed=seed,
        timezone=sim.tz.key,
        messages_per_member_week=round((channel_addressed + sum(dms.values())) / per, 2),
        worst_member_week=round(worst, 2),
        channel_per_member_week=round(channel_addressed / per, 2),
        dm_per_member_week=round(sum(dms.values()) / per, 2),
        channel_messages_per_week=round(len(channel) / weeks, 2),
        pings_per_member_week=round(sum(pings.values()) / per, 2),
        quiet_hour_messages=sum(1 for d in sim.delivered if d.quiet),
        taps_to_confirm=round(sim.confirm_taps / sim.confirmations, 2) if sim.confirmations else 0,
        confirmations=sim.confirmations,
        daily_pledges=daily,
        second_zone=second_zone,
        typed_checkins=sim.typed,
        which_period_questions=sim.which_period,
        held_back=len(held),
        outcomes={k: counts.get(k, 0) for k in ("kept", "missed", "excused")},
        group_streak=group.group_streak,
        best_group_streak=group.best_group_streak,
        streaks=streaks,
        **event_part,
    )


async def _event_figures(sim: Simulation, names: list[str], weeks: int) -> dict[str, Any]:
    """What the weekly event adds: its card (seen by everyone), reminder and question (seen by
    who they mention), counted like every other channel message."""
    if sim.weekly is None:
        return {}
    messages = [d for d in sim.delivered if d.event]
    addressed = 0
    for d in messages:
        mentioned = {m.member_id for m in d.reply.mentions}
        addressed += sum(
            1 for name in names if not mentioned or sim.members[name].member_id in mentioned
        )
    t = sim.weekly.tally
    return {
        "events_per_week": 1,
        "event_messages_per_member_week": round(addressed / (len(names) * weeks), 2),
        "event_channel_messages_per_week": round(len(messages) / weeks, 2),
        "event_answers": dict(t.answers),
        "event_outcome": {"asked": t.asked, **await sim.weekly.outcome()},
        "taps_per_event_answer": round(t.taps / t.accepted, 2) if t.accepted else 0,
        "card_edits": sim.edited,
    }


def first_monday(start: datetime | None, tz: ZoneInfo) -> datetime:
    """The simulation starts on a Monday at 09:00 local (a fixed date keeps runs comparable)."""
    if start is not None:
        return start
    return resolve_local(date(2026, 11, 30), time(9, 0), tz)


async def simulate(
    config: Config,
    *,
    members: int = 12,
    pledges: int = 2,
    weeks: int = 8,
    seed: int = 1,
    tz_name: str | None = None,
    start: datetime | None = None,
    daily: int = 0,
    second_zone: str | None = None,
    events: bool = False,
) -> tuple[Figures, Simulation]:
    """Run the real scheduler and engine on in-memory SQLite; returns figures and the run.

    With `daily`, that many daily pledges join the weekly ones, and every second member lives
    in `second_zone` (New York by default, or Berlin for a group in New York). With `events`,
    the organiser plans one event a week linked to the first pledge (simulation_events).
    """
    tz = parse_timezone(tz_name or config.bot.timezone)
    if daily and second_zone is None:
        second_zone = "Europe/Berlin" if tz.key == "America/New_York" else "America/New_York"
    cfg = Config(
        bot=BotConfig(data_dir=config.bot.data_dir, timezone=tz.key),
        schedule=config.schedule,
    )
    clock = VirtualClock(first_monday(start, tz))
    await database.migrate("sqlite://:memory:", keep_open=True)
    try:
        app = build_app(cfg, clock)
        sim = Simulation(app, clock, tz, seed)
        app.attach_outbox(PLATFORM, SimOutbox(sim))
        await sim.setup(members, pledges, daily, second_zone)
        begin = clock.now()
        sim.plan_mutes(begin, weeks)
        sim.plan_daily(begin, weeks)
        if events:
            sim.plan_events(begin, weeks)
        # One more day: the last week's close and summary come on the Monday after it.
        await sim.run_until(begin + timedelta(days=7 * weeks + 1))
        return await _figures(sim, weeks, pledges, seed, daily, second_zone), sim
    finally:
        await database.close_database()


def transcript(sim: Simulation) -> str:
    lines = []
    names = {m.member_id: m.name for m in sim.members.values()}
    for d in sim.delivered:
        local = d.at.astimezone(sim.tz)
        target = f"DM @{d.member}" if d.member else f"#{PLACE.name}"
        body = unescape_plain(to_plain(d.reply.text, lambda i: "@" + names.get(i, str(i))))
        lines.append(f"[{local:%a %d %b %H:%M}] {target}: " + body.replace("\n", "\n    "))
        if d.reply.buttons:
            lines.append("    buttons: " + " · ".join(b.label for b in d.reply.buttons))
    return "\n".join(lines)


def render_figures(f: Figures) -> str:
    o = f.outcomes
    rate = round(100 * o["kept"] / (o["kept"] + o["missed"])) if o["kept"] + o["missed"] else 0
    daily = f", {f.daily_pledges} daily pledge{'s' if f.daily_pledges != 1 else ''}"
    zones = f"; every second member in {f.second_zone}" if f.second_zone else ""
    lines = [
        f"Simulated {f.members} members, {f.pledges} weekly pledges"
        f"{daily if f.daily_pledges else ''}, {f.weeks} weeks "
        f"(seed {f.seed}, {f.timezone}{zones}).",
        "Attention, per member per week:",
        f"  bot messages for the member: {f.messages_per_member_week} "
        f"(channel {f.channel_per_member_week}, DM {f.dm_per_member_week}); "
        f"the member who got most: {f.worst_member_week}",
        f"  pings: {f.pings_per_member_week}",
        f"  channel messages per week (all of them, as scrolling shows): "
        f"{f.channel_messages_per_week}",
        f"Messages inside quiet hours (of the group, or of a member they ping): "
        f"{f.quiet_hour_messages}",
        f"Messages the weekly cap held back: {f.held_back}",
        f"Taps to confirm: {f.taps_to_confirm} ({f.confirmations} confirmations)",
    ]
    if f.events_per_week:
        a, e = f.event_answers, f.event_outcome
        lines += [
            f"One event a week (Thu 19:00, linked to pledge 1): its card, reminder and question "
            f"add {f.event_messages_per_member_week} messages per member per week "
            f"({f.event_channel_messages_per_week} channel messages a week; included above)",
            f"  answers on the cards: going {a['going']}, maybe {a['maybe']}, can't {a['cant']}, "
            f"none {a['none']}; cards edited in place {f.card_edits} times",
            f"  did you make it? asked {e['asked']}: went {e['went']} (pledge kept by going "
            f"{e['pledge_kept_by_going']}), missed {e['missed']}; "
            f"taps per answer {f.taps_per_event_answer}",
        ]
    if f.typed_checkins:
        lines.append(
            f"Typed check-ins: {f.typed_checkins}, of which {f.which_period_questions} were "
            "asked which day they were for (one tap)"
        )
    lines += [
        f"Outcomes: kept {o['kept']}, missed {o['missed']}, excused {o['excused']} ({rate}% kept)",
        f"Group streak: {f.group_streak} weeks (best {f.best_group_streak})",
        "Best streaks: "
        + ", ".join(f"{name} {'/'.join(map(str, s))}" for name, s in sorted(f.streaks.items())),
    ]
    return "\n".join(lines)


def simulate_cli(config: Config, args: argparse.Namespace) -> int:
    start = None
    if args.start:
        start = parse_start(args.start, parse_timezone(args.tz or config.bot.timezone))
    if args.members < 1 or args.pledges < 1 or args.weeks < 1 or args.daily < 0:
        print(
            "--members, --pledges and --weeks must be at least 1, --daily at least 0.",
            file=sys.stderr,
        )
        return 2
    figures, sim = asyncio.run(
        simulate(
            config,
            members=args.members,
            pledges=args.pledges,
            weeks=args.weeks,
            seed=args.seed,
            tz_name=args.tz,
            start=start,
            daily=args.daily,
            second_zone=args.second_zone,
            events=args.events,
        )
    )
    if args.transcript:
        print(transcript(sim))
        print()
    print(json.dumps(figures.as_json(), indent=2) if args.json else render_figures(figures))
    return 0
