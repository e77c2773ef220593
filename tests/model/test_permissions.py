"""The permission matrix: every command by an admin, the creator, a participant and a bystander."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.actors import Actor, Place
from bot.commands import build_registry
from bot.messages.actions import Action
from bot.messages.replies import Reply
from storage import models as m
from tests.conftest import START
from tests.support.session import ConsoleSession, open_session
from tests.support.snapshot import snapshot

ROOM = Place("console", "console", "console")
ADMIN, CREATOR, PARTICIPANT, BYSTANDER = "you", "ana", "ben", "cy"
ROLES = (ADMIN, CREATOR, PARTICIPANT, BYSTANDER)

NOT_IN = "not taking part"
NOT_CREATOR = "Only the pledge's creator or a group admin"
NOT_ADMIN = "Only group admins"


@dataclass(frozen=True)
class Case:
    """One command as each role would type it, and what each role must be told."""

    command: str
    line: str
    refused: dict[str, str]  # role -> words of the refusal; roles not named are allowed
    setup: tuple[str, ...] = ()


PARTICIPANTS_ONLY = {ADMIN: NOT_IN, BYSTANDER: NOT_IN}
CREATOR_OR_ADMIN = {PARTICIPANT: NOT_CREATOR, BYSTANDER: NOT_CREATOR}
ADMIN_ONLY = {CREATOR: NOT_ADMIN, PARTICIPANT: NOT_ADMIN, BYSTANDER: NOT_ADMIN}
# Issue 14: ana plans the event; the creator-or-admin rule is the event's own.
EVENT = ('@ana !event new "Picnic" 2026-12-05 12:00',)
NOT_EVENT_CREATOR = "Only the event's creator or a group admin"
EVENT_CREATOR_OR_ADMIN = {PARTICIPANT: NOT_EVENT_CREATOR, BYSTANDER: NOT_EVENT_CREATOR}

CASES = (
    Case("help", "!help", {}),
    Case("pledge new", '!pledge new "Call a neighbour" per week', {}),
    Case("pledge list", "!pledge list", {}),
    Case("pledge join", "!pledge join 1", {}),
    Case("pledge leave", "!pledge leave 1", {}),
    Case("pledge pause", "!pledge pause 1", CREATOR_OR_ADMIN),
    Case("pledge resume", "!pledge resume 1", CREATOR_OR_ADMIN, ("@you !pledge pause 1",)),
    Case("pledge archive", "!pledge archive 1", CREATOR_OR_ADMIN),
    Case("done", "!done 1 with Sam", PARTICIPANTS_ONLY),
    Case("undo", "!undo 1", PARTICIPANTS_ONLY, ("@ana !done 1", "@ben !done 1")),
    Case("skip", "!skip 1 ill this week", PARTICIPANTS_ONLY),
    Case("vouch", "!vouch {other} 1", {}, ("@ana !done 1", "@ben !done 1")),
    Case("streak", "!streak", {}),
    Case("summary", "!summary", {}),
    Case("remind", "!remind 1 thu 18:00", PARTICIPANTS_ONLY),
    Case("offline", "!offline 3d", {}),
    Case("me timezone", "!me timezone Europe/Paris", {}),
    Case("settings", "!settings timezone Europe/Paris", ADMIN_ONLY),
    Case("export", "!export", {}),
    Case("forget", "!forget", {}),
    Case("event new", '!event new "Assembly" 2026-12-05 10:00', {}),
    Case("event list", "!event list", {}, EVENT),
    Case("event show", "!event show 1", {}, EVENT),
    Case("event edit", "!event edit 1 time 13:00", EVENT_CREATOR_OR_ADMIN, EVENT),
    Case("event cancel", "!event cancel 1", EVENT_CREATOR_OR_ADMIN, EVENT),
    Case("event ics", "!event ics picnic", {}, EVENT),
    Case("event feed", "!event feed", {}, ("@you !event feed",)),
    Case("going", "!going 1", {}, EVENT),
    Case("maybe", "!maybe picnic", {}, EVENT),
    Case("not-going", "!not-going 1", {}, EVENT),
    Case("went", "!went 1", {}, EVENT),
    Case("missed", "!missed 1", {}, EVENT),
)


def test_every_command_in_the_registry_is_in_the_matrix():
    assert {c.name for c in build_registry().all()} == {c.command for c in CASES}


@pytest.fixture
async def group() -> AsyncIterator[ConsoleSession]:
    """Pledge 1 created by ana and joined by ben; cy is a member of the room who is in nothing."""
    async with open_session("sqlite://:memory:", START, "Europe/Berlin") as s:
        await s.say('@ana !pledge new "Walk" per week')
        await s.say("@ben !pledge join 1")
        await s.say("@cy !pledge list")
        await s.say("@you !pledge list")  # everyone has spoken once, so is a known member
        yield s


async def type_as(s: ConsoleSession, who: str, line: str, event: str) -> Reply:
    actor = Actor("console", who, who, is_admin=(who == ADMIN))
    reply = await s.engine.handle_text(actor, ROOM, line, event)
    assert reply is not None
    return reply


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[c.command for c in CASES])
async def test_each_role_is_allowed_or_refused_clearly_as_the_table_says(
    group: ConsoleSession, case: Case, role: str
):
    for line in case.setup:
        await group.say(line)
    line = case.line.format(other=CREATOR if role == PARTICIPANT else PARTICIPANT)
    before = await snapshot()
    reply = await type_as(group, role, line, f"matrix-{case.command}-{role}")
    words = case.refused.get(role)
    if words is None:
        assert not reply.error, reply.text
        return
    assert reply.error, reply.text
    assert words in reply.text
    if words == NOT_IN:
        assert "!pledge join 1" in reply.text  # the refusal says how to join
    assert await snapshot() == before


async def test_a_tap_on_someone_elses_pledge_is_refused_as_not_yours(group: ConsoleSession):
    pledge = await m.Pledge.get(number=1)
    key = START.strftime("week:%Y-%m-%d")
    before = await snapshot()
    actor = Actor("console", BYSTANDER, BYSTANDER)
    for verb in ("done", "not", "skip"):
        action = Action(verb, pledge.id, key).encode()
        reply = await group.engine.handle_action(actor, ROOM, action, f"tap-{verb}")
        assert reply.error
        assert "not yours" in reply.text
        assert "!pledge join 1" in reply.text
    assert await snapshot() == before


async def test_a_member_can_undo_only_their_own_check_in(group: ConsoleSession):
    await group.say("@ana !done 1")
    before = await snapshot()
    reply = await type_as(group, PARTICIPANT, "!undo 1", "undo-ben")
    assert reply.error  # ben has nothing of his own to undo; ana's check-in stays
    assert await snapshot() == before


async def test_vouching_records_a_witness_and_leaves_the_check_in_alone(group: ConsoleSession):
    await group.say("@ana !done 1")
    checkins = await m.CheckIn.all().values()
    reply = await type_as(group, BYSTANDER, "!vouch ana 1", "vouch-cy")
    assert not reply.error, reply.text
    assert await m.CheckIn.all().values() == checkins
    assert await m.Vouch.all().count() == 1
