"""The weekly summary of a closed week: kept rate, group streak, who kept, vouches, milestones."""

from __future__ import annotations

from collections.abc import Sequence

from bot.messages.boards import capped_names
from bot.messages.instants import mark
from bot.messages.markup import inert
from bot.messages.picture_data import group_picture
from bot.messages.replies import Reply, Visibility
from bot.rules import pledge_periods as tracking
from bot.rules import streaks
from bot.rules.periods import Period, describe, period_from_key
from storage import closing as close_queries
from storage import events as event_queries
from storage import pledges as pledge_queries
from storage import scheduling as round_queries
from storage.records import AttendanceRec, EventRec, GroupRec, GroupWeekRec, PledgeRec

# A summary is one message: in a group of thousands it names some and counts the rest.
MILESTONES_SHOWN = 10

UNIT = {"day": "days", "week": "weeks", "month": "months"}


def _rate_line(
    week: GroupWeekRec | None, group: GroupRec, totals: Sequence[round_queries.WeekTotal]
) -> str:
    target = round(group.threshold * 100)
    if week is not None:
        kept, missed, met = week.kept, week.missed, week.met
    else:
        kept, missed = streaks.week_units((t.kept, t.missed) for t in totals)
        met = streaks.week_met(kept, missed, group.threshold)
    if kept + missed == 0:
        return f"No answers to count this week (target {target}% kept)."
    verdict = "the group met its target" if met else "next week is a fresh start"
    return f"Kept rate: {streaks.percent(kept, missed)}% (target {target}%) — {verdict}."


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
    totals: Sequence[round_queries.WeekTotal],
    pledges: dict[int, PledgeRec],
    vouchers: dict[int, list[str]],
) -> str:
    """The text for a closed week.

    `totals`: one row per participation with its week's outcomes counted (see
    `storage.scheduling.week_totals`), in the order the periods were closed; rows of pledges
    not in `pledges` are left out. `vouchers`: participation -> inert voucher names. The rate
    line is the group's week as it was closed (`week_rec`, what the group streak was decided
    on); only without that record is it counted from the rows shown.
    """
    lines = [f"**The {describe(week)} in {inert(group.name) or 'this group'}**"]
    shown = [t for t in totals if t.pledge_id in pledges]
    lines.append(_rate_line(week_rec, group, shown))
    per_pledge: dict[str, list[int]] = {}
    cadences = {p.title: p.cadence for p in pledges.values()}
    celebrated: set[str] = set()
    milestones: list[str] = []
    missed: set[str] = set()
    names: dict[str, str] = {}  # raw -> inert: a member has a row per pledge
    for pid, _first, pledge_id, streak, raw, kept, missed_n, counted, _keys in totals:
        pledge = pledges.get(pledge_id)
        if pledge is None:
            continue
        tally = per_pledge.get(pledge.title)
        if tally is None:
            tally = per_pledge[pledge.title] = [0, 0]
        tally[0] += kept
        tally[1] += counted
        if missed_n == 0 and kept == 0:
            continue  # only excused: neither celebrated nor missed
        name = names.get(raw)
        if name is None:
            name = names[raw] = inert(raw)
        if missed_n:
            missed.add(name)
            continue
        by = vouchers.get(pid)
        celebrated.add(name + (f" (vouched by {', '.join(by)})" if by else ""))
        if streaks.milestone(streak):
            run = f"{streak} {UNIT[pledge.cadence]}"
            milestones.append(f"🏅 {name}: {run} in a row of **{inert(pledge.title)}**")
    for title, (kept, counted) in per_pledge.items():
        if counted == 0:
            continue  # everyone new or excused: nothing to count yet
        days = " days" if cadences.get(title) == "day" else ""
        lines.append(f"• **{inert(title)}**: {kept} of {counted}{days} kept")
    if celebrated:
        lines.append("Kept it: " + capped_names(sorted(celebrated)) + " 🎉")
    lines.extend(milestones[:MILESTONES_SHOWN])
    if len(milestones) > MILESTONES_SHOWN:
        lines.append(f"🏅 …and {len(milestones) - MILESTONES_SHOWN} more milestones this week.")
    if group.name_missed and missed:
        lines.append("Not this time: " + capped_names(sorted(missed)))
    lines.append(_streak_line(group, week_rec))
    return "\n".join(lines)


def event_lines(
    group: GroupRec, events: Sequence[EventRec], attendance: Sequence[AttendanceRec]
) -> list[str]:
    """The week's events and how many went, naming them as the summary names who kept a
    pledge; never who did not make it (issue 14)."""
    tz = tracking.group_tz(group)
    lines = []
    for e in events:
        went = sorted(inert(a.display_name) for a in attendance if a.event_id == e.id and a.went)
        head = f"📅 **{inert(e.title)}** ({mark(e.starts_at, tz, 'd')})"
        if not went:
            lines.append(f"{head}: no one has said they went yet.")
            continue
        lines.append(f"{head}: {len(went)} went — {capped_names(went)} 🎉")
    return lines


async def closed_week_summary(group: GroupRec, week_key: str) -> Reply | None:
    """The summary message of a closed week, or None when the group has nobody to report on.

    Six queries at any group size (two for the week's events); the database counts the
    outcomes (one row per participation comes back, not one per outcome).
    """
    tz = tracking.group_tz(group)
    week = period_from_key(week_key, tz, group.week_start)
    totals = await round_queries.week_totals(group.id, week.start, week.end)
    events = await event_queries.events_between(group.id, week.start, week.end)
    if not totals and not events:
        return None
    weeks = await close_queries.recent_group_weeks(group.id, limit=8)
    week_rec = next((w for w in weeks if w.week_key == week_key), None)
    pledges = {
        p.id: p
        for p in await pledge_queries.group_pledges(group.id, ("active", "paused", "archived"))
    }
    keys: set[str] = set()
    for joined in {t.period_keys for t in totals}:
        keys.update(joined.split(","))
    vouchers: dict[int, list[str]] = {}
    for pid, voucher in await round_queries.week_vouchers(group.id, keys):
        vouchers.setdefault(pid, []).append(inert(voucher))
    text = render_closed_week(group, week, week_rec, totals, pledges, vouchers)
    if events:
        attended = await event_queries.attendance(e.id for e in events)
        head, _, tail = text.rpartition("\n")  # the events go before the group streak line
        text = "\n".join([head, *event_lines(group, events, attended), tail])
    picture = await group_picture(group)
    if picture is None:
        return Reply(text=text, visibility=Visibility.PUBLIC)
    return Reply(
        text=text,
        visibility=Visibility.PUBLIC,
        image=picture.png,
        image_name=picture.filename,
        image_alt=picture.alt,
        image_size=(picture.width, picture.height),
    )
