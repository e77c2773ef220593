"""The 💤 tap: a choice of when, then the one member asked again later (the scheduler plans it)."""

from __future__ import annotations

from bot.commands.invocation import Tap
from bot.commands.registry import Registry, TapDecl
from bot.errors import UserError
from bot.messages.actions import Action
from bot.messages.instants import reader_mark
from bot.messages.markup import inert
from bot.messages.replies import Button, Reply, private
from bot.progress import answering
from bot.rules import pledge_periods
from bot.rules.periods import describe
from storage import pledges as pledge_queries

CHOICES = (("1 hour", "snooze1h"), ("Tonight", "snoozetonight"), ("Tomorrow", "snoozetomorrow"))


async def snooze_tap(tap: Tap) -> Reply:
    pledge, group = tap.on_pledge()
    period = pledge_periods.period_by_key(pledge, group, tap.action.period_key)
    part = await pledge_queries.participation_of(pledge.id, tap.member.id)
    if part is None or not answering.is_open(part, pledge, group, period, tap.now):
        return private(
            f"That question was about the {describe(period)}, which "
            f"{answering.close_text(period, group, tap.now, tap.member)}: "
            "there is nothing to snooze."
        )
    if tap.action.verb == "snooze":
        return private(
            "Snooze until when?",
            buttons=tuple(
                Button(label, Action(verb, pledge.id, tap.action.period_key).encode())
                for label, verb in CHOICES
            ),
        )
    if tap.snooze is None:
        raise UserError("Snoozing needs the scheduler, which is not running here.")
    until = await tap.snooze(
        tap.member, pledge, group, tap.action.verb, tap.action.period_key, tap.now
    )
    return private(
        f"💤 I'll ask you again about **{inert(pledge.title)}** ({describe(period)}) "
        f"at {reader_mark(until, pledge_periods.group_tz(group), tap.member.timezone, 'wt')}."
    )


def register(reg: Registry) -> None:
    reg.add_tap(TapDecl(("snooze", *(verb for _, verb in CHOICES)), snooze_tap))
