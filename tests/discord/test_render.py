"""Rendering replies for Discord: exact pings, never mass mentions, long text split safely."""

from __future__ import annotations

from adapters.discord.render import MAX_CONTENT, render, split_content
from bot.messages.replies import Button, MentionRef, Reply, Visibility


def test_only_mentioned_discord_members_are_pinged() -> None:
    reply = Reply(
        text="{@1} and {@2} and {@3}: @everyone",
        visibility=Visibility.PUBLIC,
        mentions=(
            MentionRef(1, "discord", "111", "ana"),
            MentionRef(2, "matrix", "@bo:example.org", "bo"),
        ),
    )
    rendered = render(reply)
    assert rendered.chunks == ["<@111> and bo and someone: @everyone"]
    assert rendered.allowed_mentions.to_dict() == {"parse": [], "users": [111]}
    assert not rendered.ephemeral


def test_a_fallback_ping_goes_first_and_is_allowed() -> None:
    rendered = render(Reply(text="Your reminder"), ping=(42,))
    assert rendered.chunks == ["<@42> Your reminder"]
    assert rendered.allowed_mentions.to_dict()["users"] == [42]
    assert rendered.ephemeral


def test_long_text_is_split_at_lines_and_buttons_ride_on_the_last_piece() -> None:
    line = "x" * 150
    text = "\n".join([line] * 40)
    reply = Reply(text=text, buttons=(Button("Done", "lo1:done:1:week:2026-11-30"),))
    rendered = render(reply)
    assert len(rendered.chunks) > 1
    assert all(len(c) <= MAX_CONTENT for c in rendered.chunks)
    assert "\n".join(rendered.chunks) == text
    assert "view" not in rendered.kwargs(0)
    assert "view" in rendered.kwargs(len(rendered.chunks) - 1)


def test_a_single_overlong_line_is_cut_into_pieces() -> None:
    pieces = split_content("y" * 4500)
    assert [len(p) for p in pieces] == [2000, 2000, 500]


def test_the_same_idempotency_key_gives_the_same_nonce() -> None:
    reply = Reply(text="hi", extra={"idempotency_key": "send:g1:remind:week:2026-11-30"})
    assert render(reply).nonce(0) == render(reply).nonce(0)
    assert render(reply).nonce(0) != render(reply).nonce(1)
    assert len(render(reply).nonce(0) or "") == 25
    assert render(Reply(text="hi")).nonce(0) is None
