"""Discord cards (components v2): prompts and reminders, and the pledge board, as a container.

A reminder or a question reads as one card: its opening line, then per pledge a section with the
pledge's line and its Done button beside it, the other answers in a row under it. The pledge
board is a card with one block per pledge. Buttons are the same persistent `AnswerButton`s as in
the plain form, so a tap on a card still works after a restart. Whatever does not fit Discord's
limits for one card (40 components, 4,000 characters of text) stays plain text with buttons.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.messages.actions import REACTION_ANSWERS, decode
from bot.messages.replies import BOARD, LAYOUT, Button, Reply

from .buttons import AnswerButton

MAX_COMPONENTS = 40  # every component of a message, nested ones included
MAX_TEXT = 4000  # every text display's characters together
MAX_ROW = 5
ACCENT = 0x3B82F6  # the card's side stripe
ANSWER_VERBS = frozenset(REACTION_ANSWERS.values())
BULLET = "• "


def card_view(reply: Reply, text: str, styles: dict[str, discord.ButtonStyle]) -> Any:
    """The card for `reply` (whose text, with mentions and times rendered, is `text`), or None
    when the reply reads better, or only fits, as plain text."""
    if reply.image is not None:
        return None
    try:
        if reply.extra.get(LAYOUT) == BOARD and not reply.buttons:
            return _fitting(_board_card(_board_blocks(text)))
        groups = _answer_groups(reply.buttons)
        if not groups or reply.private:
            return None
        lines = text.split("\n")
        bullets = [i for i, line in enumerate(lines) if line.startswith(BULLET)]
        if len(bullets) != len(groups):
            return None
        return _fitting(_notice_card(lines, bullets, groups, styles))
    except ValueError:  # discord.py refuses a view past 40 components
        return None


def _answer_groups(buttons: tuple[Button, ...]) -> list[list[Button]]:
    """The buttons per pledge, in order, when they are all one-tap answers with a Done first."""
    groups: dict[int, list[Button]] = {}
    for button in buttons:
        action = decode(button.action)
        if action is None or action.verb not in ANSWER_VERBS or not action.pledge_id:
            return []
        groups.setdefault(action.pledge_id, []).append(button)
    out = list(groups.values())
    if any(decode(g[0].action).verb != "done" for g in out):  # type: ignore[union-attr]
        return []
    return out


def _button(
    button: Button, styles: dict[str, discord.ButtonStyle], beside: bool = False
) -> AnswerButton:
    """`beside`: the button sits under its pledge's line, so the label drops the title the
    plain form adds when one message asks about several pledges ("Skip · Call a neighbour")."""
    style = styles.get(button.style, discord.ButtonStyle.secondary)
    label = button.label.rsplit(" · ", 1)[0] if beside and " · " in button.label else button.label
    return AnswerButton.make(label, button.action, style, button.emoji or None)


def _notice_card(
    lines: list[str],
    bullets: list[int],
    groups: list[list[Button]],
    styles: dict[str, discord.ButtonStyle],
) -> discord.ui.LayoutView:
    container: discord.ui.Container[Any] = discord.ui.Container(accent_colour=ACCENT)
    head = "\n".join(lines[: bullets[0]]).strip()
    if head:
        container.add_item(discord.ui.TextDisplay(f"### {head}"))
    ends = [*bullets[1:], len(lines)]
    beside = len(groups) > 1
    for start, end, buttons in zip(bullets, ends, groups, strict=True):
        body = lines[start][len(BULLET) :]
        rest = [line for line in lines[start + 1 : end] if line.strip()]
        if start == bullets[-1]:
            tail, rest = rest, []  # the closing line goes under the last row
        else:
            tail = []
        shown = "\n".join([body, *rest])
        container.add_item(
            discord.ui.Section(
                discord.ui.TextDisplay(shown), accessory=_button(buttons[0], styles, beside)
            )
        )
        others = buttons[1:]
        for i in range(0, len(others), MAX_ROW):
            row: discord.ui.ActionRow[Any] = discord.ui.ActionRow()
            for button in others[i : i + MAX_ROW]:
                row.add_item(_button(button, styles, beside))
            container.add_item(row)
        if tail:
            container.add_item(discord.ui.TextDisplay("-# " + " ".join(tail)))
    view = discord.ui.LayoutView(timeout=None)
    view.add_item(container)
    return view


def _board_blocks(text: str) -> list[str]:
    """The board's text cut into one block per pledge (a pledge line and its indented lines)."""
    blocks: list[str] = []
    for line in text.split("\n"):
        if blocks and (line.startswith(" ") or not line.strip()):
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return blocks


def _board_card(blocks: list[str]) -> discord.ui.LayoutView:
    container: discord.ui.Container[Any] = discord.ui.Container(accent_colour=ACCENT)
    for i, block in enumerate(blocks):
        if i:
            container.add_item(discord.ui.Separator(visible=False))
        container.add_item(discord.ui.TextDisplay(block))
    view = discord.ui.LayoutView(timeout=None)
    view.add_item(container)
    return view


def count_components(view: discord.ui.LayoutView) -> int:
    return sum(1 for _ in view.walk_children())


def _fitting(view: discord.ui.LayoutView) -> discord.ui.LayoutView | None:
    if count_components(view) > MAX_COMPONENTS or view.content_length() > MAX_TEXT:
        return None
    return view
