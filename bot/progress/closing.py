"""Closing ended periods into outcomes and streaks, and closed weeks into the group streak."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.rules import pledge_periods as tracking
from bot.rules import streaks
from bot.rules.periods import Period, period_at
from storage import checkins as checkin_queries
from storage import closing as close_queries
from storage import deferred as deferred_queries
from storage import groups as group_queries
from storage import scheduling as round_queries
from storage.records import (
    GroupRec,
    GroupWeekRec,
    OutcomeRec,
    ParticipationRec,
    PeriodTally,
    PledgeRec,
    StreakUpdate,
)

BATCH = 2000
MAX_PERIODS_PER_PASS = 800  # a daily pledge left alone for two years still closes in a few passes


@dataclass
class CloseReport:
    outcomes: list[OutcomeRec] = field(default_factory=list)
    weeks: list[GroupWeekRec] = field(default_factory=list)
    groups_touched: set[int] = field(default_factory=set)


def _periods_to_close(
    part: ParticipationRec, pledge: PledgeRec, group: GroupRec, now: datetime
) -> tuple[list[Period], Period]:
    """Closable periods of a participation, oldest first, and the first one left open."""
    if part.closed_through:
        closed = tracking.period_by_key(pledge, group, part.closed_through)
        realigned = tracking.aligned(closed, group, after=True)
        # After a week-start change, go on with the new-calendar week that holds the old
        # week's end: its first days were already closed, the rest is still open.
        first = tracking.following(closed, group) if realigned is closed else realigned
    else:
        first = tracking.aligned(
            tracking.period_by_key(pledge, group, part.first_period), group, after=False
        )
    periods: list[Period] = []
    p = first
    while tracking.close_time(p, group) <= now and len(periods) < MAX_PERIODS_PER_PASS:
        periods.append(p)
        p = tracking.following(p, group)
    return periods, p


def _state(part: ParticipationRec) -> streaks.StreakState:
    return streaks.StreakState(
        current=part.current_streak,
        best=part.best_streak,
        strength=part.strength,
        freezes=part.freezes,
        kept_toward_freeze=part.kept_toward_freeze,
    )


def _close_one(
    part: ParticipationRec,
    pledge: PledgeRec,
    group: GroupRec,
    periods: list[Period],
    left_open: Period,
    tallies: dict[tuple[int, str], PeriodTally],
) -> tuple[list[OutcomeRec], StreakUpdate]:
    state = _state(part)
    outcomes: list[OutcomeRec] = []
    closed_through = part.closed_through
    finished = pledge.status == "archived" or not part.active
    for period in periods:
        closed_through = period.key
        if tracking.before_start(pledge, period):
            continue
        if tracking.after_end(pledge, period):
            finished = True
            break
        tally = tallies.get((part.id, period.key))
        done = tally.done if tally else 0
        skipped = bool(tally and tally.skipped)
        joined_late = period.key == part.first_period and part.joined_at > period.start
        excused = skipped or tracking.paused_during(pledge, group, period) or joined_late
        outcome = streaks.outcome_for(done, pledge.target, excused)
        state = streaks.apply_outcome(
            state, outcome, done=done, target=pledge.target, period_days=period.days
        )
        outcomes.append(
            OutcomeRec(
                participation_id=part.id,
                group_id=group.id,
                period_key=period.key,
                period_end=period.end,
                outcome=outcome,
                done=done,
            )
        )
    if pledge.end_date is not None and tracking.after_end(pledge, left_open):
        finished = True
    next_close = tracking.FAR_FUTURE if finished else tracking.close_time(left_open, group)
    update = StreakUpdate(
        participation_id=part.id,
        current_streak=state.current,
        best_streak=state.best,
        strength=state.strength,
        freezes=state.freezes,
        kept_toward_freeze=state.kept_toward_freeze,
        closed_through=closed_through,
        next_close_at=next_close,
        active=part.active,
    )
    return outcomes, update


async def close_participations(now: datetime, report: CloseReport, group_id: int | None) -> None:
    while True:
        due = await close_queries.due_participations(now, group_id, limit=BATCH)
        if not due:
            return
        plans = [(row, *_periods_to_close(row[0], row[1], row[2], now)) for row in due]
        keys = list({p.key for _, periods, _ in plans for p in periods})
        ids = [row[0].id for row, _, _ in plans]
        tallies = await checkin_queries.tallies(ids, keys)
        outcomes: list[OutcomeRec] = []
        updates: list[StreakUpdate] = []
        for (part, pledge, group), periods, left_open in plans:
            got, update = _close_one(part, pledge, group, periods, left_open, tallies)
            outcomes.extend(got)
            updates.append(update)
            report.groups_touched.add(group.id)
        await close_queries.record_closes(outcomes, updates, now)
        report.outcomes.extend(outcomes)
        if len(due) < BATCH and all(u.next_close_at > now for u in updates):
            return


async def close_weeks(group: GroupRec, now: datetime, report: CloseReport) -> None:
    """Close every week of the group whose grace window has ended, in order."""
    tz = tracking.group_tz(group)
    start_from = (
        group.weeks_closed_through
        or period_at(group.created_at, "week", tz, group.week_start).start
    )
    week = period_at(start_from, "week", tz, group.week_start)
    # Count from where the last closed week ended, not from this week's start: after a zone
    # change the two differ, and every outcome must count in exactly one week.
    counted_through = group.weeks_closed_through or week.start
    streak = group.group_streak
    while tracking.close_time(week, group) <= now:
        counts = await close_queries.week_counts(group.id, counted_through, week.end)
        totals = await round_queries.week_totals(group.id, counted_through, week.end)
        kept, missed = streaks.week_units((t.kept, t.missed) for t in totals)
        met = streaks.week_met(kept, missed, group.threshold)
        after = streaks.next_group_streak(streak, met)
        rec = GroupWeekRec(
            group_id=group.id,
            week_key=week.key,
            kept=kept,
            missed=missed,
            excused=counts.get("excused", 0),
            met=met,
            streak=after,
        )
        nxt = tracking.following(week, group)
        if await close_queries.record_group_week(rec, nxt.start, now):
            report.weeks.append(rec)
            streak, counted_through = after, nxt.start
        week = nxt


async def close_due(
    now: datetime, group_id: int | None = None, group: GroupRec | None = None
) -> CloseReport:
    """Close everything that has ended up to `now`; safe to call any number of times.

    With `group` (a fresh record of the group `group_id`), the group is not read again.
    """
    report = CloseReport()
    if (
        group is not None
        and group.id == group_id
        and await close_queries.nothing_due(group_id, now)
    ):
        # A command in a group with nothing due (the usual case): its week may still close.
        await close_weeks(group, now, report)
        return report
    await switch_week_starts(now, group_id, report)
    await close_participations(now, report, group_id)
    if group_id is not None:
        if group is None or group.id != group_id:
            group = await group_queries.get_group(group_id)
        groups = [group] if group else []
    else:
        groups = await group_queries.active_groups()
    for group in groups:
        await close_weeks(group, now, report)
    return report


async def switch_week_starts(now: datetime, group_id: int | None, report: CloseReport) -> None:
    """Apply week-start changes whose time has come: the week they waited for closes under
    the old calendar first, then the old calendar's next week, open since, is read again in
    the new one (its answers and joins keep the weeks they were made in)."""
    for change in await deferred_queries.due(now, group_id):
        group = await group_queries.get_group(change.group_id)
        if group is None or change.field != "week_start":
            await deferred_queries.applied(change.id, now)
            continue
        # A zone change may have moved the waited week's close into the past, after its
        # participations were made due at a later instant: close it at its own close, in the
        # old calendar, before the calendar changes.
        await close_queries.close_again_now(group.id, change.at, tracking.FAR_FUTURE)
        await close_participations(change.at, report, group.id)
        await close_weeks(group, change.at, report)
        group = await group_queries.get_group(group.id) or group
        new_start = int(change.value)
        tz = tracking.group_tz(group)
        waited = _waited_week(group, change)
        old = tracking.following(waited, group)  # the old calendar's week open since
        checkins, parts = await close_queries.week_rows(group.id, old.key)
        switched = await close_queries.switch_week_start(
            change.id,
            group.id,
            new_start,
            {i: period_at(t, "week", tz, new_start).key for i, t in checkins},
            {i: period_at(t, "week", tz, new_start).key for i, t in parts},
            now,
        )
        if switched:
            # The new calendar's first week may close sooner than the old one would have.
            await close_queries.close_again_now(group.id, now, tracking.FAR_FUTURE)
            report.groups_touched.add(group.id)


def _waited_week(group: GroupRec, change: deferred_queries.Deferred) -> Period:
    key = change.extra.get("week")
    if isinstance(key, str):
        return tracking.read_key(group, key)
    return tracking.preceding(
        period_at(change.at, "week", tracking.group_tz(group), group.week_start), group
    )


async def retime_week_start(group: GroupRec) -> None:
    """After a zone or grace change, a waiting week start waits for its week's new close."""
    for change in await deferred_queries.waiting(group.id):
        if change.field == "week_start":
            at = tracking.close_time(_waited_week(group, change), group)
            await deferred_queries.retime(change.id, at)
