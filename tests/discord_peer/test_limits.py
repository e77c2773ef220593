"""The peer refuses what Discord refuses: components v2 limits, custom ids, modal shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from tests.discord_peer import DiscordPeer, run_client
from tests.discord_peer.limits import IS_COMPONENTS_V2, message_problems, modal_problems


@pytest.fixture
async def peer() -> AsyncIterator[DiscordPeer]:
    async with DiscordPeer() as p:
        yield p


def _text(content: str) -> dict[str, Any]:
    return {"type": 10, "content": content}


def _card(*components: dict[str, Any]) -> dict[str, Any]:
    return {"flags": IS_COMPONENTS_V2, "components": [{"type": 17, "components": list(components)}]}


def test_a_card_within_the_limits_passes() -> None:
    button = {"type": 2, "style": 3, "label": "Done", "custom_id": "lo1:done:1:week:2026-11-30"}
    section = {"type": 9, "components": [_text("Call a neighbour")], "accessory": button}
    assert message_problems(_card(_text("A nudge"), section)) == []


def test_more_than_40_components_in_all_are_refused() -> None:
    assert message_problems(_card(*[_text(str(i)) for i in range(39)])) == []
    assert message_problems(_card(*[_text(str(i)) for i in range(40)])) == [
        "41 components, more than 40"
    ]


def test_more_than_4000_characters_of_text_display_are_refused() -> None:
    assert message_problems(_card(_text("a" * 2000), _text("b" * 2000))) == []
    assert message_problems(_card(_text("a" * 2000), _text("b" * 2001))) == [
        "4001 characters of text display, more than 4000"
    ]


def test_a_card_with_content_and_a_custom_id_over_100_are_refused() -> None:
    body = _card({"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "x" * 101}]})
    body["content"] = "hello"
    problems = message_problems(body)
    assert "IS_COMPONENTS_V2 message with content" in problems
    assert any(p.startswith("custom_id of 101 characters") for p in problems)


def test_v2_components_without_the_flag_are_refused() -> None:
    assert message_problems({"components": [_text("hi")]}) == [
        "components v2 type 10 without IS_COMPONENTS_V2",
        "type 10 at the top",
    ]


def test_a_modal_needs_a_short_title_and_at_most_five_fields() -> None:
    field = {"type": 18, "label": "Title", "component": {"type": 4, "custom_id": "t", "style": 1}}
    assert modal_problems({"title": "New pledge", "custom_id": "f", "components": [field]}) == []
    many = {"title": "x" * 46, "custom_id": "f", "components": [field] * 6}
    problems = modal_problems(many)
    assert "a modal title is 1-45 characters" in problems
    assert "a modal holds 1-5 components, not 6" in problems


async def test_the_peer_answers_an_over_limit_message_with_400(peer: DiscordPeer) -> None:
    async with run_client(discord.Client(intents=discord.Intents.default())) as client:
        channel = client.get_partial_messageable(peer.channel.id)
        view = discord.ui.View()
        view.add_item(discord.ui.Button(label="x", custom_id="y" * 100))
        await channel.send("fine", view=view)
        with pytest.raises(discord.HTTPException) as refused:
            await channel.send("x" * 2001)
    assert refused.value.status == 400
    assert peer.refused_payloads[0][1] == ["content longer than 2000"]
