"""Which jobs exist: reminders, prompts, one follow-up, period closes and weekly summaries."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.messages.notices import FOLLOWUP, PROMPT, REMIND, SNOOZE
from bot.rules import pledge_periods as tracking
from bot.rules.localtime import resolve_local
from bot.rules.periods import Period, period_at

# Re-exported: the scheduler reads them here.
from bot.rules.reach import after_quiet as after_quiet
from bot.rules.reach import member_tz as member_tz
from bot.rules.slots import Slot, next_occurrence, occurrence_in_period, parse_slot
from storage.records import GroupRec, MemberRec, NewJob, ParticipationRec, PledgeRec

CLOSE = "close"
SUMMARY = "summary"
PLANNED_KINDS = (REMIND, PROMPT, FOLLOWUP, CLOSE, SUMMARY)
# The follow-up comes this far into the grace window (08:00 after a midnight end with 12 h),
# early enough to be answered before the close and late enough to follow a night's sleep.
FOLLOWUP_SHARE = 2 / 3
_TICK = timedelta(microseconds=1)


def slot_in_period(slot: Slot, period: Period, tz: ZoneInfo) -> datetime | None:
    """The first firing of a slot on `tz`'s clock inside the period's instants."""
    at = next_occurrence(slot, period.start - _TICK, tz)
    return at if at < period.end else None


def prompt_time(pledge: PledgeRec, period: Period, group: GroupRec) -> datetime | None:
    """The end-of-period question: the prompt slot in a week, else its time on the last day."""
    slot = parse_slot(group.prompt_slot)
    tz = tracking.group_tz(group)
    if period.cadence == "week" and slot.weekday is not None:
        found = occurrence_in_period(slot, period, tz)
        if found is not None:
            return found
    last_day = period.first_day + timedelta(days=period.days - 1)
    at = resolve_local(last_day, slot.at, tz)
    return at if period.start <= at < period.end else None


def followup_time(period: Period, group: GroupRec) -> datetime | None:
    """At most one follow-up, inside the grace window and out of quiet hours, or none."""
    close = tracking.close_time(period, group)
    at = after_quiet(period.end + (close - period.end) * FOLLOWUP_SHARE, group)
    return at if period.end <= at < close else None


def summary_time(week: Period, group: GroupRec) -> datetime:
    """The summary slot's first firing at or after the week's close, so it reports a closed week."""
    close = tracking.close_time(week, group)
    slot = parse_slot(group.summary_slot)
    return after_quiet(next_occurrence(slot, close - _TICK, tracking.group_tz(group)), group)


def _key(kind: str, group: GroupRec, pledge: PledgeRec, period: Period) -> str:
    return f"{kind}:g{group.id}:p{pledge.id}:{period.key}"


def _notice(
    kind: str, key: str, due: datetime, at: datetime, group: GroupRec, pledge: PledgeRec, p: Period
) -> NewJob:
    payload: dict[str, Any] = {
        "pledge_id": pledge.id,
        "period_key": p.key,
        "at": at.isoformat(),
        "cadence": pledge.cadence,
    }
    if kind == FOLLOWUP or (kind == PROMPT and pledge.remind_slot):
        # Only for who the reminder did not reach: the weekly cap keeps no place for it.
        payload["fallback"] = True
    return NewJob(dedupe_key=key, kind=kind, due_at=due, group_id=group.id, payload=payload)


def _close(group: GroupRec, at: datetime) -> NewJob:
    key = f"close:g{group.id}:{at.isoformat(timespec='minutes')}"
    return NewJob(dedupe_key=key, kind=CLOSE, due_at=at, group_id=group.id)


def _pledge_periods(pledge: PledgeRec, group: GroupRec, now: datetime) -> list[Period]:
    current = tracking.current_period(pledge, group, now)
    periods = [tracking.preceding(current, group), current, tracking.following(current, group)]
    return [
        p
        for p in periods
        if not tracking.before_start(pledge, p) and not tracking.after_end(pledge, p)
    ]


def _personal(
    group: GroupRec,
    pledge: PledgeRec,
    period: Period,
    parts: list[tuple[ParticipationRec, MemberRec]],
    now: datetime,
) -> list[NewJob]:
    out = []
    for part, member in parts:
        if part.remind_off or not part.remind_slot:
            continue
        tz = member_tz(member, group)
        at = slot_in_period(parse_slot(part.remind_slot), period, tz)
        if at is None:
            continue
        due = after_quiet(at, group, tz if part.delivery == "dm" else None)
        if now < due < period.end:
            key = f"{REMIND}:g{group.id}:p{pledge.id}:m{member.id}:{period.key}"
            job = _notice(REMIND, key, due, at, group, pledge, period)
            job.payload["member_id"] = member.id
            out.append(job)
    return out


def _for_pledge(
    group: GroupRec,
    pledge: PledgeRec,
    parts: list[tuple[ParticipationRec, MemberRec]],
    now: datetime,
) -> list[NewJob]:
    jobs: list[NewJob] = []
    for period in _pledge_periods(pledge, group, now):
        close = tracking.close_time(period, group)
        if close > now:
            jobs.append(_close(group, close))
        if pledge.status != "active":
            continue  # paused: no reminders and no questions; its periods are excused
        if pledge.remind_slot:
            at = occurrence_in_period(
                parse_slot(pledge.remind_slot), period, tracking.group_tz(group)
            )
            due = after_quiet(at, group) if at else None
            if at is not None and due is not None and now < due < period.end:
                jobs.append(
                    _notice(
                        REMIND, _key(REMIND, group, pledge, period), due, at, group, pledge, period
                    )
                )
        jobs.extend(_personal(group, pledge, period, parts, now))
        # A daily pledge asks at most once a day, by its reminder; without one, at the
        # question's time of day. Either reaches only who left the day before unanswered.
        at = (
            None
            if period.cadence == "day" and pledge.remind_slot
            else prompt_time(pledge, period, group)
        )
        due = after_quiet(at, group) if at else None
        if at is not None and due is not None and now < due < close:
            jobs.append(
                _notice(PROMPT, _key(PROMPT, group, pledge, period), due, at, group, pledge, period)
            )
        # A daily pledge asks again tomorrow anyway: a "last call" each morning would double
        # its messages for nothing.
        follow = followup_time(period, group) if period.cadence != "day" else None
        if follow is not None and follow > now:
            jobs.append(
                _notice(
                    FOLLOWUP,
                    _key(FOLLOWUP, group, pledge, period),
                    follow,
                    follow,
                    group,
                    pledge,
                    period,
                )
            )
    return jobs


def _for_weeks(group: GroupRec, now: datetime) -> list[NewJob]:
    tz = tracking.group_tz(group)
    current = period_at(now, "week", tz, group.week_start)
    jobs = []
    for week in (tracking.preceding(current, group), current):
        close = tracking.close_time(week, group)
        if close > now:
            jobs.append(_close(group, close))
        due = summary_time(week, group)
        if due > now:
            payload = {"week_key": week.key}
            key = f"{SUMMARY}:g{group.id}:{week.key}"
            jobs.append(NewJob(key, SUMMARY, due, group.id, payload))
    return jobs


def plan_for_group(
    group: GroupRec,
    pledges: list[PledgeRec],
    parts: list[tuple[ParticipationRec, MemberRec]],
    now: datetime,
) -> list[NewJob]:
    """Every job the group needs from now to the end of its next period (pure)."""
    if group.archived or not pledges:
        return []
    by_pledge: dict[int, list[tuple[ParticipationRec, MemberRec]]] = {}
    for part, member in parts:
        by_pledge.setdefault(part.pledge_id, []).append((part, member))
    jobs: list[NewJob] = []
    for pledge in pledges:
        jobs.extend(_for_pledge(group, pledge, by_pledge.get(pledge.id, []), now))
    if parts:
        jobs.extend(_for_weeks(group, now))
    return list({j.dedupe_key: j for j in jobs}.values())


def plan_for_pledges(
    group: GroupRec,
    planned: list[PledgeRec],
    changed: set[int],
    parts: list[tuple[ParticipationRec, MemberRec]],
    has_participants: bool,
    now: datetime,
    member_id: int | None = None,
) -> tuple[list[NewJob], list[str]]:
    """The part of `plan_for_group` that changed pledges (or one member's part of them) own,
    with the key prefixes of that part (pure).

    `planned` is every planned pledge of the group, `parts` the changed pledges' (that
    member's) participations, `has_participants` whether the whole group has any. Closes are
    shared by every pledge whose period ends at that instant, and the weekly summary needs one
    participant in the group, so both are planned from the whole group, as a full plan would.
    """
    jobs: list[NewJob] = []
    if not group.archived and planned:
        by_pledge: dict[int, list[tuple[ParticipationRec, MemberRec]]] = {}
        for part, member in parts:
            by_pledge.setdefault(part.pledge_id, []).append((part, member))
        for pledge in planned:
            mine = pledge.id in changed
            own = by_pledge.get(pledge.id, []) if mine else []
            for job in _for_pledge(group, pledge, own, now):
                if job.kind == CLOSE or (
                    mine and (member_id is None or job.payload.get("member_id") == member_id)
                ):
                    jobs.append(job)
        if has_participants:
            jobs.extend(_for_weeks(group, now))
    prefixes = [f"{CLOSE}:g{group.id}:", f"{SUMMARY}:g{group.id}:"]
    for pledge_id in sorted(changed):
        if member_id is None:
            prefixes += [f"{kind}:g{group.id}:p{pledge_id}:" for kind in (REMIND, PROMPT, FOLLOWUP)]
        else:
            prefixes.append(f"{REMIND}:g{group.id}:p{pledge_id}:m{member_id}:")
    return list({j.dedupe_key: j for j in jobs}.values()), prefixes


def snooze_until(verb: str, now: datetime, tz: ZoneInfo) -> datetime:
    """1 hour, tonight (20:00, or an hour if it is later) or tomorrow at 09:00, local to tz."""
    if verb == "snooze1h":
        return now + timedelta(hours=1)
    local = now.astimezone(tz)
    if verb == "snoozetonight":
        tonight = resolve_local(local.date(), time(20, 0), tz)
        return tonight if tonight > now + timedelta(minutes=30) else now + timedelta(hours=1)
    tomorrow = local.date() + timedelta(days=1)
    return resolve_local(tomorrow, time(9, 0), tz)


def snooze_job(
    member: MemberRec, pledge: PledgeRec, group: GroupRec, period_key: str, until: datetime
) -> NewJob:
    """A one-off reminder for one member: the group's schedule does not move."""
    key = f"{SNOOZE}:g{group.id}:p{pledge.id}:m{member.id}:{period_key}:{until.isoformat()}"
    payload = {
        "pledge_id": pledge.id,
        "period_key": period_key,
        "member_id": member.id,
        "at": until.isoformat(),
    }
    return NewJob(
        dedupe_key=key[:255], kind=SNOOZE, due_at=until, group_id=group.id, payload=payload
    )
