"""Answer commands: done, undo, skip and vouch; the one-tap buttons reuse `answer`."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from bot.commands.invocation import Invocation, Tap
from bot.commands.pledges import PLEDGE_ARG
from bot.commands.registry import Arg, Command, Registry, Role, TapDecl
from bot.errors import UserError
from bot.messages import boards as reports
from bot.messages.actions import Action
from bot.messages.markup import inert
from bot.messages.replies import Button, Reply, private
from bot.messages.syntax import CMD
from bot.progress import answering as answers
from bot.rules import pledge_periods as tracking
from bot.rules.periods import Period, describe
from storage import checkins as checkin_queries
from storage import pledges as pledge_queries
from storage.records import GroupRec, MemberRec, ParticipationRec, PeriodTally, PledgeRec

KIND_WORDS = {"done": "Done", "not": "Not this time", "skip": "Skip"}
ANSWER_EMOJI = {"done": "✅", "not": "❌", "skip": "⏭"}


def _button(kind: str, pledge: PledgeRec, period: Period, current: Period) -> Button:
    label = f"{KIND_WORDS[kind]} · {answers.period_label(period, current)}"
    style = "success" if kind == "done" else "secondary"
    return Button(label, Action(kind, pledge.id, period.key).encode(), ANSWER_EMOJI[kind], style)


async def answer(
    pledge: PledgeRec,
    group: GroupRec,
    member: MemberRec,
    kind: str,
    note: str,
    event_key: str,
    now: datetime,
    period_key: str | None = None,
    word: str | None = None,
) -> Reply:
    """Record done / not / skip for the member's participation; the same for typing and tapping.

    `period_key` comes with a tap (buttons carry their period), `word` with a typed
    `done 1 yesterday`; without either, a typed answer is for the open period, or, where that
    is really ambiguous, one question with a one-tap answer for each period.
    """
    if pledge.status == "archived":
        raise UserError(f"“{inert(pledge.title)}” is archived.")
    part = await answers.participation_or_refuse(pledge, member)
    current = tracking.current_period(pledge, group, now)
    if period_key is not None:
        try:
            period = tracking.period_by_key(pledge, group, period_key)
        except ValueError:
            raise UserError(
                "That button is from an old version of me; use the command instead."
            ) from None
        if not answers.counts_for(part, pledge, group, period):
            raise UserError(
                f"You joined after the {describe(period)}, so it is not yours to answer.",
                "Answer for the current period instead.",
            )
        if not answers.is_open(part, pledge, group, period, now):
            return await _redirect(pledge, group, member, part, kind, period, current, now)
    else:
        chosen = (
            answers.named_period(word, pledge, group, now)
            if word
            else await answers.choose_period(pledge, group, part, kind, now)
        )
        if isinstance(chosen, answers.Ambiguous):
            return _which_period(pledge, group, member, chosen, note, now)
        period = chosen
        if not answers.is_open(part, pledge, group, period, now):
            if tracking.after_end(pledge, period):
                usage = None
            elif period.key != current.key:
                usage = f"Answer for the open period with `{CMD}done {pledge.number}`."
            else:
                usage = _usage(pledge)
            raise UserError(_not_open(pledge, group, member, part, period, now), usage)
    return await _record(pledge, group, part, kind, note, event_key, period, current, now)


def counted(
    tally: PeriodTally | None, part: ParticipationRec, period: Period, kind: str
) -> PeriodTally:
    """A period's tally with one more check-in of `kind`."""
    t = tally or PeriodTally(part.id, period.key, 0, 0, 0)
    return dataclasses.replace(
        t,
        done=t.done + (kind == "done"),
        skipped=t.skipped + (kind == "skip"),
        declined=t.declined + (kind not in ("done", "skip")),
    )


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _usage(pledge: PledgeRec) -> str:
    return (
        f"Answer for the open period with `{CMD}done {pledge.number}`, or name it: "
        f"`{CMD}done {pledge.number} {answers.LAST[pledge.cadence]}`."
    )


def _not_open(
    pledge: PledgeRec,
    group: GroupRec,
    member: MemberRec,
    part: ParticipationRec,
    period: Period,
    now: datetime,
) -> str:
    if tracking.after_end(pledge, period) and pledge.end_date is not None:
        return f"“{inert(pledge.title)}” ended on {pledge.end_date.isoformat()}."
    if not answers.counts_for(part, pledge, group, period):
        return f"You joined after the {describe(period)} began, so it is not yours to answer."
    if tracking.close_time(period, group) <= now:
        return (
            f"The {describe(period)} {answers.close_text(period, group, now, member)}, "
            "so it takes no answers any more."
        )
    return f"The {describe(period)} is not open for your answers any more."


async def _record(
    pledge: PledgeRec,
    group: GroupRec,
    part: ParticipationRec,
    kind: str,
    note: str,
    event_key: str,
    period: Period,
    current: Period,
    now: datetime,
) -> Reply:
    # One read serves the answer's period and the streak's open periods, before and after the
    # insert: a new check-in changes only its own period's count, by one.
    keys = list(dict.fromkeys([period.key, *reports.streak_periods(pledge, group, now)]))
    tallies = await checkin_queries.tallies([part.id], keys)
    t = tallies.get((part.id, period.key))
    done, skipped = (t.done, t.skipped) if t else (0, 0)
    when = answers.labelled(period, current)
    title = inert(pledge.title)
    full = (kind == "done" and done >= pledge.target) or (kind == "skip" and skipped > 0)
    if full and await answers.record_lookup(part, event_key) is None:
        streak, _ = reports.streak_from(pledge, group, part, now, tallies)
        if kind == "skip":
            return private(f"“{title}” is already excused {when}. Streak: {streak}.")
        return private(
            f"“{title}” is already kept {when}, {done}/{pledge.target}. "
            f"Streak: {streak}. Enjoy the time offline!"
        )
    checkin, created = await answers.record(part, period, kind, note, event_key, now)
    if created:
        tallies[(part.id, period.key)] = counted(
            tallies.get((part.id, period.key)), part, period, kind
        )
    else:  # a replayed event: say what the first one recorded, counted as it is now
        period = tracking.period_by_key(pledge, group, checkin.period_key)
        when = answers.labelled(period, current)
        keys = list(dict.fromkeys([period.key, *keys]))
        tallies = await checkin_queries.tallies([part.id], keys)
    t = tallies.get((part.id, period.key))
    done = t.done if t else 0
    streak, _ = reports.streak_from(pledge, group, part, now, tallies)
    if checkin.kind == "done":
        tail = "" if done >= pledge.target else f", {pledge.target - done} to go"
        return private(f"✅ **{title}** — {done}/{pledge.target} {when}{tail}. Streak: {streak}.")
    if checkin.kind == "not":
        return private(
            f"Noted: not this time for **{title}**, {when}. No pressure — next time is a "
            f"fresh start. Streak: {streak}."
        )
    return private(
        f"⏭ **{title}** is excused {when}. Your streak is safe (Streak: {streak}); a freeze was "
        f"used (`{CMD}undo {pledge.number}` gives it back)."
    )


def _which_period(
    pledge: PledgeRec,
    group: GroupRec,
    member: MemberRec,
    choice: answers.Ambiguous,
    note: str,
    now: datetime,
) -> Reply:
    """One question, two one-tap answers: never a silent guess between two open periods."""
    current, late = choice.current, choice.late
    this, last = answers.period_label(current, current), answers.period_label(late, current)
    lines = [
        f"For **{inert(pledge.title)}**: {this} ({describe(current)}) or {last} "
        f"({describe(late)})? {_upper_first(last)} is still open: it "
        f"{answers.close_text(late, group, now, member)}. One tap:",
        f"(Or type `{CMD}done {pledge.number} {this}` or `{CMD}done {pledge.number} {last}`.)",
    ]
    if note:
        lines.append("The buttons do not carry your note; type it again with the period word.")
    return private(
        "\n".join(lines),
        buttons=(_button("done", pledge, current, current), _button("done", pledge, late, current)),
    )


async def _redirect(
    pledge: PledgeRec,
    group: GroupRec,
    member: MemberRec,
    part: ParticipationRec,
    kind: str,
    period: Period,
    current: Period,
    now: datetime,
) -> Reply:
    """A tap on an old question: say which period it was, and offer the open one in one tap."""
    head = (
        f"That question was about the {describe(period)}, which "
        f"{answers.close_text(period, group, now, member)}, so it takes no answers any more."
    )
    if not answers.is_open(part, pledge, group, current, now):
        return private(head)
    done, skipped, declined = await answers.done_count(part, current)
    when = answers.labelled(current, current)
    if done >= pledge.target or skipped or declined:
        state = "kept" if done >= pledge.target else "answered"
        return private(f"{head} {_upper_first(when)} is {state} already.")
    return private(f"{head} For {when}:", buttons=(_button(kind, pledge, current, current),))


async def done(inv: Invocation) -> Reply:
    return await answer(
        inv.args["pledge"],
        inv.need_group(),
        inv.member,
        "done",
        inv.args.get("note") or "",
        inv.event_key,
        inv.now,
        word=inv.args.get("when"),
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
        word=inv.args.get("when"),
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


WHEN_ARG = Arg(
    "when",
    "choice",
    "which period, if not the open one",
    required=False,
    choices=answers.PERIOD_WORDS,
    only_if_matched=True,
)


async def answer_tap(tap: Tap) -> Reply:
    """✅ ❌ ⏭ on a prompt: the same answer as typing it, for the period the prompt asked about."""
    pledge, group = tap.on_pledge()
    note = "(one tap)" if tap.action.verb == "skip" else ""
    return await answer(
        pledge,
        group,
        tap.member,
        tap.action.verb,
        note,
        tap.event_key,
        tap.now,
        period_key=tap.action.period_key,
    )


def register(reg: Registry) -> None:
    reg.add_tap(TapDecl(("done", "not", "skip"), answer_tap))
    reg.add(
        Command(
            ("done",),
            "Confirm you did it this period (the ✅ button does the same)",
            "done 1 yesterday went with Sam",
            done,
            args=(
                PLEDGE_ARG,
                WHEN_ARG,
                Arg("note", "text", "a short note", required=False, max_len=300),
            ),
            who=Role.PARTICIPANT,
            details="Without a word it counts for the open period. While the previous period "
            "is still in its grace window and has no answer of yours, I ask which one you "
            "meant (one tap each); `yesterday`, `last week` or `last month` answer for it "
            "directly.",
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
            args=(
                PLEDGE_ARG,
                WHEN_ARG,
                Arg("reason", "text", "why, in a few words", max_len=300),
            ),
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
