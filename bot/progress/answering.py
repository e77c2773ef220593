"""Answering for a period: which period an answer belongs to, and recording done / not / skip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.errors import NotFound, PermissionDenied, UserError
from bot.messages.instants import reader_mark
from bot.messages.markup import inert
from bot.messages.syntax import CMD
from bot.rules import pledge_periods as tracking
from bot.rules import streaks
from bot.rules.localtime import resolve_local
from bot.rules.periods import Period, describe, period_at
from storage import checkins as checkin_queries
from storage import pledges as pledge_queries
from storage.records import CheckInRec, GroupRec, MemberRec, ParticipationRec, PledgeRec

KIND_LABEL = {"done": "done", "not": "not this time", "skip": "skip"}
THIS = {"day": "today", "week": "this week", "month": "this month"}
LAST = {"day": "yesterday", "week": "last week", "month": "last month"}
ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly"}
# Words that name the period of a typed answer: a day (the period of any cadence that holds
# it) or this / last period of one cadence. Declared once; the commands' help lists them.
DAY_WORDS = {"today": 0, "yesterday": -1}
CADENCE_WORDS = {
    "this week": ("week", 0),
    "last week": ("week", -1),
    "this month": ("month", 0),
    "last month": ("month", -1),
}
PERIOD_WORDS: tuple[str, ...] = (*DAY_WORDS, *CADENCE_WORDS)


async def record_lookup(part: ParticipationRec, event_key: str) -> CheckInRec | None:
    return await checkin_queries.find_by_event(part.id, event_key)


def period_label(period: Period, now_period: Period) -> str:
    """ "today", "this week" ... for the current period, "yesterday", "last week" ... before."""
    if period.key == now_period.key:
        return THIS[period.cadence]
    return LAST[period.cadence]


def labelled(period: Period, now_period: Period) -> str:
    """ "today (Tue 6 Oct 2026)": how every reply names the period it is about."""
    return f"{period_label(period, now_period)} ({describe(period)})"


async def participation_or_refuse(pledge: PledgeRec, member: MemberRec) -> ParticipationRec:
    part = await pledge_queries.participation_of(pledge.id, member.id)
    if part is None or not part.active:
        raise PermissionDenied(
            f"You are not taking part in “{inert(pledge.title)}”.",
            f"Join it first with `{CMD}pledge join {pledge.number}`.",
        )
    return part


async def done_count(part: ParticipationRec, period: Period) -> tuple[int, int, int]:
    tallies = await checkin_queries.tallies([part.id], [period.key])
    t = tallies.get((part.id, period.key))
    return (t.done, t.skipped, t.declined) if t else (0, 0, 0)


def counts_for(part: ParticipationRec, pledge: PledgeRec, group: GroupRec, period: Period) -> bool:
    first = tracking.period_by_key(pledge, group, part.first_period)
    return period.start >= first.start


def is_open(
    part: ParticipationRec, pledge: PledgeRec, group: GroupRec, period: Period, now: datetime
) -> bool:
    """Whether this member may still answer for `period`: theirs, and not closed."""
    open_keys = {p.key for p in tracking.open_periods(pledge, group, now)}
    return (
        period.key in open_keys
        and part.closed_through != period.key
        and counts_for(part, pledge, group, period)
        and not tracking.after_end(pledge, period)
    )


@dataclass(frozen=True)
class Ambiguous:
    """A typed `done` that could be for the open period or the one still in grace."""

    current: Period
    late: Period


def named_period(word: str, pledge: PledgeRec, group: GroupRec, now: datetime) -> Period:
    """The period a word of `done <pledge> [word]` names for this pledge."""
    cadence = tracking.cadence(pledge)
    if word in DAY_WORDS:
        tz = tracking.group_tz(group)
        day = tracking.today(group, now) + timedelta(days=DAY_WORDS[word])
        return period_at(resolve_local(day, time(0), tz), cadence, tz, group.week_start)
    want, step = CADENCE_WORDS[word]
    if want != cadence:
        raise UserError(
            f"“{inert(pledge.title)}” is a {ADJECTIVE[cadence]} pledge: `{word}` does not fit it.",
            f"Write `{CMD}done {pledge.number} {THIS[cadence]}` or "
            f"`{CMD}done {pledge.number} {LAST[cadence]}`.",
        )
    current = tracking.current_period(pledge, group, now)
    return tracking.preceding(current, group) if step else current


async def choose_period(
    pledge: PledgeRec, group: GroupRec, part: ParticipationRec, kind: str, now: datetime
) -> Period | Ambiguous:
    """A typed answer without a word counts for the open period, never a silent guess.

    A `done` while the period in grace has no answer of this member is really ambiguous:
    the caller asks which one was meant. A skip looks ahead, so it is for the open period.
    """
    current = tracking.current_period(pledge, group, now)
    late = tracking.period_in_grace(pledge, group, now)
    if kind == "done" and late is not None and is_open(part, pledge, group, late, now):
        done, skipped, declined = await done_count(part, late)
        if not (done or skipped or declined):
            if not is_open(part, pledge, group, current, now):
                return late  # the only period that can still take it (e.g. the pledge ended)
            return Ambiguous(current, late)
    return current


def close_text(period: Period, group: GroupRec, now: datetime, reader: MemberRec) -> str:
    """ "closed on Wed 14 Oct at 12:00" or "closes today at 12:00", for a private text to
    `reader`: in the group's zone, or in the reader's own with its name when they set one."""
    at = tracking.close_time(period, group)
    verb = "closed" if at <= now else "closes"
    zone = tracking.group_tz(group)
    return f"{verb} {reader_mark(at, zone, reader.timezone, 'on', ref=now)}"


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
            "You have no freezes left to skip with. You earn one for every "
            f"{streaks.KEPT_PER_FREEZE} kept periods (you hold at most {streaks.MAX_FREEZES}).",
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
    await checkin_queries.undo_checkin(
        last.id, now, refund_freeze=(last.kind == "skip"), max_freezes=streaks.MAX_FREEZES
    )
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
