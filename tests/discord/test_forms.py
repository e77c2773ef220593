"""`/pledge new` without options opens a form (a Discord modal); the typed options still work."""

from __future__ import annotations

from typing import Any

from tests.discord.harness import RunningBot
from tests.discord_peer import DiscordPeer
from tests.discord_peer.interactions import MODAL
from tests.discord_peer.limits import modal_problems


def _fields(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["label"]: c["component"] for c in modal["components"]}


async def test_pledge_new_without_options_opens_a_form_with_cadence_as_a_radio_group(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    shown = await bot.invoke(peer.member, "pledge new")
    callback = await shown.wait_callback(timeout=5)
    assert callback.type == MODAL
    assert callback.data["title"] == "New pledge"
    assert modal_problems(callback.data) == []
    fields = _fields(callback.data)
    assert list(fields) == [
        "Title",
        "Times (optional)",
        "Per (optional)",
        "Remind (optional)",
        "Until (optional)",
    ]
    assert fields["Title"]["type"] == 4
    assert fields["Title"]["required"]
    assert fields["Per (optional)"]["type"] == 21
    assert [o["value"] for o in fields["Per (optional)"]["options"]] == ["day", "week", "month"]


async def test_a_submitted_form_creates_the_pledge_as_the_typed_options_would(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    shown = await bot.invoke(peer.member, "pledge new")
    values = {
        "field:title": "Call a neighbour",
        "field:times": "2",
        "field:per": "week",
        "field:remind": "thu 18:00",
    }
    submitted = await peer.submit_modal(peer.member, shown, values)
    answer = await submitted.wait_reply(timeout=5)
    assert "New pledge `1` **Call a neighbour** — 2× a week" in (answer.content or "")
    assert "Reminder: <t:" in (answer.content or "")
    (pledge,) = await bot.pledges()
    assert (pledge.title, pledge.target, pledge.cadence, pledge.remind_slot) == (
        "Call a neighbour",
        2,
        "week",
        "thu 18:00",
    )
    typed = await bot.slash(peer.member, "pledge new", title="Knock on doors", per="day")
    assert "Knock on doors" in (typed.content or "")


async def test_a_bad_value_in_the_form_gets_the_same_clear_message_and_creates_nothing(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    shown = await bot.invoke(peer.member, "pledge new")
    values = {"field:title": "Call a neighbour", "field:per": "day", "field:remind": "thu 18:00"}
    submitted = await peer.submit_modal(peer.member, shown, values)
    answer = await submitted.wait_reply(timeout=5)
    assert answer.ephemeral
    assert "A daily pledge's reminder is a time of day" in (answer.content or "")
    assert await bot.pledges() == []
