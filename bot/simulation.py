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

from bot.actions import Action, decode
from bot.app import App, build_engine
from bot.clock import VirtualClock
from bot.config import BotConfig, Config
from bot.context import Actor, Place
from bot.localtime import parse_timezone, resolve_local
from bot.markup import to_plain, unescape_plain
from bot.periods import period_from_key
from bot.quiet import QuietHours, parse_quiet_hours, quiet_end
from bot.replies import Reply
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
REMIND_SLOT = "wed 18:00"
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


@dataclass
class Delivered:
    at: datetime
    member: str | None  # None: the group channel
    reply: Reply
    quiet: bool


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
    channel_per_member_week: float
    dm_per_member_week: float
    channel_messages_per_week: float
    pings_per_member_week: float
    quiet_hour_messages: int
    taps_to_confirm: float
    confirmations: int
    outcomes: dict[str, int]
    group_streak: int
    best_group_streak: int
    streaks: dict[str, list[int]]

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
        self.confirmations = 0
        self._seq = 0
        self._event_ids = 0
        self.quiet: QuietHours | None = None

    # -- set-up ------------------------------------------------------------------------------

    def actor(self, name: str) -> Actor:
        return Actor(PLATFORM, name, name, is_admin=(name == "m01"))

    async def say(self, name: str, text: str) -> Reply | None:
        self._event_ids += 1
        return await self.app.engine.handle_text(
            self.actor(name), PLACE, text, f"ev{self._event_ids}"
        )

    async def setup(self, members: int, pledges: int) -> None:
        for i in range(1, members + 1):
            m = SimMember(
                name=f"m{i:02d}",
                reliability=self.rng.uniform(0.45, 0.95),
                responsiveness=self.rng.uniform(0.65, 0.97),
                dm=self.rng.random() < DM_SHARE,
                muter=self.rng.random() < MUTER_SHARE,
            )
            self.members[m.name] = m
        for k in range(pledges):
            title = TITLES[k % len(TITLES)] + ("" if k < len(TITLES) else f" {k + 1}")
            await self.say("m01", f'!pledge new "{title}" per week remind "{REMIND_SLOT}"')
        for m in self.members.values():
            for k in range(1, pledges + 1):
                await self.say(m.name, f"!pledge join {k}")
                if m.dm:
                    await self.say(m.name, f"!remind {k} {REMIND_SLOT} dm")
        group = await group_queries.find_group(PLATFORM, PLACE.external_id)
        assert group is not None
        self.quiet = parse_quiet_hours(group.quiet_hours) if group.quiet_hours else None
        for p in await pledge_queries.group_pledges(group.id, ("active",)):
            self.pledge_ids[p.title] = p.id
        for _part, member in await pledge_queries.participations(list(self.pledge_ids.values())):
            sim = self.members[member.external_id]
            sim.member_id = member.id
            self.by_id[member.id] = sim

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

    def received(self, group: GroupRec, member: MemberRec | None, reply: Reply) -> None:
        now = self.clock.now()
        tz = self.tz
        quiet = quiet_end(now, self.quiet, tz) is not None
        self.delivered.append(Delivered(now, member.external_id if member else None, reply, quiet))
        concerned = self._concerned(member, reply)
        for name, titles in concerned.items():
            for title in titles:
                self._react(name, title, reply)

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
        buttons = {}
        for b in reply.buttons:
            action = decode(b.action)
            if action is not None and action.pledge_id == pledge_id:
                buttons[action.verb] = action
        if not buttons or self.rng.random() > sim.responsiveness:
            return
        any_action = next(iter(buttons.values()))
        key = (name, any_action.pledge_id, any_action.period_key)
        if key in self.answered:
            return
        does = self.will_do.setdefault(key, self.rng.random() < sim.reliability)
        question = "not" in buttons
        delay = timedelta(minutes=self.rng.randint(3, 150))
        at = self.clock.now() + delay
        if not question:
            # A reminder: doers tap its Done button when they have done it (earlier or later
            # this period); now and then someone snoozes it.
            if does:
                self._tap(
                    max(at, self._doing_time(any_action.period_key)), name, buttons["done"], key
                )
            elif self.rng.random() < 0.05:
                self._push(at, name, "tap", buttons["snooze"].encode())
                snooze1h = Action("snooze1h", any_action.pledge_id, any_action.period_key)
                self._push(at + timedelta(seconds=20), name, "tap", snooze1h.encode())
            return
        if does:
            self._tap(at, name, buttons["done"], key)
        elif self.rng.random() < 0.6:
            self._tap(at, name, buttons["not"], key)

    def _doing_time(self, period_key: str) -> datetime:
        """When a member gets round to it: any time before the period's last evening."""
        period = period_from_key(period_key, self.tz)
        latest = period.end - timedelta(hours=8)
        span = max(0, int((latest - period.start).total_seconds() // 60))
        return period.start + timedelta(minutes=self.rng.randint(0, span))

    def _tap(self, at: datetime, name: str, action: Action, key: tuple[str, int, str]) -> None:
        self.answered.add(key)
        self._push(at, name, "tap", action.encode())

    async def perform(self, event: _Event) -> None:
        self._event_ids += 1
        if event.kind == "say":
            await self.say(event.who, event.text)
            return
        reply = await self.app.engine.handle_action(
            self.actor(event.who), PLACE, event.text, f"tap{self._event_ids}"
        )
        verb = decode(event.text)
        if verb is not None and verb.verb in ("done", "not"):
            self.confirm_taps += 1
            if not reply.error:
                self.confirmations += 1

    # -- running -----------------------------------------------------------------------------

    async def run_until(self, end: datetime) -> None:
        scheduler = self.app.scheduler
        assert scheduler is not None
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


async def _figures(sim: Simulation, weeks: int, pledges: int, seed: int) -> Figures:
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
    return Figures(
        members=n,
        pledges=pledges,
        weeks=weeks,
        seed=seed,
        timezone=sim.tz.key,
        messages_per_member_week=round((channel_addressed + sum(dms.values())) / per, 2),
        channel_per_member_week=round(channel_addressed / per, 2),
        dm_per_member_week=round(sum(dms.values()) / per, 2),
        channel_messages_per_week=round(len(channel) / weeks, 2),
        pings_per_member_week=round(sum(pings.values()) / per, 2),
        quiet_hour_messages=sum(1 for d in sim.delivered if d.quiet),
        taps_to_confirm=round(sim.confirm_taps / sim.confirmations, 2) if sim.confirmations else 0,
        confirmations=sim.confirmations,
        outcomes={k: counts.get(k, 0) for k in ("kept", "missed", "excused")},
        group_streak=group.group_streak,
        best_group_streak=group.best_group_streak,
        streaks=streaks,
    )


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
) -> tuple[Figures, Simulation]:
    """Run the real scheduler and engine on in-memory SQLite; returns figures and the run."""
    tz = parse_timezone(tz_name or config.bot.timezone)
    cfg = Config(
        bot=BotConfig(data_dir=config.bot.data_dir, timezone=tz.key),
        schedule=config.schedule,
    )
    clock = VirtualClock(first_monday(start, tz))
    await database.migrate("sqlite://:memory:", keep_open=True)
    try:
        from bot.runner import attach_scheduler

        app = App(config=cfg, clock=clock, engine=build_engine(cfg, clock))
        sim = Simulation(app, clock, tz, seed)
        app.attach_outbox(PLATFORM, SimOutbox(sim))
        attach_scheduler(app)
        await sim.setup(members, pledges)
        begin = clock.now()
        sim.plan_mutes(begin, weeks)
        # One more day: the last week's close and summary come on the Monday after it.
        await sim.run_until(begin + timedelta(days=7 * weeks + 1))
        return await _figures(sim, weeks, pledges, seed), sim
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
    lines = [
        f"Simulated {f.members} members, {f.pledges} weekly pledges, {f.weeks} weeks "
        f"(seed {f.seed}, {f.timezone}).",
        "Attention, per member per week:",
        f"  bot messages for the member: {f.messages_per_member_week} "
        f"(channel {f.channel_per_member_week}, DM {f.dm_per_member_week})",
        f"  pings: {f.pings_per_member_week}",
        f"  channel messages per week (all of them, as scrolling shows): "
        f"{f.channel_messages_per_week}",
        f"Messages inside quiet hours: {f.quiet_hour_messages}",
        f"Taps to confirm: {f.taps_to_confirm} ({f.confirmations} confirmations)",
        f"Outcomes: kept {o['kept']}, missed {o['missed']}, excused {o['excused']} ({rate}% kept)",
        f"Group streak: {f.group_streak} weeks (best {f.best_group_streak})",
        "Best streaks: "
        + ", ".join(f"{name} {'/'.join(map(str, s))}" for name, s in sorted(f.streaks.items())),
    ]
    return "\n".join(lines)


def simulate_cli(config: Config, args: argparse.Namespace) -> int:
    start = None
    if args.start:
        start = datetime.fromisoformat(args.start)
        if start.tzinfo is None:
            tz = parse_timezone(args.tz or config.bot.timezone)
            start = resolve_local(start.date(), start.time(), tz)
    if args.members < 1 or args.pledges < 1 or args.weeks < 1:
        print("--members, --pledges and --weeks must be at least 1.", file=sys.stderr)
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
        )
    )
    if args.transcript:
        print(transcript(sim))
        print()
    print(json.dumps(figures.as_json(), indent=2) if args.json else render_figures(figures))
    return 0
