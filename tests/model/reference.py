"""A small, separately written reference model of answers, outcomes, streaks and group weeks."""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

# The engine's rules, restated from DESIGN.md, README and docs/decisions.md without importing them.
FREEZES_AT_START = 1
KEPT_PER_FREEZE = 4
MAX_FREEZES = 2
THRESHOLD = Fraction(3, 5)
QUIET = (time(22, 0), time(8, 0))  # the default quiet hours, read in each recipient's zone
DAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Words that name a period in `done <pledge> [word]`: a day (for any cadence, the period that
# holds that day) or the current / previous period of one cadence.
DAY_WORDS = {"today": 0, "yesterday": -1}
PERIOD_WORDS = {
    "this week": ("week", 0),
    "last week": ("week", -1),
    "this month": ("month", 0),
    "last month": ("month", -1),
}


@dataclass(frozen=True)
class Span:
    """One period: its key, local first day, length in days, and UTC start and end."""

    cadence: str
    key: str
    first_day: date
    days: int
    start: datetime
    end: datetime

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=self.days - 1)


def midnight(day: date, tz: ZoneInfo) -> datetime:
    # The zones the model uses never change their clocks at midnight, so midnight exists once.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def span_from(cadence: str, first_day: date, tz: ZoneInfo) -> Span:
    if cadence == "month":
        days = calendar.monthrange(first_day.year, first_day.month)[1]
        key = f"month:{first_day.year:04d}-{first_day.month:02d}"
    else:
        days = 1 if cadence == "day" else 7
        key = f"{cadence}:{first_day.isoformat()}"
    return Span(
        cadence,
        key,
        first_day,
        days,
        midnight(first_day, tz),
        midnight(first_day + timedelta(days=days), tz),
    )


def span_at(cadence: str, instant: datetime, tz: ZoneInfo, week_start: int = 0) -> Span:
    day = instant.astimezone(tz).date()
    if cadence == "week":
        day -= timedelta(days=(day.weekday() - week_start) % 7)
    elif cadence == "month":
        day = day.replace(day=1)
    return span_from(cadence, day, tz)


def span_of_key(key: str, tz: ZoneInfo) -> Span:
    """A week key is read on its own weekday, whatever the week start is now."""
    cadence, day = key.split(":")
    if cadence == "month":
        return span_from(cadence, date.fromisoformat(day + "-01"), tz)
    return span_from(cadence, date.fromisoformat(day), tz)


def after(span: Span, tz: ZoneInfo) -> Span:
    return span_from(span.cadence, span.first_day + timedelta(days=span.days), tz)


def before(span: Span, tz: ZoneInfo) -> Span:
    if span.cadence == "month":
        return span_from("month", (span.first_day - timedelta(days=1)).replace(day=1), tz)
    return span_from(span.cadence, span.first_day - timedelta(days=span.days), tz)


def day_text(day: date) -> str:
    return f"{DAY_ABBR[day.weekday()]} {day.day} {MONTHS[day.month - 1][:3]} {day.year}"


def described(span: Span) -> str:
    """How replies name a period: "Tue 6 Oct 2026", "week of Mon 5 Oct 2026", "October 2026"."""
    if span.cadence == "day":
        return day_text(span.first_day)
    if span.cadence == "week":
        return "week of " + day_text(span.first_day)
    return f"{MONTHS[span.first_day.month - 1]} {span.first_day.year}"


def multiplier(target: int, days: int) -> float:
    return 0.5 ** (math.sqrt(target / days) * days / 13)


def in_quiet(instant: datetime, tz: ZoneInfo) -> bool:
    wall = instant.astimezone(tz).time()
    start, end = QUIET
    return wall >= start or wall < end


@dataclass
class Answer:
    kind: str  # done, not, skip
    key: str
    event: str
    seq: int
    at: datetime
    undone: bool = False


@dataclass
class Pause:
    started: datetime
    last_day: date | None = None  # None while the pause goes on


@dataclass
class Pledge:
    number: int
    cadence: str
    target: int
    creator: str
    slot: tuple[int | None, time] | None = None  # its reminder: (weekday or None, local time)
    pauses: list[Pause] = field(default_factory=list)

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].last_day is None

    def pause_covers(self, span: Span) -> bool:
        return any(
            p.started < span.end and (p.last_day is None or p.last_day >= span.last_day)
            for p in self.pauses
        )


@dataclass
class Member:
    name: str
    zone: str | None = None
    muted_until: datetime | None = None

    def muted(self, at: datetime) -> bool:
        return self.muted_until is not None and self.muted_until > at


@dataclass
class Part:
    """A member's participation in one pledge."""

    member: str
    pledge: Pledge
    first_key: str
    joined_at: datetime
    answers: list[Answer] = field(default_factory=list)
    events: set[str] = field(default_factory=set)
    closed: dict[str, tuple[str, int, datetime]] = field(default_factory=dict)
    next_key: str = ""
    streak: int = 0
    best: int = 0
    strength: float = 0.0
    freezes: int = FREEZES_AT_START
    kept_toward: int = 0
    personal_slot: tuple[int | None, time] | None = None  # set with `!remind`, in their zone
    dm: bool = False
    remind_off: bool = False

    def live(self, key: str, at: datetime | None = None) -> list[Answer]:
        return [
            a for a in self.answers if a.key == key and not a.undone and (at is None or a.at <= at)
        ]

    def done(self, key: str) -> int:
        return sum(a.kind == "done" for a in self.live(key))

    def has(self, key: str, kind: str) -> bool:
        return any(a.kind == kind for a in self.live(key))

    def answered(self, key: str, at: datetime | None = None) -> bool:
        """Kept, excused or declined: nothing more to ask about this period."""
        live = self.live(key, at)
        done = sum(a.kind == "done" for a in live)
        return done >= self.pledge.target or any(a.kind in ("skip", "not") for a in live)


@dataclass(frozen=True)
class Verdict:
    """What an answer should do: recorded (for `key`), asked (which of `keys`), or refused."""

    what: str  # recorded | already | asked | redirect | refused
    key: str = ""
    keys: tuple[str, ...] = ()


class Reference:
    """The whole group as the rules say it should be; the state machine feeds it the same steps."""

    def __init__(self, now: datetime, zone: str, grace_hours: int = 12) -> None:
        self.now = now
        self.zone = ZoneInfo(zone)
        self.week_start = 0
        self.switch: tuple[int, str] | None = None  # a week start waiting for a week's close
        self.grace = timedelta(hours=grace_hours)
        self.cap = 6
        self.created = now
        self.pledges: dict[int, Pledge] = {}
        self.members: dict[str, Member] = {}
        self.parts: dict[tuple[str, int], Part] = {}
        self.seq = 0
        self.counted: set[tuple[str, int, str]] = set()
        self.weeks_through: datetime | None = None
        self.weeks: list[bool | None] = []
        self.group_streak = 0
        # Weeks (group-calendar keys) in which the calendar moved: weekly checks skip them.
        self.disturbed: set[str] = set()

    # -- time ---------------------------------------------------------------------------

    def member(self, name: str) -> Member:
        return self.members.setdefault(name, Member(name))

    def tz_of(self, name: str) -> ZoneInfo:
        zone = self.member(name).zone
        return ZoneInfo(zone) if zone else self.zone

    def span_now(self, cadence: str, at: datetime | None = None) -> Span:
        return span_at(cadence, at or self.now, self.zone, self.week_start)

    def current(self, pledge: Pledge) -> Span:
        return self.span_now(pledge.cadence)

    def closes_at(self, span: Span) -> datetime:
        return span.end + self.grace

    def in_grace(self, pledge: Pledge) -> Span | None:
        prev = before(self.current(pledge), self.zone)
        return prev if self.now < self.closes_at(prev) else None

    def open_for(self, part: Part) -> list[Span]:
        """Periods this participation may still answer: from its first period on, not closed."""
        first = span_of_key(part.first_key, self.zone)
        spans = [s for s in (self.in_grace(part.pledge), self.current(part.pledge)) if s]
        return [s for s in spans if s.start >= first.start and s.key not in part.closed]

    def week_key(self, at: datetime) -> str:
        return self.span_now("week", at).key

    # -- commands -----------------------------------------------------------------------

    def add_pledge(
        self,
        number: int,
        cadence: str,
        target: int,
        creator: str,
        slot: tuple[int | None, time] | None = None,
    ) -> None:
        self.pledges[number] = Pledge(number, cadence, target, creator, slot)
        self.join(creator, number)

    def join(self, member: str, number: int) -> bool:
        self.member(member)
        if (member, number) in self.parts:
            return False
        pledge = self.pledges[number]
        key = self.current(pledge).key
        self.parts[member, number] = Part(member, pledge, key, self.now, next_key=key)
        return True

    def _record(self, part: Part, span: Span, kind: str, event: str) -> Verdict:
        if event in part.events:
            return Verdict("already", span.key)
        if kind == "done" and part.done(span.key) >= part.pledge.target:
            return Verdict("already", span.key)  # "already kept": not stored again
        if kind == "skip":
            if part.has(span.key, "skip") or part.freezes == 0:
                return Verdict("refused", span.key)
            part.freezes -= 1
        self.seq += 1
        part.answers.append(Answer(kind, span.key, event, self.seq, self.now))
        part.events.add(event)
        return Verdict("recorded", span.key)

    def named(self, pledge: Pledge, word: str) -> Span | None:
        """The period a word names for this pledge, or None if the word does not fit it."""
        if word in DAY_WORDS:
            day = self.now.astimezone(self.zone).date() + timedelta(days=DAY_WORDS[word])
            return span_at(pledge.cadence, midnight(day, self.zone), self.zone, self.week_start)
        cadence, step = PERIOD_WORDS[word]
        if cadence != pledge.cadence:
            return None
        span = self.current(pledge)
        return before(span, self.zone) if step else span

    def typed(self, member: str, number: int, kind: str, event: str, word: str = "") -> Verdict:
        """A typed `done` or `skip`: for the open period, the named one, or a question."""
        part = self.parts.get((member, number))
        if part is None:
            return Verdict("refused")
        spans = {s.key: s for s in self.open_for(part)}
        current = self.current(part.pledge)
        if word:
            target = self.named(part.pledge, word)
            if target is None or target.key not in spans:
                return Verdict("refused")
            return self._record(part, target, kind, event)
        late = [s for s in spans.values() if s.key != current.key]
        if kind == "done" and late and not part.live(late[0].key):
            if current.key not in spans:
                return self._record(part, late[0], kind, event)  # the only open period
            # The period in grace has no answer of theirs yet: which one did they mean?
            return Verdict("asked", keys=(current.key, late[0].key))
        if current.key not in spans:
            return Verdict("refused")  # closed already, or begun before joining (zone moved)
        return self._record(part, current, kind, event)

    def tap(self, member: str, number: int, kind: str, key: str, event: str) -> Verdict:
        """A button carries its period: recorded there if open, else pointed at the current one."""
        part = self.parts.get((member, number))
        if part is None:
            return Verdict("refused")
        spans = {s.key: s for s in self.open_for(part)}
        if key in spans:
            return self._record(part, spans[key], kind, event)
        first = span_of_key(part.first_key, self.zone)
        if span_of_key(key, self.zone).start < first.start:
            return Verdict("refused")  # from before they joined: not theirs to answer
        return Verdict("redirect", key)

    def undo(self, member: str, number: int) -> bool:
        part = self.parts.get((member, number))
        if part is None:
            return False
        keys = {s.key for s in self.open_for(part)}
        live = [a for a in part.answers if a.key in keys and not a.undone]
        if not live:
            return False
        last = max(live, key=lambda a: a.seq)
        last.undone = True
        if last.kind == "skip":
            part.freezes = min(MAX_FREEZES, part.freezes + 1)
        return True

    def pause(self, actor: str, number: int, admin: bool) -> bool:
        pledge = self.pledges[number]
        if not (admin or actor == pledge.creator):
            return False
        if not pledge.paused:
            pledge.pauses.append(Pause(self.now))
        return True

    def resume(self, actor: str, number: int, admin: bool) -> bool:
        pledge = self.pledges[number]
        if not (admin or actor == pledge.creator) or not pledge.paused:
            return False
        # The pause ends with the previous period: the current one counts again.
        pledge.pauses[-1].last_day = before(self.current(pledge), self.zone).last_day
        return True

    def set_zone(self, zone: str) -> None:
        """Open periods are read again in the new zone, by their keys; closed ones stay."""
        self.disturbed.add(self.week_key(self.now))
        self.zone = ZoneInfo(zone)
        self.disturbed.add(self.week_key(self.now))
        self.advance_to(self.now)  # a waiting week start may be due now, in the new zone

    def set_week_start(self, day: int) -> None:
        """A new week start waits until the current week has closed, so its progress stays."""
        if day == self.week_start:
            self.switch = None
            return
        self.switch = (day, self.span_now("week").key)

    def switch_at(self) -> datetime | None:
        """When the waiting week start takes effect: its week's close, in today's zone."""
        if self.switch is None:
            return None
        return self.closes_at(span_of_key(self.switch[1], self.zone))

    # -- closing ------------------------------------------------------------------------

    def advance(self, span: timedelta) -> None:
        self.advance_to(self.now + span)

    def advance_to(self, target: datetime) -> None:
        while (at := self.switch_at()) is not None and at <= target and self.switch:
            day, key = self.switch
            self.now = max(self.now, at)
            self.close()
            self._switch_week_start(day, key)
        self.now = target
        self.close()

    def _switch_week_start(self, day: int, waited: str) -> None:
        """The old calendar's week open at the switch is read again in the new calendar."""
        self.switch = None
        old = after(span_of_key(waited, self.zone), self.zone)
        self.disturbed.update({waited, old.key, span_at("week", old.start, self.zone, day).key})
        self.week_start = day
        for part in self.parts.values():
            if part.pledge.cadence != "week":
                continue
            for a in part.answers:
                if a.key == old.key:
                    a.key = span_at("week", a.at, self.zone, day).key
            if part.first_key == old.key:
                part.first_key = span_at("week", part.joined_at, self.zone, day).key
            if part.next_key == old.key:
                part.next_key = (
                    part.first_key
                    if not part.closed
                    else span_at("week", old.start, self.zone, day).key
                )
        self.close()

    def close(self) -> None:
        for part in self.parts.values():
            self._close_part(part)
        self._close_weeks()

    def _close_part(self, part: Part) -> None:
        pledge = part.pledge
        span = span_of_key(part.next_key, self.zone)
        while self.closes_at(span) <= self.now:
            done = part.done(span.key)
            joined_late = span.key == part.first_key and part.joined_at > span.start
            if done >= pledge.target:
                outcome = "kept"
            elif part.has(span.key, "skip") or pledge.pause_covers(span) or joined_late:
                outcome = "excused"
            else:
                outcome = "missed"
            part.closed[span.key] = (outcome, done, span.end)
            if outcome != "excused":
                m = multiplier(pledge.target, span.days)
                part.strength = part.strength * m + min(1.0, done / pledge.target) * (1 - m)
            if outcome == "missed":
                part.streak = 0
            elif outcome == "kept":
                part.streak += 1
                part.best = max(part.best, part.streak)
                part.kept_toward += 1
                if part.kept_toward == KEPT_PER_FREEZE:
                    part.kept_toward = 0
                    part.freezes = min(MAX_FREEZES, part.freezes + 1)
            span = after(span, self.zone)
        part.next_key = span.key

    def _close_weeks(self) -> None:
        """Weeks close in order; each outcome counts in the first week closed after it ended.

        Every participation counts once in a week, with the share of its periods that ended in
        the week and were kept: a daily pledge kept 5 of 7 days counts 5/7, a weekly one 1 or 0.
        """
        start = (
            self.weeks_through or span_at("week", self.created, self.zone, self.week_start).start
        )
        week = span_at("week", start, self.zone, self.week_start)
        while self.closes_at(week) <= self.now:
            shares: list[Fraction] = []
            for part in self.parts.values():
                kept = missed = 0
                for key, (outcome, _, end) in part.closed.items():
                    ident = (part.member, part.pledge.number, key)
                    if ident in self.counted or end > week.end:
                        continue
                    self.counted.add(ident)
                    kept += outcome == "kept"
                    missed += outcome == "missed"
                if kept + missed:
                    shares.append(Fraction(kept, kept + missed))
            met = None if not shares else sum(shares) / len(shares) >= THRESHOLD
            if met is not None:
                self.group_streak = self.group_streak + 1 if met else 0
            self.weeks.append(met)
            self.weeks_through = week.end
            week = span_at("week", week.end, self.zone, self.week_start)

    # -- what members see ---------------------------------------------------------------

    def shown_streak(self, member: str, number: int) -> tuple[int, int]:
        """The closed streak, plus the period in grace and the current one once they are kept."""
        part = self.parts[member, number]
        streak = part.streak
        for span in self.open_for(part):
            if part.done(span.key) >= part.pledge.target:
                streak += 1
        return streak, max(part.best, streak)

    def outcomes(self) -> set[tuple[str, int, str, str, int]]:
        return {
            (p.member, p.pledge.number, key, outcome, done)
            for p in self.parts.values()
            for key, (outcome, done, _) in p.closed.items()
        }

    # -- what the bot may send ----------------------------------------------------------

    def closed_at(self, part: Part, key: str, at: datetime, closed_before: set[str]) -> bool:
        """Whether the period `key` of `part` had closed by `at` (its close, or a zone change)."""
        if key in closed_before:
            return True
        return self.closes_at(span_of_key(key, self.zone)) <= at

    def reminder_due(self, part: Part, span: Span) -> datetime | None:
        """When this participation's reminder for a weekly period fires (before quiet hours)."""
        slot = part.personal_slot or part.pledge.slot
        if slot is None or slot[0] is None:
            return None
        tz = self.tz_of(part.member) if part.personal_slot else self.zone
        for offset in range(span.days):
            day = span.first_day + timedelta(days=offset)
            if day.weekday() == slot[0]:
                at = datetime.combine(day, slot[1], tzinfo=tz).astimezone(UTC)
                return at if span.start <= at < span.end else None
        return None
