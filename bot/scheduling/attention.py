"""The attention budget: who still needs a nudge, one message per group slot, quiet hours, caps."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.messages.notices import (
    FOLLOWUP,
    NOTICE_KINDS,
    PROMPT,
    REMIND,
    SNOOZE,
    Notice,
    notices_to_json,
    render,
)
from bot.messages.replies import Reply
from bot.rules import pledge_periods as tracking
from bot.rules.periods import Period, describe, period_at
from bot.rules.reach import after_quiet, member_due, member_tz
from bot.rules.slots import parse_slot
from bot.scheduling.planning import slot_in_period
from storage import scheduling as round_queries
from storage.records import GroupRec, JobRec, MemberRec, PeriodTally, PledgeRec
from storage.scheduling import RoundPart

log = logging.getLogger("logoff.attention")

CHANNEL_SEND = "send"
DM_SEND = "dm"
SUMMARY = "summary"
# Stronger kinds win when several meet in one message: a question beats a nudge.
_STRENGTH = {SNOOZE: 0, REMIND: 0, PROMPT: 1, FOLLOWUP: 2}
# What the weekly cap keeps room for, most important first: the summary, then the one ask of
# a weekly or monthly period, then a last call, then a daily pledge's nudge.
IMPORTANCE_SUMMARY = 4
IMPORTANCE_ASK = 3
IMPORTANCE_LAST_CALL = 2
IMPORTANCE_DAILY = 1
# A message handed over this soon after the check that made it needs no second look.
RECHECK_AFTER = timedelta(seconds=5)


@dataclass(frozen=True)
class Outgoing:
    """One message to hand over: to the group's channel (member_id None) or one member's DMs."""

    dedupe_key: str
    due_at: datetime
    group_id: int
    member_id: int | None
    reply: Reply
    kind: str
    pledge_id: int | None
    period_key: str | None
    notices: tuple[Notice, ...] = ()

    @property
    def importance(self) -> int:
        if self.kind == SUMMARY or not self.notices:
            return IMPORTANCE_SUMMARY
        return max(importance(n.kind, n.pledge.cadence) for n in self.notices)


def importance(kind: str, cadence: str) -> int:
    if kind == SUMMARY:
        return IMPORTANCE_SUMMARY
    if cadence == "day":
        return IMPORTANCE_DAILY
    return IMPORTANCE_LAST_CALL if kind == FOLLOWUP else IMPORTANCE_ASK


def budget_key(period: Period, group: GroupRec) -> str:
    """Each member is asked once per weekly or monthly period, and a daily pledge asks each
    member at most once per week: the key of what one ask uses up."""
    if period.cadence == "day":
        return period_at(period.start, "week", tracking.group_tz(group), group.week_start).key
    return period.key


def _open(job: JobRec, pledge: PledgeRec, group: GroupRec, period: Period, now: datetime) -> bool:
    if pledge.status != "active" or tracking.is_paused(pledge, group, now):
        return False
    if job.kind == FOLLOWUP:
        late = tracking.period_in_grace(pledge, group, now)
        return late is not None and late.key == period.key
    return period.key in {p.key for p in tracking.open_periods(pledge, group, now)}


def _candidates(
    job: JobRec, parts: Sequence[tuple[RoundPart, MemberRec]]
) -> list[tuple[RoundPart, MemberRec]]:
    member_id = job.payload.get("member_id")
    if member_id is not None:
        return [(p, m) for p, m in parts if m.id == member_id]
    if job.kind == REMIND:
        # Members with their own slot (or none) are reminded by their own jobs.
        return [(p, m) for p, m in parts if not p.remind_off and not p.remind_slot]
    if job.kind == FOLLOWUP:
        # The one follow-up is for a streak at stake: forgetting to tap should not end it.
        return [(p, m) for p, m in parts if not p.remind_off and p.current_streak > 0]
    return list(parts)


def _starts_before(
    part: RoundPart,
    pledge: PledgeRec,
    group: GroupRec,
    period: Period,
    starts: dict[str, datetime | None],
) -> bool:
    """Whether `period` is one of this participation's (it began at or after joining).

    `starts` caches the start of each first period: most members of a pledge share one.
    """
    if part.first_period not in starts:
        try:
            starts[part.first_period] = tracking.period_by_key(
                pledge, group, part.first_period
            ).start
        except ValueError:
            starts[part.first_period] = None
    start = starts[part.first_period]
    return start is None or start <= period.start


def _reminder_later(
    part: RoundPart,
    member: MemberRec,
    pledge: PledgeRec,
    group: GroupRec,
    period: Period,
    now: datetime,
) -> bool:
    """Whether this member's reminder for `period` is still to come: then it is their ask."""
    if part.remind_off:
        return False
    if part.remind_slot:
        at = slot_in_period(parse_slot(part.remind_slot), period, member_tz(member, group))
    elif pledge.remind_slot:
        at = slot_in_period(parse_slot(pledge.remind_slot), period, tracking.group_tz(group))
    else:
        return False
    return at is not None and at > now


def _answered(t: PeriodTally | None, target: int) -> bool:
    return t is not None and (t.done >= target or bool(t.skipped) or bool(t.declined))


@dataclass
class Facts:
    """What a round of reminder jobs needs from storage, loaded once for all its groups."""

    pledges: dict[int, PledgeRec]
    parts: dict[int, list[tuple[RoundPart, MemberRec]]]  # by pledge
    tallies: dict[tuple[int, str], PeriodTally]
    # (member, pledge, budget key) of every ask already sent or queued: each is asked once.
    reached: set[tuple[int, int, str]] = field(default_factory=set)


def _windows(pledge: PledgeRec, group: GroupRec, period: Period) -> tuple[datetime, datetime]:
    """The instants in which an earlier ask about `period` would have been sent."""
    if period.cadence == "day":
        week = period_at(period.start, "week", tracking.group_tz(group), group.week_start)
        return week.start, week.end + tracking.grace(group)
    return period.start, tracking.close_time(period, group)


async def load_facts(jobs: Sequence[JobRec], groups: dict[int, GroupRec] | None = None) -> Facts:
    """Pledges, members, tallies and earlier asks of every job of the round: a constant number
    of queries, whatever the number of groups and members."""
    notice_jobs = [j for j in jobs if j.kind in NOTICE_KINDS]
    pledges = {
        p.id: p
        for p in (
            await round_queries.pledges_by_id(int(j.payload["pledge_id"]) for j in notice_jobs)
        ).values()
        if p.status in ("active", "paused")
    }
    parts: dict[int, list[tuple[RoundPart, MemberRec]]] = {}
    for part, member in await round_queries.active_participations(pledges):
        parts.setdefault(part.pledge_id, []).append((part, member))
    keys = {str(j.payload["period_key"]) for j in notice_jobs}
    spans: list[tuple[int, datetime, datetime]] = []
    for job in notice_jobs:
        pledge = pledges.get(int(job.payload["pledge_id"]))
        group = (groups or {}).get(pledge.group_id) if pledge else None
        if pledge is None or group is None:
            continue
        try:
            period = tracking.period_by_key(pledge, group, str(job.payload["period_key"]))
        except ValueError:
            continue
        if period.cadence == "day":
            keys.add(tracking.preceding(period, group).key)  # was yesterday left unanswered?
        start, end = _windows(pledge, group, period)
        spans.append((group.id, start, end))
    tallies = await round_queries.pledge_tallies(pledges, keys)
    reached: set[tuple[int, int, str]] = set()
    if spans and groups:
        start = min(s for _, s, _ in spans)
        end = max(e for _, _, e in spans)
        for group_id, member_id, pledge_id, key, kind in await round_queries.asks_between(
            {g for g, _, _ in spans}, start, end
        ):
            if kind == SNOOZE:
                # A snooze is the member's own request, not the bot's ask: as in the round
                # that sends it, it does not use up the period's reminder (found by the model).
                continue
            pledge = pledges.get(pledge_id)
            group = groups.get(group_id)
            if pledge is None or group is None:
                continue
            try:
                period = tracking.period_by_key(pledge, group, key)
            except ValueError:
                continue
            reached.add((member_id, pledge_id, budget_key(period, group)))
    return Facts(pledges=pledges, parts=parts, tallies=tallies, reached=reached)


def _left_unanswered(
    part: RoundPart,
    pledge: PledgeRec,
    group: GroupRec,
    period: Period,
    facts: Facts,
    starts: dict[str, datetime | None],
) -> Period | None:
    """A daily pledge nudges a member only after a day of theirs left without any answer:
    that day, or None when they need no nudge (they answered it, or joined today)."""
    yesterday = tracking.preceding(period, group)
    if not _starts_before(part, pledge, group, yesterday, starts):
        return None
    t = facts.tallies.get((part.id, yesterday.key))
    if t is not None and (t.done or t.skipped or t.declined):
        return None
    return yesterday


def gather(group: GroupRec, jobs: Sequence[JobRec], now: datetime, facts: Facts) -> list[Notice]:
    """Everyone these reminder/prompt jobs still concern: unanswered, not paused, not muted,
    not asked yet this period (a daily pledge: this week), and reachable before the close."""
    notices: dict[tuple[int, int], Notice] = {}
    for job in sorted(jobs, key=lambda j: -_STRENGTH.get(j.kind, 0)):
        if job.kind not in NOTICE_KINDS:
            continue
        pledge = facts.pledges.get(int(job.payload["pledge_id"]))
        if pledge is None or pledge.group_id != group.id:
            continue
        period = tracking.period_by_key(pledge, group, str(job.payload["period_key"]))
        if not _open(job, pledge, group, period, now):
            continue
        close = tracking.close_time(period, group)
        starts: dict[str, datetime | None] = {}
        for part, member in _candidates(job, facts.parts.get(pledge.id, [])):
            if (member.id, pledge.id) in notices:
                continue
            if member.muted_until is not None and member.muted_until > now:
                continue
            if part.closed_through == period.key:
                continue
            if not _starts_before(part, pledge, group, period, starts):
                continue
            if _answered(facts.tallies.get((part.id, period.key)), pledge.target):
                continue
            # A snooze, or a reminder slot of their own, is what the member asked for: it
            # comes as asked. What the bot decides to send follows the budget.
            own = job.kind == SNOOZE or job.payload.get("member_id") is not None
            budget = (member.id, pledge.id, budget_key(period, group))
            if not own and budget in facts.reached:
                continue  # asked once already: its buttons still answer
            if job.kind == PROMPT and _reminder_later(part, member, pledge, group, period, now):
                continue
            late: Period | None = None
            if period.cadence == "day" and job.kind != SNOOZE:
                late = _left_unanswered(part, pledge, group, period, facts, starts)
                if late is None and not own:
                    continue
            # A snooze is one member's own request: it reaches them alone, not the channel.
            dm = part.delivery == "dm" or job.kind == SNOOZE
            due = member_due(_minute(now), group, member, dm)
            if due >= close:
                continue  # quiet hours would hold it past the close: better nothing at all
            if late is not None and due >= tracking.close_time(late, group):
                late = None  # yesterday will have closed: the nudge is about today alone
            if job.kind != SNOOZE:
                facts.reached.add(budget)
            notices[(member.id, pledge.id)] = Notice(job.kind, member, pledge, period, dm, late)
    return list(notices.values())


def _minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


def _digest(sources: Sequence[JobRec]) -> str:
    joined = "|".join(sorted(j.dedupe_key for j in sources))
    return hashlib.sha1(joined.encode(), usedforsecurity=False).hexdigest()[:12]


def _strongest(notices: Sequence[Notice]) -> str:
    return max(notices, key=lambda n: _STRENGTH[n.kind]).kind


def _outgoing(
    key: str, due: datetime, group: GroupRec, member: MemberRec | None, notices: list[Notice]
) -> Outgoing:
    kind = _strongest(notices)
    reply = render(kind, notices, dm=member is not None).with_extra(idempotency_key=key)
    pledges = {n.pledge.id for n in notices}
    periods = {n.period.key for n in notices}
    single = len(pledges) == 1 and len(periods) == 1
    return Outgoing(
        dedupe_key=key,
        due_at=due,
        group_id=group.id,
        member_id=member.id if member else None,
        reply=reply,
        kind=kind,
        pledge_id=next(iter(pledges)) if single else None,
        period_key=next(iter(periods)) if single else None,
        notices=tuple(notices),
    )


def batch(
    group: GroupRec, notices: Sequence[Notice], minute: datetime, sources: Sequence[JobRec]
) -> list[Outgoing]:
    """One channel message for the group's minute (members whose own quiet hours hold them
    back get theirs when those end), and one DM per member who chose DMs."""
    stem = f"send:g{group.id}:{minute.isoformat(timespec='minutes')}:{_digest(sources)}"
    first = after_quiet(minute, group)
    channel: dict[datetime, list[Notice]] = {}
    for n in notices:
        if not n.dm:
            channel.setdefault(member_due(minute, group, n.member, False), []).append(n)
    out = []
    for due, mine in sorted(channel.items(), key=lambda item: item[0]):
        tail = "c" if due == first else f"c{due.isoformat(timespec='minutes')}"
        out.append(_outgoing(f"{stem}:{tail}", due, group, None, mine))
    by_member: dict[int, list[Notice]] = {}
    for n in notices:
        if n.dm:
            by_member.setdefault(n.member.id, []).append(n)
    for member_id, mine in by_member.items():
        member = mine[0].member
        due = member_due(minute, group, member, True)
        out.append(_outgoing(f"{stem}:m{member_id}", due, group, member, mine))
    return out


def send_payload(o: Outgoing, reply_json: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The stored form of a message: the rendered reply and who it asks about what."""
    return {
        "member_id": o.member_id,
        "reply": reply_json,
        "record": {"kind": o.kind, "pledge_id": o.pledge_id, "period_key": o.period_key},
        "notices": notices_to_json(o.notices),
        "checked_at": now.isoformat(),
    }


# -- the weekly cap --------------------------------------------------------------------------


def _week(group: GroupRec, instant: datetime) -> Period:
    return period_at(instant, "week", tracking.group_tz(group), group.week_start)


@dataclass
class Ledger:
    """A group's channel messages of the weeks in question: sent or queued, and still planned
    (due time and importance), so the cap can keep room for what matters more."""

    sent: list[datetime] = field(default_factory=list)
    planned: list[tuple[datetime, int, bool]] = field(default_factory=list)  # due, weight, one
    # How many channel messages one planned job may become: members whose own quiet hours
    # hold their part back get it in a message of its own.
    spread: int = 1


async def ledgers(
    outgoing: Sequence[tuple[GroupRec, Sequence[Outgoing]]],
) -> dict[int, Ledger]:
    """The ledgers of every group of a round: two queries whatever the number of groups."""
    weeks = [_week(g, o.due_at) for g, outs in outgoing for o in outs if o.member_id is None]
    if not weeks:
        return {}
    start = min(w.start for w in weeks)
    end = max(w.end for w in weeks)
    groups = {g.id for g, outs in outgoing if any(o.member_id is None for o in outs)}
    books: dict[int, Ledger] = {g: Ledger() for g in groups}
    for group_id, due in await round_queries.channel_sends_between(groups, start, end):
        books[group_id].sent.append(due)
    for p in await round_queries.planned_between(groups, start, end):
        if not p.fallback:
            one = p.personal or p.kind == SUMMARY
            books[p.group_id].planned.append((p.due_at, importance(p.kind, p.cadence), one))
    return books


def cap(
    group: GroupRec, outgoing: Sequence[Outgoing], ledger: Ledger
) -> tuple[list[Outgoing], list[Outgoing]]:
    """(kept, held back): channel messages past the group's weekly cap are held back, the
    least important first — places the week's summary and weekly asks still need are kept.

    The kept ones are added to `ledger.sent`, so a second batch of the group in one round
    sees the first.
    """
    kept: list[Outgoing] = []
    held: list[Outgoing] = []
    for o in outgoing:
        if o.member_id is not None:
            kept.append(o)
            continue
        week = _week(group, o.due_at)
        count = sum(1 for due in ledger.sent if week.start <= due < week.end)
        later = {
            (_minute(due), one)
            for due, weight, one in ledger.planned
            if o.due_at < due < week.end and weight > o.importance
        }
        places = sum(1 if one else ledger.spread for _, one in later)
        if count + places >= group.weekly_message_cap:
            log.info(
                "held back by the weekly cap: group=%s week=%s cap=%s kind=%s",
                group.id,
                week.key,
                group.weekly_message_cap,
                o.kind,
            )
            held.append(o)
            continue
        ledger.sent.append(o.due_at)
        kept.append(o)
    return kept, held


def held_record(o: Outgoing) -> round_queries.HeldBack:
    """What `!settings` shows of a message the cap held back."""
    titles = sorted({n.pledge.title for n in o.notices})
    return round_queries.HeldBack(
        dedupe_key=f"held:{o.dedupe_key}"[:255],
        group_id=o.group_id,
        due_at=o.due_at,
        kind=o.kind,
        titles=titles,
        members=len({n.member.id for n in o.notices}),
    )


def _spread(group: GroupRec, facts: Facts | None) -> int:
    """1 + the member zones (of this round's pledges) whose quiet hours differ from the group's."""
    if facts is None:
        return 1
    zones = {
        member.timezone
        for pledge in facts.pledges.values()
        if pledge.group_id == group.id
        for _, member in facts.parts.get(pledge.id, [])
        if member.timezone and member.timezone != group.timezone
    }
    return 1 + len(zones)


async def within_caps(
    batched: Sequence[tuple[GroupRec, Sequence[Outgoing]]],
    now: datetime,
    facts: Facts | None = None,
) -> list[list[Outgoing]]:
    """`cap` for every group of a round; what it holds back is recorded for `!settings`."""
    books = await ledgers(batched)
    kept_all: list[list[Outgoing]] = []
    held_all: list[round_queries.HeldBack] = []
    for group, outgoing in batched:
        ledger = books.setdefault(group.id, Ledger())
        ledger.spread = _spread(group, facts)
        kept, held = cap(group, outgoing, ledger)
        kept_all.append(kept)
        held_all.extend(held_record(o) for o in held)
    if held_all:
        await round_queries.record_held(held_all, now)
    return kept_all


async def within_cap(
    group: GroupRec, outgoing: Sequence[Outgoing], now: datetime
) -> list[Outgoing]:
    """`within_caps` for one group."""
    return (await within_caps([(group, outgoing)], now))[0]


# -- right before hand-over ------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """One notice as a stored message holds it."""

    member_id: int
    pledge_id: int
    period_key: str
    kind: str
    late_key: str


def stored_notices(payload: dict[str, Any]) -> list[Stored]:
    out = []
    for row in payload.get("notices") or []:
        member_id, pledge_id, key, kind = int(row[0]), int(row[1]), str(row[2]), str(row[3])
        late = str(row[4]) if len(row) > 4 else ""
        out.append(Stored(member_id, pledge_id, key, kind, late))
    return out


def still_due(
    stored: Sequence[Stored],
    group: GroupRec,
    facts: Facts,
    members: dict[int, MemberRec],
    now: datetime,
    dm: bool,
) -> tuple[list[Notice], str]:
    """The notices of a message that still hold right before it is handed over: nothing for a
    member who answered meanwhile, went offline, or whose period has closed (quiet hours,
    snoozes, retries or a restart may have delayed it). With none left, also the reason."""
    left: list[Notice] = []
    reasons: list[str] = []
    for s in stored:
        pledge = facts.pledges.get(s.pledge_id)
        member = members.get(s.member_id)
        if pledge is None or member is None or pledge.status != "active":
            reasons.append("gone")
            continue
        if tracking.is_paused(pledge, group, now):
            reasons.append("paused")
            continue
        try:
            period = tracking.period_by_key(pledge, group, s.period_key)
        except ValueError:
            reasons.append("closed")
            continue
        open_keys = {p.key for p in tracking.open_periods(pledge, group, now)}
        part = next((p for p, m in facts.parts.get(pledge.id, []) if m.id == member.id), None)
        if (
            part is None
            or period.key not in open_keys
            or part.closed_through == period.key
            or tracking.close_time(period, group) <= now
        ):
            reasons.append("closed")
            continue
        if _answered(facts.tallies.get((part.id, period.key)), pledge.target):
            reasons.append("answered")
            continue
        if member.muted_until is not None and member.muted_until > now:
            reasons.append("muted")
            continue
        late = None
        if s.late_key and s.late_key in open_keys:
            candidate = tracking.period_by_key(pledge, group, s.late_key)
            t = facts.tallies.get((part.id, candidate.key))
            if tracking.close_time(candidate, group) > now and not _answered(t, pledge.target):
                late = candidate
        left.append(Notice(s.kind, member, pledge, period, dm, late))
    return left, ("" if left else (reasons[0] if reasons else "empty"))


@dataclass(frozen=True)
class Rechecked:
    """What the re-check right before hand-over decided for a round's messages."""

    keep: list[JobRec]  # to hand over now (rendered again when someone dropped out)
    drop: dict[str, list[int]]  # job ids to skip, by reason
    later: list[tuple[int, datetime]]  # channel messages whose every member is in quiet hours


async def recheck(jobs: Sequence[JobRec], now: datetime) -> Rechecked:
    """Check every message against the answers, closes and quiet hours right before it is
    handed over. A constant number of queries for the whole round.

    Quiet hours are read again in each member's zone as it is now: a member who moved
    (`me timezone`) after their channel message was planned is not pinged in the night of
    their new zone. The message waits for their quiet hours to end when it names nobody else,
    and goes without them otherwise (it is not split into a message the weekly cap did not
    count); a DM is held the same way at hand-over (`Scheduler._deliver`).
    """
    stale = [j for j in jobs if j.payload.get("notices") and _stale(j, now)]
    if not stale:
        return Rechecked(list(jobs), {}, [])
    stored = {j.id: stored_notices(j.payload) for j in stale}
    groups = await round_queries.groups_by_id(j.group_id or 0 for j in stale)
    pledge_ids = {s.pledge_id for rows in stored.values() for s in rows}
    pledges = {p.id: p for p in (await round_queries.pledges_by_id(pledge_ids)).values()}
    parts: dict[int, list[tuple[RoundPart, MemberRec]]] = {}
    for part, member in await round_queries.active_participations(pledges):
        parts.setdefault(part.pledge_id, []).append((part, member))
    keys = {s.period_key for rows in stored.values() for s in rows}
    keys |= {s.late_key for rows in stored.values() for s in rows if s.late_key}
    tallies = await round_queries.pledge_tallies(pledges, keys)
    members = {m.id: m for rows in parts.values() for _, m in rows}
    facts = Facts(pledges=pledges, parts=parts, tallies=tallies)
    keep: list[JobRec] = []
    drop: dict[str, list[int]] = {}
    later: list[tuple[int, datetime]] = []
    by_id = {j.id: j for j in stale}
    for job in jobs:
        if job.id not in by_id:
            keep.append(job)
            continue
        group = groups.get(job.group_id or 0)
        if group is None:
            keep.append(job)  # the hand-over knows what to do with a group that is gone
            continue
        rows = stored[job.id]
        dm = job.payload.get("member_id") is not None
        left, reason = still_due(rows, group, facts, members, now, dm)
        if left and not dm:
            dues = [member_due(now, group, n.member, False) for n in left]
            if min(dues) > now:  # every member named is in their quiet hours
                later.append((job.id, min(dues)))
                continue
            left = [n for n, due in zip(left, dues, strict=True) if due <= now]
        if not left:
            drop.setdefault(reason, []).append(job.id)
            continue
        if len(left) == len(rows) and all(
            (n.late.key if n.late else "") == s.late_key for n, s in zip(left, rows, strict=True)
        ):
            keep.append(job)
            continue
        keep.append(_rerendered(job, left, now))
    return Rechecked(keep, drop, later)


def _stale(job: JobRec, now: datetime) -> bool:
    checked = job.payload.get("checked_at")
    if not checked:
        return True
    try:
        return now - datetime.fromisoformat(str(checked)) >= RECHECK_AFTER
    except ValueError:
        return True


def _rerendered(job: JobRec, left: Sequence[Notice], now: datetime) -> JobRec:
    from bot.messages.notices import reply_to_json

    dm = job.payload.get("member_id") is not None
    old = job.payload.get("reply", {}).get("extra", {})
    reply = render(_strongest(left), left, dm=dm).with_extra(
        **{str(k): str(v) for k, v in old.items()}
    )
    payload = dict(job.payload)
    payload["reply"] = reply_to_json(reply)
    payload["notices"] = notices_to_json(left)
    payload["checked_at"] = now.isoformat()
    return dataclasses.replace(job, payload=payload)


_ = describe
