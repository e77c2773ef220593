"""Matrix rendering and room rules without a homeserver: mentions, prompts, admins, inviters."""

from __future__ import annotations

from adapters.matrix import render
from adapters.matrix.rooms import RoomCreation, creation_from, inviter_allowed, is_admin
from bot.messages.actions import Action
from bot.messages.replies import Button, MentionRef, Reply

BOT = "@logoff:example.org"


def test_mentions_become_pills_and_exactly_those_members_are_pinged() -> None:
    reply = Reply(
        "Nudge for {@1} and {@2}, not @room",
        mentions=(
            MentionRef(1, "matrix", "@ann:example.org", "Ann <3"),
            MentionRef(2, "matrix", "@bo:other.org", "Bo"),
        ),
    )
    content = render.content(reply, msgtype="m.text")
    assert content["m.mentions"] == {"user_ids": ["@ann:example.org", "@bo:other.org"]}
    assert (
        '<a href="https://matrix.to/#/@ann:example.org">Ann &lt;3</a>' in content["formatted_body"]
    )
    assert content["body"].startswith("Nudge for Ann <3 and Bo")


def test_a_reply_without_mentions_pings_nobody_and_quotes_the_command() -> None:
    content = render.content(Reply("**Done**"), msgtype="m.notice", in_reply_to="$cmd")
    assert content["m.mentions"] == {}
    assert content["formatted_body"] == "<strong>Done</strong>"
    assert content["body"] == "Done"
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$cmd"}}


def test_a_one_pledge_question_is_answered_by_emoji_and_others_by_numbers() -> None:
    one = Reply(
        "How did it go?",
        buttons=tuple(
            Button(v, Action(v, 3, "week:2026-11-30").encode()) for v in ("done", "snooze")
        ),
    )
    assert render.is_prompt(one)
    assert render.prompt_keys(one) == ["✅", "💤"]
    assert render.prompt_target(one) == (3, "week:2026-11-30")
    two = Reply(
        "How did it go?",
        buttons=(
            Button("Done · A", Action("done", 3, "week:2026-11-30").encode()),
            Button("Done · B", Action("done", 4, "week:2026-11-30").encode()),
        ),
    )
    assert not render.is_prompt(two)
    assert "1️⃣ Done · A · 2️⃣ Done · B" in render.content(two, msgtype="m.text")["body"]


def test_edits_are_ignored_and_reply_fallbacks_are_stripped() -> None:
    edit = {"content": {"m.new_content": {"body": "!help"}, "body": "* !help"}}
    assert render.command_text(edit, "* !help") is None
    quoted = {"content": {"m.relates_to": {"m.in_reply_to": {"event_id": "$x"}}}}
    assert render.command_text(quoted, "> <@logoff:x> How did it go?\n\n!done 1") == "!done 1"


def test_v12_creators_and_power_level_50_are_admins_but_old_room_creators_are_not() -> None:
    create = {
        "type": "m.room.create",
        "state_key": "",
        "sender": "@ann:example.org",
        "content": {"room_version": "12", "additional_creators": ["@cy:example.org"]},
    }
    v12 = creation_from(create)
    assert v12 == RoomCreation("12", frozenset({"@ann:example.org", "@cy:example.org"}))
    assert is_admin("@ann:example.org", 0, v12)
    assert is_admin("@cy:example.org", 0, v12)
    assert not is_admin("@bo:example.org", 0, v12)
    assert is_admin("@bo:example.org", 50, v12)
    v10 = RoomCreation("10", frozenset({"@ann:example.org"}))
    assert not is_admin("@ann:example.org", 0, v10)


def test_invites_are_accepted_from_listed_users_servers_or_by_default_the_bots_server() -> None:
    assert inviter_allowed("@ann:example.org", [], BOT)
    assert not inviter_allowed("@eve:evil.org", [], BOT)
    assert inviter_allowed("@eve:friends.org", ["*:friends.org"], BOT)
    assert inviter_allowed("@ann:other.org", ["@ann:other.org"], BOT)
    assert not inviter_allowed("@ann:example.org", ["@bo:example.org"], BOT)
    assert not inviter_allowed("", [], BOT)
