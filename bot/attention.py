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
from storage import checkins as checkin_queries
from storage import jobs as job_queries
from storage import pledges as pledge_queries
from storage.records import GroupRec, JobRec, MemberRec, ParticipationRec, PledgeRec

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
    job: JobRec, parts: Sequence[tuple[ParticipationRec, MemberRec]]
) -> list[tuple[ParticipationRec, MemberRec]]:
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


def _joined(part: ParticipationRec, pledge: PledgeRec, group: GroupRec, period: Period) -> bool:
    try:
        first = tracking.period_by_key(pledge, group, part.first_period)
    except ValueError:
        return True
    return first.start <= period.start and part.closed_through != period.key


async def gather(group: GroupRec, jobs: Sequence[JobRec], now: datetime) -> list[Notice]:
    """Everyone these reminder/prompt jobs still concern: unanswered, not paused, not muted."""
    pledge_ids = sorted({int(j.payload["pledge_id"]) for j in jobs if j.kind in NOTICE_KINDS})
    pledges = {
        p.id: p
        for p in await pledge_queries.group_pledges(group.id, ("active", "paused"))
        if p.id in pledge_ids
    }
    rows = await pledge_queries.participations(list(pledges))
    by_pledge: dict[int, list[tuple[ParticipationRec, MemberRec]]] = {}
    for part, member in rows:
        by_pledge.setdefault(part.pledge_id, []).append((part, member))
    wanted: list[tuple[JobRec, PledgeRec, Period, ParticipationRec, MemberRec]] = []
    for job in jobs:
        pledge = pledges.get(int(job.payload["pledge_id"]))
        if pledge is None:
            continue
        period = tracking.period_by_key(pledge, group, str(job.payload["period_key"]))
        if not _open(job, pledge, group, period, now):
            continue
        for part, member in _candidates(job, by_pledge.get(pledge.id, [])):
            muted = member.muted_until is not None and member.muted_until > now
            if not muted and _joined(part, pledge, group, period):
                wanted.append((job, pledge, period, part, member))
    tallies = await checkin_queries.tallies(
        list({w[3].id for w in wanted}), list({w[2].key for w in wanted})
    )
    notices: dict[tuple[int, int], Notice] = {}
    for job, pledge, period, part, member in wanted:
        t = tallies.get((part.id, period.key))
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


async def within_cap(group: GroupRec, outgoing: Sequence[Outgoing]) -> list[Outgoing]:
    """Drop channel messages past the group's weekly cap; the summary and prompt go last."""
    kept: list[Outgoing] = []
    tz = tracking.group_tz(group)
    extra: dict[str, int] = {}
    for o in outgoing:
        if o.member_id is not None:
            kept.append(o)
            continue
        week = period_at(o.due_at, "week", tz, group.week_start)
        sent = await job_queries.channel_messages_between(group.id, week.start, week.end)
        sent += extra.get(week.key, 0)
        limit = group.weekly_message_cap - _RESERVE.get(o.kind, 2)
        if sent >= limit:
            log.warning(
                "weekly cap reached: group=%s week=%s cap=%s; not sending %s",
                group.id,
                week.key,
                group.weekly_message_cap,
                o.kind,
            )
            continue
        extra[week.key] = extra.get(week.key, 0) + 1
        kept.append(o)
    return kept
