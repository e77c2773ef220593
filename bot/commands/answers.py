"""Answer commands: done, undo, skip and vouch; the one-tap buttons reuse `answer`."""

from __future__ import annotations

from datetime import datetime

from bot import answers, tracking
from bot.commands.pledges import PLEDGE_ARG
from bot.errors import UserError
from bot.invocation import Invocation
from bot.markup import inert
from bot.periods import Period, describe
from bot.registry import Arg, Command, Registry, Role
from bot.replies import Reply, private
from bot.streaks import StreakState, shown_streak
from storage import pledges as pledge_queries
from storage.records import GroupRec, MemberRec, PledgeRec

KIND_WORDS = {"done": "Done", "not": "Not this time", "skip": "Skipped"}


async def answer(
    pledge: PledgeRec,
    group: GroupRec,
    member: MemberRec,
    kind: str,
    note: str,
    event_key: str,
    now: datetime,
    period_key: str | None = None,
) -> Reply:
    """Record done / not / skip for the member's participation; the same for typing and tapping."""
    if pledge.status == "archived":
        raise UserError(f"“{inert(pledge.title)}” is archived.")
    part = await answers.participation_or_refuse(pledge, member)
    current = tracking.current_period(pledge, group, now)
    if period_key is not None:
        period, late = answers.check_open(pledge, group, part, period_key, now), False
        late = period.key != current.key
    else:
        period, late = await answers.choose_period(pledge, group, part, now)
        # After the group's zone moved west, "now" may lie in a period that closed already
        # or that began before this member joined.
        if part.closed_through == period.key or not answers.counts_for(part, pledge, group, period):
            raise UserError(
                f"The {describe(period)} is not open for your answers any more.",
                "Answer again once the next period has begun.",
            )
    done, skipped, _ = await answers.done_count(part, period)
    label = answers.period_label(period, current)
    if kind == "done" and done >= pledge.target:
        existing = await answers.record_lookup(part, event_key)
        if existing is None:
            return private(
                f"“{inert(pledge.title)}” is already kept {label} ({done}/{pledge.target}). "
                "Enjoy the time offline!"
            )
    if kind == "skip" and skipped:
        return private(f"{label.capitalize()} is already excused for “{inert(pledge.title)}”.")
    checkin, created = await answers.record(part, period, kind, note, event_key, now)
    done2 = done + 1 if created and kind == "done" else done
    return private(
        _confirmation(
            pledge,
            part.current_streak,
            part.best_streak,
            kind,
            done2,
            period,
            label,
            late,
            checkin.event_key != event_key,
        )
    )


def _confirmation(
    pledge: PledgeRec,
    streak: int,
    best: int,
    kind: str,
    done: int,
    period: Period,
    label: str,
    late: bool,
    _dup: bool,
) -> str:
    title = inert(pledge.title)
    when = f" for {label} ({describe(period)})" if late else f" {label}"
    if kind == "done":
        kept = done >= pledge.target
        state = StreakState(current=streak, best=best)
        now_streak, _ = shown_streak(state, kept and not late)
        progress = f"{done}/{pledge.target}"
        tail = f" Streak: {now_streak}." if kept else f" {pledge.target - done} to go."
        return f"✅ **{title}** — {progress}{when}.{tail}"
    if kind == "not":
        return f"Noted: not {label} for **{title}**. No pressure — next time is a fresh start."
    return (
        f"⏭ **{title}** is excused{when}. Your streak is safe; a freeze was used "
        f"(`!undo {pledge.number}` gives it back)."
    )


async def done(inv: Invocation) -> Reply:
    return await answer(
        inv.args["pledge"],
        inv.need_group(),
        inv.member,
        "done",
        inv.args.get("note") or "",
        inv.event_key,
        inv.now,
    )


async def skip(inv: Invocation) -> Reply:
    return await answer(
        inv.args["pledge"],
        inv.need_group(),
        inv.member,
        "skip",
        inv.args["reason"],
        inv.event_key,
        inv.now,
    )


async def undo(inv: Invocation) -> Reply:
    pledge: PledgeRec = inv.args["pledge"]
    group = inv.need_group()
    part = await answers.participation_or_refuse(pledge, inv.member)
    last = await answers.undo_last(pledge, group, part, inv.now)
    extra = " Your freeze is back." if last.kind == "skip" else ""
    return private(
        f"Took back your “{answers.KIND_LABEL.get(last.kind, last.kind)}” for "
        f"**{inert(pledge.title)}** "
        f"({describe(tracking.period_by_key(pledge, group, last.period_key))})."
        f"{extra}"
    )


async def vouch(inv: Invocation) -> Reply:
    pledge: PledgeRec = inv.args["pledge"]
    target: MemberRec = inv.args["member"]
    group = inv.need_group()
    await answers.vouch_for(pledge, group, inv.member, target, inv.now)
    return private(
        f"You vouched for {inert(target.display_name)} on **{inert(pledge.title)}**. "
        "It will show in the weekly summary."
    )


async def participants_ids(pledge: PledgeRec) -> set[int]:
    return {m.id for _, m in await pledge_queries.participations([pledge.id])}


def register(reg: Registry) -> None:
    reg.add(
        Command(
            ("done",),
            "Confirm you did it this period (the ✅ button does the same)",
            "done 1 went with Sam",
            done,
            args=(PLEDGE_ARG, Arg("note", "text", "a short note", required=False, max_len=300)),
            who=Role.PARTICIPANT,
            details="Right after a period ends, during its grace window, an unanswered period "
            "is confirmed first.",
        )
    )
    reg.add(
        Command(
            ("undo",),
            "Take back your last answer in the open period",
            "undo 1",
            undo,
            args=(PLEDGE_ARG,),
            who=Role.PARTICIPANT,
        )
    )
    reg.add(
        Command(
            ("skip",),
            "Excuse this period, spending a freeze (earned every 4 kept periods)",
            "skip 1 I'm ill this week",
            skip,
            args=(PLEDGE_ARG, Arg("reason", "text", "why, in a few words", max_len=300)),
            who=Role.PARTICIPANT,
        )
    )
    reg.add(
        Command(
            ("vouch",),
            "Witness someone else's check-in",
            "vouch @sam 1",
            vouch,
            args=(Arg("member", "member", "who you saw do it (a mention or name)"), PLEDGE_ARG),
            who=Role.MEMBER,
        )
    )
