"""The weekly summary of a closed week: kept rate, group streak, who kept, vouches, milestones."""

from __future__ import annotations

from collections.abc import Sequence

from bot import streaks, tracking
from bot.markup import inert
from bot.periods import Period, describe, period_from_key
from bot.replies import Reply, Visibility
from storage import checkins as checkin_queries
from storage import closing as close_queries
from storage import pledges as pledge_queries
from storage import scheduling as round_queries
from storage.records import GroupRec, GroupWeekRec, MemberRec, OutcomeRec, ParticipationRec

UNIT = {"day": "days", "week": "weeks", "month": "months"}


def _rate_line(week: GroupWeekRec | None, group: GroupRec) -> str:
    target = round(group.threshold * 100)
    if week is None or week.kept + week.missed == 0:
        return f"No answers to count this week (target {target}% kept)."
    rate = round(100 * week.kept / (week.kept + week.missed))
    verdict = "the group met its target" if week.met else "next week is a fresh start"
    return f"Kept rate: {rate}% (target {target}%) — {verdict}."


def _streak_line(group: GroupRec, week: GroupWeekRec | None) -> str:
    streak = week.streak if week else group.group_streak
    word = "week" if streak == 1 else "weeks"
    line = f"Group streak: {streak} {word} (best {max(group.best_group_streak, streak)})."
    if week is not None and week.met and streaks.milestone(week.streak):
        line += f" 🏅 {week.streak} weeks in a row together!"
    return line


def render_closed_week(
    group: GroupRec,
    week: Period,
    week_rec: GroupWeekRec | None,
    outcomes: Sequence[tuple[OutcomeRec, int]],
    parts: dict[int, tuple[ParticipationRec, MemberRec, str, str]],
    vouchers: dict[int, list[str]],
) -> str:
    """The text for a closed week; `parts`: participation -> (part, member, title, cadence)."""
    lines = [f"**The {describe(week)} in {inert(group.name) or 'this group'}**"]
    lines.append(_rate_line(week_rec, group))
    per_pledge: dict[str, list[OutcomeRec]] = {}
    kept_by: dict[int, bool] = {}
    # A set, not a scan of `outcomes` per member: that was quadratic (8 s at 5,000 members).
    kept_some = {o.participation_id for o, _ in outcomes if o.outcome == "kept"}
    for outcome, _member_id in outcomes:
        info = parts.get(outcome.participation_id)
        if info is None:
            continue
        per_pledge.setdefault(info[2], []).append(outcome)
        ok = outcome.outcome != "missed"
        kept_by[outcome.participation_id] = kept_by.get(outcome.participation_id, True) and ok
    for title, got in per_pledge.items():
        kept = sum(1 for o in got if o.outcome == "kept")
        counted = sum(1 for o in got if o.outcome != "excused")
        if counted == 0:
            continue  # everyone new or excused: nothing to count yet
        lines.append(f"• **{inert(title)}**: {kept} of {counted} kept")
    celebrated: list[str] = []
    milestones: list[str] = []
    missed: list[str] = []
    for pid, ok in kept_by.items():
        part, member, title, cadence = parts[pid]
        kept_any = pid in kept_some
        name = inert(member.display_name)
        if ok and kept_any:
            by = vouchers.get(pid)
            celebrated.append(name + (f" (vouched by {', '.join(by)})" if by else ""))
            if streaks.milestone(part.current_streak):
                run = f"{part.current_streak} {UNIT[cadence]}"
                milestones.append(f"🏅 {name}: {run} in a row of **{inert(title)}**")
        elif not ok:
            missed.append(name)
    if celebrated:
        lines.append("Kept it: " + ", ".join(sorted(set(celebrated))) + " 🎉")
    lines.extend(milestones)
    if group.name_missed and missed:
        lines.append("Not this time: " + ", ".join(sorted(set(missed))))
    lines.append(_streak_line(group, week_rec))
    return "\n".join(lines)


async def closed_week_summary(group: GroupRec, week_key: str) -> Reply | None:
    """The summary message of a closed week, or None when the group has nobody to report on."""
    tz = tracking.group_tz(group)
    week = period_from_key(week_key, tz, group.week_start)
    outcomes = await round_queries.week_outcomes(group.id, week.start, week.end)
    if not outcomes:
        return None
    weeks = await close_queries.recent_group_weeks(group.id, limit=8)
    week_rec = next((w for w in weeks if w.week_key == week_key), None)
    pledges = await pledge_queries.group_pledges(group.id, ("active", "paused", "archived"))
    rows = await round_queries.active_participations([p.id for p in pledges], active_only=False)
    by_id = {p.id: p for p in pledges}
    parts = {
        part.id: (part, member, by_id[part.pledge_id].title, by_id[part.pledge_id].cadence)
        for part, member in rows
    }
    ids = list({o.participation_id for o, _ in outcomes})
    keys = list({o.period_key for o, _ in outcomes})
    vouchers: dict[int, list[str]] = {}
    for v in await checkin_queries.vouches(ids, keys):
        vouchers.setdefault(v.participation_id, []).append(inert(v.voucher_name))
    text = render_closed_week(group, week, week_rec, outcomes, parts, vouchers)
    return Reply(text=text, visibility=Visibility.PUBLIC)
