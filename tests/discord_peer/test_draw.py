"""The screenshot drawer shows a recorded card: stripe, buttons, times in the viewer's zone."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image

from tests.discord_peer.draw import BUTTONS, Viewer, _stamp, draw_message

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
VIEWER = Viewer(ZoneInfo("America/New_York"), NOW, {7: "member"})


def _card(pledges: int) -> dict[str, Any]:
    sections: list[dict[str, Any]] = []
    for n in range(pledges):
        done = {"type": 2, "style": 3, "label": "Done", "custom_id": f"lo1:done:{n}"}
        sections.append(
            {"type": 9, "components": [{"type": 10, "content": "**Walk** <@7>"}], "accessory": done}
        )
    return {
        "flags": 1 << 15,
        "components": [{"type": 17, "accent_color": 0x3B82F6, "components": sections}],
    }


def _colours(png: bytes) -> set[tuple[int, int, int]]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return {c for _, c in image.getcolors(maxcolors=1 << 20) or []}


def test_a_card_is_drawn_with_its_accent_stripe_and_its_done_buttons() -> None:
    png = draw_message(_card(1), VIEWER)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width == 720
    colours = _colours(png)
    assert (0x3B, 0x82, 0xF6) in colours
    assert BUTTONS[3] in colours


def test_each_pledge_makes_the_card_taller() -> None:
    one = Image.open(io.BytesIO(draw_message(_card(1), VIEWER)))
    three = Image.open(io.BytesIO(draw_message(_card(3), VIEWER)))
    assert three.height > one.height + 60


def test_timestamps_read_in_the_viewers_zone() -> None:
    six_pm_berlin = int(datetime(2026, 12, 3, 17, 0, tzinfo=UTC).timestamp())
    assert _stamp(six_pm_berlin, "f", VIEWER) == "December 3, 2026 12:00 PM"
    assert _stamp(six_pm_berlin, "F", VIEWER) == "Thursday, December 3, 2026 12:00 PM"
    assert _stamp(six_pm_berlin, "R", VIEWER) == "in a day"
