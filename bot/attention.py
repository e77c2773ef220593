"""The attention budget: who still needs a nudge, one message per group slot, quiet hours, caps."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot import tracking
from bot.notices import FOLLOWUP, NOTICE_KINDS, PROMPT, REMIND, SNOOZE, Notice, render
from bot.periods import Period, period_at
from bot.planning import after_quiet, member_tz
from bot.replies import Reply
from storage import scheduling as round_queries
from storage.records import GroupRec, JobRec, MemberRec, PeriodTally, PledgeRec
from storage.scheduling import RoundPart

log = logging.getLogger("logoff.attention")

CHANNEL_SEND = "send"
DM_SEND = "dm"
SUMMARY = "summary"
# Stronger kinds win when several meet in one message: a question beats a nudge.
_STRENGTH = {SNOOZE: 0, REMIND: 0, PROMPT: 1, FOLLOWUP: 2}
# Places of the weekly cap kept free for what matters more: the summary, then the prompt.
_RESERVE = {SUMMARY: 0, PROMPT: 1}


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


def _joined(
    part: RoundPart,
    pledge: PledgeRec,
    group: GroupRec,
    period: Period,
    starts: dict[str, datetime | None],
) -> bool:
    """`starts` caches the start of each first period: most members of a pledge share one."""
    if part.first_period not in starts:
        try:
            starts[part.first_period] = tracking.period_by_key(
                pledge, group, part.first_period
            ).start
        except ValueError:
            starts[part.first_period] = None
    start = starts[part.first_period]
    if start is None:
        return True
    return start <= period.start and part.closed_through != period.key


@dataclass(frozen=True)
class Facts:
    """What a round of reminder jobs needs from storage, loaded once for all its groups."""

    pledges: dict[int, PledgeRec]
    parts: dict[int, list[tuple[RoundPart, MemberRec]]]  # by pledge
    tallies: dict[tuple[int, str], PeriodTally]


async def load_facts(jobs: Sequence[JobRec]) -> Facts:
    """Pledges, members and tallies of every job of the round: three queries, any group size."""
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
    tallies = await round_queries.pledge_tallies(pledges, keys)
    return Facts(pledges=pledges, parts=parts, tallies=tallies)


def gather(group: GroupRec, jobs: Sequence[JobRec], now: datetime, facts: Facts) -> list[Notice]:
    """Everyone these reminder/prompt jobs still concern: unanswered, not paused, not muted."""
    notices: dict[tuple[int, int], Notice] = {}
    for job in jobs:
        if job.kind not in NOTICE_KINDS:
            continue
        pledge = facts.pledges.get(int(job.payload["pledge_id"]))
        if pledge is None or pledge.group_id != group.id:
            continue
        period = tracking.period_by_key(pledge, group, str(job.payload["period_key"]))
        if not _open(job, pledge, group, period, now):
            continue
        starts: dict[str, datetime | None] = {}
        for part, member in _candidates(job, facts.parts.get(pledge.id, [])):
            if member.muted_until is not None and member.muted_until > now:
                continue
            if not _joined(part, pledge, group, period, starts):
                continue
            t = facts.tallies.get((part.id, period.key))
            if t is not None and (t.done >= pledge.target or t.skipped or t.declined):
                continue
            # A snooze is one member's own request: it reaches them alone, not the channel.
            dm = part.delivery == "dm" or job.kind == SNOOZE
            old = notices.get((member.id, pledge.id))
            if old is None or _STRENGTH[job.kind] > _STRENGTH[old.kind]:
                notices[(member.id, pledge.id)] = Notice(job.kind, member, pledge, period, dm)
    return list(notices.values())


def _digest(sources: Sequence[JobRec]) -> str:
    joined = "|".join(sorted(j.dedupe_key for j in sources))
    return hashlib.sha1(joined.encode(), usedforsecurity=False).hexdigest()[:12]


def _strongest(notices: Sequence[Notice]) -> str:
    return max(notices, key=lambda n: _STRENGTH[n.kind]).kind


def _outgoing(
    key: str, due: datetime, group: GroupRec, member: MemberRec | None, notices: list[Notice]
) -> Outgoing:
    kind = _strongest(notices)
    reply = render(kind, notices, dm=member is not None)
    reply.extra["idempotency_key"] = key
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
    )


def batch(
    group: GroupRec, notices: Sequence[Notice], minute: datetime, sources: Sequence[JobRec]
) -> list[Outgoing]:
    """One channel message for the group's minute, and one DM per member who chose DMs."""
    stem = f"send:g{group.id}:{minute.isoformat(timespec='minutes')}:{_digest(sources)}"
    channel = [n for n in notices if not n.dm]
    out = []
    if channel:
        out.append(_outgoing(f"{stem}:c", after_quiet(minute, group), group, None, channel))
    by_member: dict[int, list[Notice]] = {}
    for n in notices:
        if n.dm:
            by_member.setdefault(n.member.id, []).append(n)
    for member_id, mine in by_member.items():
        member = mine[0].member
        due = after_quiet(minute, group, member_tz(member, group))
        out.append(_outgoing(f"{stem}:m{member_id}", due, group, member, mine))
    return out


def _week(group: GroupRec, instant: datetime) -> Period:
    return period_at(instant, "week", tracking.group_tz(group), group.week_start)


async def channel_history(
    outgoing: Sequence[tuple[GroupRec, Sequence[Outgoing]]],
) -> dict[int, list[datetime]]:
    """Due times of the channel messages already sent or queued in the weeks `outgoing` falls in.

    One query for every group of a round: the window spans all their weeks, and `cap`
    counts each group's own week.
    """
    weeks = [_week(g, o.due_at) for g, outs in outgoing for o in outs if o.member_id is None]
    if not weeks:
        return {}
    start = min(w.start for w in weeks)
    end = max(w.end for w in weeks)
    groups = {g.id for g, outs in outgoing if any(o.member_id is None for o in outs)}
    history: dict[int, list[datetime]] = {}
    for group_id, due in await round_queries.channel_sends_between(groups, start, end):
        history.setdefault(group_id, []).append(due)
    return history


def cap(group: GroupRec, outgoing: Sequence[Outgoing], sent: list[datetime]) -> list[Outgoing]:
    """Drop channel messages past the group's weekly cap; the summary and prompt go last.

    `sent`: due times of the group's channel messages already counted; the kept ones are
    appended, so a second batch of the same group in one round sees the first.
    """
    kept: list[Outgoing] = []
    for o in outgoing:
        if o.member_id is not None:
            kept.append(o)
            continue
        week = _week(group, o.due_at)
        count = sum(1 for due in sent if week.start <= due < week.end)
        limit = group.weekly_message_cap - _RESERVE.get(o.kind, 2)
        if count >= limit:
            log.warning(
                "weekly cap reached: group=%s week=%s cap=%s; not sending %s",
                group.id,
                week.key,
                group.weekly_message_cap,
                o.kind,
            )
            continue
        sent.append(o.due_at)
        kept.append(o)
    return kept


async def within_cap(group: GroupRec, outgoing: Sequence[Outgoing]) -> list[Outgoing]:
    """`cap` for one group, reading its history first."""
    history = await channel_history([(group, outgoing)])
    return cap(group, outgoing, history.get(group.id, []))
