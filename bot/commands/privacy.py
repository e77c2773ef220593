"""Privacy commands: export a member's data as JSON, and forget it after a confirmation."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from bot.commands.invocation import Invocation, Tap
from bot.commands.plan_change import Personal
from bot.commands.registry import Arg, Command, Registry, Role, TapDecl
from bot.messages.actions import Action
from bot.messages.replies import Button, Reply, private
from storage import groups as group_queries
from storage import pledges as pledge_queries
from storage import privacy as privacy_queries
from storage.records import MemberRec

CONFIRM_WINDOW = timedelta(minutes=10)


async def export(inv: Invocation) -> Reply:
    data = await privacy_queries.export_member(inv.member.id)
    body = json.dumps(data, indent=2, ensure_ascii=False)
    return private(
        "Your data, as JSON (only you see this):\n```json\n" + body + "\n```",
        image=body.encode(),
        image_name="logoff-export.json",
    )


async def forget(inv: Invocation) -> Reply:
    if inv.args.get("confirm") == "confirm":
        # Read before the deletion: the member's reminders and, for a group's last
        # participant, its weekly summary go with their participations.
        inv.plan.personal.extend(
            Personal(g, p, inv.member.id)
            for g, p in await pledge_queries.member_pledges(inv.member.id)
        )
        return await confirm_forget(inv.member, inv.now, inv.prefix)
    inv.plan.nothing = True
    await group_queries.update_member(inv.member.id, forget_requested_at=inv.now)
    return private(
        "This deletes your pledges' check-ins, streaks and settings everywhere I know you. "
        "Group totals of closed weeks stay (they name nobody). It cannot be undone.\n"
        f"Tap **Yes, delete** or type `{inv.prefix}forget confirm` within 10 minutes.",
        buttons=(
            Button("Yes, delete", Action("forget-yes").encode(), style="danger"),
            Button("Cancel", Action("forget-no").encode()),
        ),
    )


async def confirm_forget(member: MemberRec, now: datetime, prefix: str) -> Reply:
    asked = member.forget_requested_at
    if asked is None or now - asked > CONFIRM_WINDOW:
        return private(
            f"Nothing to confirm. Type `{prefix}forget` first; then confirm within 10 minutes."
        )
    await privacy_queries.forget_member(member.id)
    return private("Done: I have deleted your data. If you use me again, you start fresh.")


async def cancel_forget(member: MemberRec) -> Reply:
    await group_queries.update_member(member.id, forget_requested_at=None)
    return private("Cancelled: nothing was deleted.")


async def forget_tap(tap: Tap) -> Reply:
    if tap.action.verb == "forget-yes":
        return await confirm_forget(tap.member, tap.now, tap.prefix)
    return await cancel_forget(tap.member)


def register(reg: Registry) -> None:
    reg.add_tap(TapDecl(("forget-yes", "forget-no"), forget_tap, on_pledge=False))
    reg.add(
        Command(
            ("export",),
            "Your data as JSON (only you see it)",
            "export",
            export,
            who=Role.MEMBER,
            needs_group=False,
        )
    )
    reg.add(
        Command(
            ("forget",),
            "Delete your data, after a confirmation",
            "forget",
            forget,
            args=(
                Arg(
                    "confirm",
                    "choice",
                    "confirm the deletion",
                    required=False,
                    choices=("confirm",),
                ),
            ),
            who=Role.MEMBER,
            needs_group=False,
            replans=True,
        )
    )
