"""Draws a message the peer recorded as Discord's dark theme would show it (a PNG, with Pillow).

For the docs' screenshots and for looking at a card without a Discord client: containers with
their accent stripe, text displays (headings, bold, small text), sections with their button
beside the text, action rows of buttons, mentions as pills and `<t:UNIX:x>` timestamps in the
viewer's zone. It draws what the payload says; it is no Discord client (no emoji images, no
links, no embeds).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
WIDTH = 720
BACKGROUND = (49, 51, 56)
CARD = (43, 45, 49)
TEXT = (219, 222, 225)
MUTED = (148, 155, 164)
PILL = (60, 66, 112)
PILL_TEXT = (201, 205, 251)
STAMP = (64, 68, 75)
BUTTONS = {1: (88, 101, 242), 2: (78, 80, 88), 3: (36, 128, 70), 4: (218, 55, 60)}
_TOKEN = re.compile(r"(\*\*.+?\*\*|<@!?\d+>|<t:-?\d+:[tTdDfFR]>)")
# Characters DejaVu Sans has no glyph for (emoji): left out rather than drawn as boxes.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200b]")


@dataclass(frozen=True)
class Viewer:
    """Who looks: their zone (Discord shows timestamps in it), the moment, names for mentions."""

    zone: ZoneInfo
    now: datetime
    names: dict[int, str]


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(BOLD if bold else FONT, size)


def _stamp(unix: int, style: str, viewer: Viewer) -> str:
    at = datetime.fromtimestamp(unix, viewer.zone)
    clock = f"{at:%I:%M %p}".lstrip("0")
    if style == "t":
        return clock
    if style == "D":
        return f"{at:%B} {at.day}, {at.year}"
    if style == "R":
        days = (at.date() - viewer.now.astimezone(viewer.zone).date()).days
        hours = round((at - viewer.now).total_seconds() / 3600)
        if abs(hours) < 24:
            return f"in {hours} hours" if hours >= 0 else f"{-hours} hours ago"
        span = "a day" if abs(days) == 1 else f"{abs(days)} days"
        return f"in {span}" if days >= 0 else f"{span} ago"
    if style == "F":
        return f"{at:%A}, {at:%B} {at.day}, {at.year} {clock}"
    return f"{at:%B} {at.day}, {at.year} {clock}"


@dataclass
class _Run:
    text: str
    bold: bool = False
    pill: tuple[int, int, int] | None = None
    colour: tuple[int, int, int] = TEXT


def _runs(line: str, viewer: Viewer, colour: tuple[int, int, int]) -> list[_Run]:
    out: list[_Run] = []
    for part in _TOKEN.split(_EMOJI.sub("", line)):
        if not part:
            continue
        if part.startswith("**"):
            out.append(_Run(part[2:-2], bold=True, colour=colour))
        elif part.startswith("<@"):
            uid = int(part.strip("<@!>"))
            out.append(_Run("@" + viewer.names.get(uid, "someone"), pill=PILL, colour=PILL_TEXT))
        elif part.startswith("<t:"):
            _, unix, style = part.strip("<>").split(":")
            out.append(_Run(_stamp(int(unix), style, viewer), pill=STAMP, colour=TEXT))
        else:
            out.append(_Run(part.replace("`", ""), colour=colour))
    return out


class _Canvas:
    def __init__(self) -> None:
        self.image = Image.new("RGB", (WIDTH, 2000), BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)

    def line(self, x: int, y: int, runs: list[_Run], size: int, right: int) -> int:
        """Draw runs from (x, y), wrapping at `right`; returns the y under the last line."""
        height = int(size * 1.45)
        cx = x
        for run in runs:
            font = _font(size, run.bold)
            for word in re.split(r"(\s+)", run.text):
                if not word:
                    continue
                w = int(self.draw.textlength(word, font=font))
                if cx + w > right and cx > x and not word.isspace():
                    cx, y = x, y + height
                if word.isspace() and cx == x:
                    continue
                if run.pill is not None and not word.isspace():
                    self.draw.rounded_rectangle(
                        (cx - 2, y, cx + w + 2, y + height - 3), radius=3, fill=run.pill
                    )
                self.draw.text((cx, y + 1), word, font=font, fill=run.colour)
                cx += w
        return y + height

    def text(self, x: int, y: int, content: str, viewer: Viewer, right: int) -> int:
        for raw in content.split("\n"):
            size, colour, bold = 15, TEXT, False
            if raw.startswith("### "):
                raw, size, bold = raw[4:], 18, True
            elif raw.startswith("-# "):
                raw, size, colour = raw[3:], 12, MUTED
            runs = _runs(raw, viewer, colour)
            if bold:
                runs = [_Run(r.text, True, r.pill, r.colour) for r in runs]
            y = self.line(x, y, runs, size, right)
        return y + 4

    def button(self, x: int, y: int, comp: dict[str, Any]) -> int:
        """Draw a button with its left edge at x; returns its right edge."""
        font = _font(14)
        label = _EMOJI.sub("", comp.get("label") or "").strip()
        w = int(self.draw.textlength(label, font=font)) + 32
        fill = BUTTONS.get(int(comp.get("style", 2)), BUTTONS[2])
        self.draw.rounded_rectangle((x, y, x + w, y + 32), radius=4, fill=fill)
        self.draw.text((x + 16, y + 7), label, font=font, fill=(255, 255, 255))
        return x + w

    def button_width(self, comp: dict[str, Any]) -> int:
        label = _EMOJI.sub("", comp.get("label") or "").strip()
        return int(self.draw.textlength(label, font=_font(14))) + 32


def _component(c: _Canvas, comp: dict[str, Any], x: int, y: int, right: int, v: Viewer) -> int:
    kind = comp.get("type")
    if kind == 10:
        return c.text(x, y, str(comp.get("content", "")), v, right)
    if kind == 9:
        accessory = comp.get("accessory") or {}
        width = c.button_width(accessory)
        bottom = y
        for text in comp.get("components", []):
            bottom = _component(c, text, x, bottom, right - width - 16, v)
        c.button(right - width, y, accessory)
        return max(bottom, y + 36) + 4
    if kind == 1:
        cx = x
        for button in comp.get("components", []):
            if cx + c.button_width(button) > right:
                cx, y = x, y + 40
            cx = c.button(cx, y, button) + 8
        return y + 42
    if kind == 14:
        return y + 8
    if kind == 17:
        top = y
        inner = y + 14
        for child in comp.get("components", []):
            inner = _component(c, child, x + 18, inner, right - 14, v)
        bottom = inner + 6
        c.draw.rounded_rectangle((x, top, right, bottom), radius=8, fill=CARD)
        accent = comp.get("accent_color")
        if accent is not None:
            colour = ((accent >> 16) & 255, (accent >> 8) & 255, accent & 255)
            c.draw.rounded_rectangle((x, top, x + 5, bottom), radius=2, fill=colour)
        # drawn again over the card background, which covered the first pass
        inner = y + 14
        for child in comp.get("components", []):
            inner = _component(c, child, x + 18, inner, right - 14, v)
        return bottom + 8
    return y


def draw_message(payload: dict[str, Any], viewer: Viewer, author: str = "LogoffBot") -> bytes:
    """The message (as the peer stores it) drawn to a PNG."""
    c = _Canvas()
    x, right = 76, WIDTH - 24
    c.draw.ellipse((20, 16, 60, 56), fill=(88, 101, 242))
    c.draw.text((32, 24), "L", font=_font(20, True), fill=(255, 255, 255))
    c.draw.text((x, 14), author, font=_font(16, True), fill=(255, 255, 255))
    tag_x = x + int(c.draw.textlength(author, font=_font(16, True))) + 8
    c.draw.rounded_rectangle((tag_x, 17, tag_x + 34, 33), radius=3, fill=(88, 101, 242))
    c.draw.text((tag_x + 5, 18), "APP", font=_font(11, True), fill=(255, 255, 255))
    y = 42
    if payload.get("content"):
        y = c.text(x, y, str(payload["content"]), viewer, right)
    for comp in payload.get("components", []):
        y = _component(c, comp, x, y + 4, right, viewer)
    out = io.BytesIO()
    c.image.crop((0, 0, WIDTH, y + 16)).save(out, format="PNG", optimize=True)
    return out.getvalue()
