"""Answering for a period: done, not this time, skip, undo and vouch (typed or one-tap)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import tracking
from bot.errors import NotFound, PermissionDenied, UserError
from bot.markup import inert
from bot.periods import Period, describe
from storage import checkins as checkin_queries
from storage import pledges as pledge_queries
from storage.records import CheckInRec, GroupRec, MemberRec, ParticipationRec, PledgeRec

KIND_LABEL = {"done": "done", "not": "not this time", "skip": "skip"}


async def record_lookup(part: ParticipationRec, event_key: str) -> CheckInRec | None:
    return await checkin_queries.find_by_event(part.id, event_key)


@dataclass(frozen=True)
class Answer:
    checkin: CheckInRec
    created: bool
    period: Period
    done: int
    late: bool


def period_label(period: Period, now_period: Period) -> str:
    if period.key == now_period.key:
        return {"day": "today", "week": "this week", "month": "this month"}[period.cadence]
    return {"day": "yesterday", "week": "last week", "month": "last month"}[period.cadence]


async def participation_or_refuse(pledge: PledgeRec, member: MemberRec) -> ParticipationRec:
    part = await pledge_queries.participation_of(pledge.id, member.id)
    if part is None or not part.active:
        raise PermissionDenied(
            f"You are not taking part in “{inert(pledge.title)}”.",
            f"Join it first with `!pledge join {pledge.number}`.",
        )
    return part


async def done_count(part: ParticipationRec, period: Period) -> tuple[int, int, int]:
    tallies = await checkin_queries.tallies([part.id], [period.key])
    t = tallies.get((part.id, period.key))
    return (t.done, t.skipped, t.declined) if t else (0, 0, 0)


async def choose_period(
    pledge: PledgeRec, group: GroupRec, part: ParticipationRec, now: datetime
) -> tuple[Period, bool]:
    """A typed answer counts for a period still in grace if it was left unanswered, else now."""
    current = tracking.current_period(pledge, group, now)
    late = tracking.period_in_grace(pledge, group, now)
    if (
        late is not None
        and part.closed_through != late.key
        and counts_for(part, pledge, group, late)
    ):
        done, skipped, declined = await done_count(part, late)
        if done < pledge.target and not skipped and not declined:
            return late, True
    return current, False


def counts_for(part: ParticipationRec, pledge: PledgeRec, group: GroupRec, period: Period) -> bool:
    first = tracking.period_by_key(pledge, group, part.first_period)
    return period.start >= first.start


def check_open(
    pledge: PledgeRec, group: GroupRec, part: ParticipationRec, key: str, now: datetime
) -> Period:
    """The period named by a button, if it can still take an answer."""
    try:
        period = tracking.period_by_key(pledge, group, key)
    except ValueError:
        raise UserError(
            "That button is from an old version of me; use the command instead."
        ) from None
    open_keys = {p.key for p in tracking.open_periods(pledge, group, now)}
    if not counts_for(part, pledge, group, period):
        raise UserError(
            f"You joined after the {describe(period)}, so it is not yours to answer.",
            "Answer for the current period instead.",
        )
    if period.key not in open_keys or part.closed_through == period.key:
        raise UserError(
            f"The {describe(period)} is closed already, so it can't take answers any more.",
            "Answer for the current period with the command instead.",
        )
    return period


async def record(
    part: ParticipationRec,
    period: Period,
    kind: str,
    note: str,
    event_key: str,
    now: datetime,
) -> tuple[CheckInRec, bool]:
    """Store an answer; (check-in, created) — created is False for a replayed event."""
    try:
        return await checkin_queries.add_checkin(
            part.id, period.key, kind, note, event_key, now, spend_freeze=(kind == "skip")
        )
    except checkin_queries.NoFreezeLeft:
        raise UserError(
            "You have no freezes left to skip with. You earn one for every 4 kept periods "
            "(you hold at most 2).",
            "Say `not this time` instead, or keep it a few times and skip later.",
        ) from None


async def undo_last(
    pledge: PledgeRec, group: GroupRec, part: ParticipationRec, now: datetime
) -> CheckInRec:
    keys = [
        p.key for p in tracking.open_periods(pledge, group, now) if p.key != part.closed_through
    ]
    last = await checkin_queries.last_checkin(part.id, keys)
    if last is None:
        raise NotFound(
            f"You have nothing to undo for “{inert(pledge.title)}” in the open period.",
            "Only answers for periods that have not closed yet can be taken back.",
        )
    await checkin_queries.undo_checkin(last.id, now, refund_freeze=(last.kind == "skip"))
    return last


async def vouch_for(
    pledge: PledgeRec, group: GroupRec, voucher: MemberRec, target: MemberRec, now: datetime
) -> CheckInRec:
    if voucher.id == target.id:
        raise UserError("You can't vouch for yourself.", "Ask someone who was there to vouch.")
    part = await pledge_queries.participation_of(pledge.id, target.id)
    if part is None or not part.active:
        raise NotFound(
            f"{inert(target.display_name)} is not taking part in “{inert(pledge.title)}”."
        )
    keys = [p.key for p in tracking.open_periods(pledge, group, now)]
    last = await checkin_queries.last_checkin(part.id, keys)
    if last is None or last.kind != "done":
        raise NotFound(
            f"{inert(target.display_name)} has no check-in for “{inert(pledge.title)}” "
            "in the open period to vouch for.",
            "You can vouch once they have confirmed it.",
        )
    await checkin_queries.add_vouch(last.id, voucher.id, now)
    return last
