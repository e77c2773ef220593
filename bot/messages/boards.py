"""Read-only views: the pledge board, streaks and the weekly summary (constant SQL per group)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.errors import UserError
from bot.messages.instants import mark
from bot.messages.markup import inert
from bot.messages.replies import MentionRef
from bot.messages.syntax import CMD
from bot.rules import pledge_periods as tracking
from bot.rules import streaks
from bot.rules.periods import Period, describe
from bot.rules.slots import next_occurrence, parse_slot
from storage import board_reads
from storage import checkins as checkin_queries
from storage import closing as close_queries
from storage import pledges as pledge_queries
from storage.records import (
    GroupRec,
    MemberRec,
    ParticipantRow,
    ParticipationRec,
    PeriodTally,
    PledgeRec,
    VouchRec,
)

NAMES_SHOWN = 12  # beyond this many participants, lists show totals instead of every name
NAMES_CELEBRATED = 30

THIS_PERIOD = {"day": "today", "week": "this week", "month": "this month"}
CADENCE_WORD = {"day": "day", "week": "week", "month": "month"}
LIVE = ("active", "paused")


def cadence_text(pledge: PledgeRec) -> str:
    times = "once" if pledge.target == 1 else f"{pledge.target}×"
    return f"{times} a {CADENCE_WORD[pledge.cadence]}"


def pledge_line(pledge: PledgeRec, group: GroupRec, now: datetime) -> str:
    extra = []
    if tracking.is_paused(pledge, group, now):
        until = f" until {pledge.paused_until.isoformat()}" if pledge.paused_until else ""
        extra.append(f"paused{until}")
    if pledge.remind_slot:
        extra.append(f"reminder {slot_text(pledge.remind_slot, group, now)}")
    if pledge.end_date:
        ended = pledge.end_date < tracking.today(group, now)
        extra.append(f"{'ended' if ended else 'until'} {pledge.end_date.isoformat()}")
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"`{pledge.number}` **{inert(pledge.title)}** — {cadence_text(pledge)}{tail}"


def slot_text(slot_text: str, group: GroupRec, now: datetime) -> str:
    """A reminder slot as its next occurrence, marked: `thu 18:00` in the group's zone, and the
    time in each reader's own zone on Discord."""
    try:
        slot = parse_slot(slot_text)
    except UserError:
        return slot_text
    tz = tracking.group_tz(group)
    style = "slotday" if slot.weekday is None else "slot"
    return mark(next_occurrence(slot, now, tz), tz, style)


@dataclass(frozen=True)
class Board:
    group: GroupRec
    pledges: list[PledgeRec]
    parts: dict[int, list[ParticipantRow]]
    periods: dict[int, Period]
    late: dict[int, Period | None]
    done: dict[tuple[int, str], int]
    vouches: list[VouchRec]


async def load_board(
    group: GroupRec,
    now: datetime,
    statuses: tuple[str, ...] = LIVE,
    member_id: int | None = None,
    *,
    with_vouches: bool = False,
) -> Board:
    """Pledges, participants and this period's counts; only one member's when `member_id`;
    this period's vouches too when `with_vouches` (only the summary names vouchers)."""
    pledges = await pledge_queries.group_pledges(group.id, statuses)
    periods = {p.id: tracking.current_period(p, group, now) for p in pledges}
    late = {p.id: tracking.period_in_grace(p, group, now) for p in pledges}
    keys = {period.key for period in periods.values()}
    keys |= {period.key for period in late.values() if period is not None}
    # By pledge (and member): the same size at any group size, one statement.
    read = await board_reads.board_rows(
        [p.id for p in pledges],
        member_id,
        sorted(keys),
        sorted({p.key for p in periods.values()}) if with_vouches else (),
    )
    parts: dict[int, list[ParticipantRow]] = {p.id: [] for p in pledges}
    for row in read.participants:
        parts[row.pledge_id].append(row)
    return Board(
        group=group,
        pledges=pledges,
        parts=parts,
        periods=periods,
        late=late,
        done=read.done,
        vouches=read.vouches,
    )


def render_board(group: GroupRec, board: Board, now: datetime, viewer_id: int = 0) -> str:
    if not board.pledges:
        return f'No pledges here yet. Start one: `{CMD}pledge new "Call a neighbour" per week`.'
    lines = []
    for pledge in board.pledges:
        period = board.periods[pledge.id]
        lines.append(pledge_line(pledge, group, now))
        members = board.parts[pledge.id]
        if not members:
            lines.append("  nobody has joined yet")
            continue
        if tracking.after_end(pledge, period):
            # An ended pledge has no open period, except its last one while in grace.
            late = board.late.get(pledge.id)
            if late is None or tracking.after_end(pledge, late):
                lines.append("  ended: nothing left to answer")
                continue
            period = late
        counts = [board.done.get((part.id, period.key), 0) for part in members]
        if len(members) > NAMES_SHOWN:
            # A big group's list stays short: totals, and the caller's own line.
            kept = sum(1 for c in counts if c >= pledge.target)
            mine = [
                (part, c)
                for part, c in zip(members, counts, strict=True)
                if part.member_id == viewer_id
            ]
            you = f"; you {_mark(mine[0][1], pledge.target)}" if mine else ""
            lines.append(f"  {describe(period)}: {len(members)} taking part, {kept} kept it{you}")
            continue
        done_names = [
            f"{inert(part.display_name)} {_mark(count, pledge.target)}"
            for part, count in zip(members, counts, strict=True)
        ]
        ended = " (the last one, still open)" if period.key != board.periods[pledge.id].key else ""
        lines.append(f"  {describe(period)}{ended}: " + ", ".join(done_names))
    return "\n".join(lines)


def _mark(count: int, target: int) -> str:
    return "✅" if count >= target else f"{count}/{target}"


def _kept_now(board: Board, pledge: PledgeRec, part: ParticipantRow) -> bool:
    period = board.periods[pledge.id]
    return board.done.get((part.id, period.key), 0) >= pledge.target


def streak_shown(
    streak: int,
    best: int,
    target: int,
    closed_end: datetime | None,
    open_done: Sequence[tuple[Period, int]],
) -> tuple[int, int]:
    """Streak and best as members see them: the closed streak, plus every period that has not
    closed yet (the one in grace and the current one) once it is kept; it never breaks it.

    `closed_end`: the end of the participation's last closed period (after the group's zone
    moved west, the current period may be one that closed already).
    """
    kept = sum(
        1
        for period, done in open_done
        if done >= target and (closed_end is None or period.end > closed_end)
    )
    return streaks.shown_streak(
        streaks.StreakState(current=streak + kept, best=best), current_period_kept=False
    )


def closed_end(pledge: PledgeRec, group: GroupRec, closed_through: str | None) -> datetime | None:
    if not closed_through:
        return None
    return tracking.period_by_key(pledge, group, closed_through).end


def shown(board: Board, pledge: PledgeRec, part: ParticipantRow) -> tuple[int, int]:
    """Streak and best as `!streak` shows them (see `streak_shown`)."""
    periods = [p for p in (board.late.get(pledge.id), board.periods[pledge.id]) if p is not None]
    return streak_shown(
        part.current_streak,
        part.best_streak,
        pledge.target,
        closed_end(pledge, board.group, part.closed_through),
        [(p, board.done.get((part.id, p.key), 0)) for p in periods],
    )


async def streak_now(
    pledge: PledgeRec, group: GroupRec, part: ParticipationRec, now: datetime
) -> tuple[int, int]:
    """`shown` for one participation: what `!streak` would show right now (one query)."""
    tallies = await checkin_queries.tallies([part.id], streak_periods(pledge, group, now))
    return streak_from(pledge, group, part, now, tallies)


def streak_periods(pledge: PledgeRec, group: GroupRec, now: datetime) -> list[str]:
    """The keys of the periods `streak_from` needs the tallies of (the open ones)."""
    late = tracking.period_in_grace(pledge, group, now)
    current = tracking.current_period(pledge, group, now)
    return [p.key for p in (late, current) if p is not None]


def streak_from(
    pledge: PledgeRec,
    group: GroupRec,
    part: ParticipationRec,
    now: datetime,
    tallies: Mapping[tuple[int, str], PeriodTally],
) -> tuple[int, int]:
    """`streak_now` from tallies in hand (a command that just read and changed them)."""
    current = tracking.current_period(pledge, group, now)
    late = tracking.period_in_grace(pledge, group, now)
    periods = [p for p in (late, current) if p is not None]
    return streak_shown(
        part.current_streak,
        part.best_streak,
        pledge.target,
        closed_end(pledge, group, part.closed_through),
        [(p, t.done if (t := tallies.get((part.id, p.key))) else 0) for p in periods],
    )


def render_streaks(board: Board, member: MemberRec, title: str) -> str:
    lines = [title]
    for pledge in board.pledges:
        for part in board.parts[pledge.id]:
            if part.member_id != member.id:
                continue
            now_streak, best = shown(board, pledge, part)
            unit = CADENCE_WORD[pledge.cadence] + ("s" if now_streak != 1 else "")
            lines.append(
                f"`{pledge.number}` **{inert(pledge.title)}**: streak {now_streak} {unit} "
                f"(best {best}), strength {round(part.strength * 100)}%, "
                f"freezes {part.freezes}"
            )
    if len(lines) == 1:
        lines.append(f"No pledges yet. `{CMD}pledge list` shows what you can join.")
    return "\n".join(lines)


async def render_summary(
    group: GroupRec, now: datetime, *, final: bool = False
) -> tuple[str, tuple[MentionRef, ...]]:
    """This week so far (or, when `final`, the week just closed): celebrate, never shame."""
    board = await load_board(group, now, with_vouches=True)
    weeks = await close_queries.recent_group_weeks(group.id, limit=1)
    lines = [f"**This week in {inert(group.name) or 'this group'}**"]
    kept_names: list[str] = []
    vouched = {v.participation_id: v.voucher_name for v in board.vouches}
    missing = 0
    for pledge in board.pledges:
        members = board.parts[pledge.id]
        if not members or tracking.after_end(pledge, board.periods[pledge.id]):
            continue
        done_here = [part for part in members if _kept_now(board, pledge, part)]
        lines.append(
            f"• **{inert(pledge.title)}**: {len(done_here)} of {len(members)} kept it "
            f"{THIS_PERIOD[pledge.cadence]}"
        )
        for part in done_here:
            by = f" (vouched by {inert(vouched[part.id])})" if part.id in vouched else ""
            kept_names.append(inert(part.display_name) + by)
        if group.name_missed:
            names = [
                inert(part.display_name) for part in members if not _kept_now(board, pledge, part)
            ]
            missing += len(names)
            if names:
                lines.append("  still open: " + capped_names(names))
    if kept_names:
        lines.append("Kept so far: " + capped_names(sorted(set(kept_names))) + " 🎉")
    else:
        lines.append("Nothing confirmed yet this week — there's still time to log off and do it.")
    streak = group.group_streak
    best = group.best_group_streak
    word = "week" if streak == 1 else "weeks"
    lines.append(
        f"Group streak: {streak} {word} (best {best}); target {round(group.threshold * 100)}% kept."
    )
    if weeks:
        w = weeks[0]
        if w.kept + w.missed:
            lines.append(f"Last closed week: {streaks.percent(w.kept, w.missed)}% kept.")
        hit = streaks.milestone(w.streak) if w.met else None
        if hit:
            lines.append(f"🏅 {hit} weeks in a row together!")
    return "\n".join(lines), ()


def capped_names(names: list[str]) -> str:
    """A list of names that stays readable in a group of thousands."""
    if len(names) <= NAMES_CELEBRATED:
        return ", ".join(names)
    return ", ".join(names[:NAMES_CELEBRATED]) + f" and {len(names) - NAMES_CELEBRATED} more"
