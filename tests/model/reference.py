"""A small, separately written reference model of answers, outcomes, streaks and group weeks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The engine's rules, restated from DESIGN.md and docs/decisions.md without importing them.
FREEZES_AT_START = 1
KEPT_PER_FREEZE = 4
MAX_FREEZES = 2
THRESHOLD = 0.6
CADENCE_DAYS = {"day": 1, "week": 7}


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
    days = CADENCE_DAYS[cadence]
    return Span(
        cadence,
        f"{cadence}:{first_day.isoformat()}",
        first_day,
        days,
        midnight(first_day, tz),
        midnight(first_day + timedelta(days=days), tz),
    )


def span_at(cadence: str, instant: datetime, tz: ZoneInfo) -> Span:
    day = instant.astimezone(tz).date()
    if cadence == "week":
        day -= timedelta(days=day.weekday())
    return span_from(cadence, day, tz)


def span_of_key(key: str, tz: ZoneInfo) -> Span:
    cadence, day = key.split(":")
    return span_from(cadence, date.fromisoformat(day), tz)


def after(span: Span, tz: ZoneInfo) -> Span:
    return span_from(span.cadence, span.first_day + timedelta(days=span.days), tz)


def before(span: Span, tz: ZoneInfo) -> Span:
    return span_from(span.cadence, span.first_day - timedelta(days=span.days), tz)


def multiplier(target: int, days: int) -> float:
    return 0.5 ** (math.sqrt(target / days) * days / 13)


@dataclass
class Answer:
    kind: str  # done, not, skip
    key: str
    event: str
    seq: int
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

    def live(self, key: str) -> list[Answer]:
        return [a for a in self.answers if a.key == key and not a.undone]

    def done(self, key: str) -> int:
        return sum(a.kind == "done" for a in self.live(key))

    def has(self, key: str, kind: str) -> bool:
        return any(a.kind == kind for a in self.live(key))


class Reference:
    """The whole group as the rules say it should be; the state machine feeds it the same steps."""

    def __init__(self, now: datetime, zone: str, grace_hours: int = 12) -> None:
        self.now = now
        self.zone = ZoneInfo(zone)
        self.grace = timedelta(hours=grace_hours)
        self.created = now
        self.pledges: dict[int, Pledge] = {}
        self.parts: dict[tuple[str, int], Part] = {}
        self.seq = 0
        self.counted: set[tuple[str, int, str]] = set()
        self.week_keys: list[str] = []
        self.weeks: list[bool | None] = []
        self.group_streak = 0

    # -- time ---------------------------------------------------------------------------

    def current(self, pledge: Pledge) -> Span:
        return span_at(pledge.cadence, self.now, self.zone)

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

    # -- commands -----------------------------------------------------------------------

    def add_pledge(self, number: int, cadence: str, target: int, creator: str) -> None:
        self.pledges[number] = Pledge(number, cadence, target, creator)
        self.join(creator, number)

    def join(self, member: str, number: int) -> bool:
        if (member, number) in self.parts:
            return False
        pledge = self.pledges[number]
        key = self.current(pledge).key
        self.parts[member, number] = Part(member, pledge, key, self.now, next_key=key)
        return True

    def _record(self, part: Part, span: Span, kind: str, event: str) -> bool:
        if event in part.events:
            return False
        if kind == "done" and part.done(span.key) >= part.pledge.target:
            return False  # "already kept": not stored again
        if kind == "skip":
            if part.has(span.key, "skip") or part.freezes == 0:
                return False
            part.freezes -= 1
        self.seq += 1
        part.answers.append(Answer(kind, span.key, event, self.seq))
        part.events.add(event)
        return True

    def typed(self, member: str, number: int, kind: str, event: str) -> bool:
        """A typed `done` or `skip`: the unanswered period in grace first, else the current one."""
        part = self.parts.get((member, number))
        if part is None:
            return False
        spans = self.open_for(part)
        current = self.current(part.pledge)
        target = current
        late = [s for s in spans if s.key != current.key]
        if late:
            key = late[0].key
            unanswered = part.done(key) < part.pledge.target and not (
                part.has(key, "skip") or part.has(key, "not")
            )
            if unanswered:
                target = late[0]
        if target.key not in {s.key for s in spans}:
            return False  # closed already, or begun before joining (the zone moved west)
        return self._record(part, target, kind, event)

    def tap(self, member: str, number: int, kind: str, key: str, event: str) -> bool:
        part = self.parts.get((member, number))
        if part is None:
            return False
        spans = [s for s in self.open_for(part) if s.key == key]
        if not spans:
            return False
        return self._record(part, spans[0], kind, event)

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
        self.zone = ZoneInfo(zone)
        self.close()

    # -- closing ------------------------------------------------------------------------

    def advance(self, span: timedelta) -> None:
        self.now += span
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
        """Weeks close in key order; each outcome counts in the first week closed after it ended."""
        if self.week_keys:
            week = after(span_of_key(self.week_keys[-1], self.zone), self.zone)
        else:
            week = span_at("week", self.created, self.zone)
        while self.closes_at(week) <= self.now:
            kept = missed = 0
            for part in self.parts.values():
                for key, (outcome, _, end) in part.closed.items():
                    ident = (part.member, part.pledge.number, key)
                    if ident in self.counted or end > week.end:
                        continue
                    self.counted.add(ident)
                    kept += outcome == "kept"
                    missed += outcome == "missed"
            met = None if kept + missed == 0 else kept / (kept + missed) >= THRESHOLD
            if met is not None:
                self.group_streak = self.group_streak + 1 if met else 0
            self.week_keys.append(week.key)
            self.weeks.append(met)
            week = after(week, self.zone)

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
