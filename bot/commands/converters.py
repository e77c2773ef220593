"""Raw argument strings (typed text or Discord options) to typed values, or a clear error."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.commands.registry import Arg
from bot.errors import NotFound, UserError
from bot.messages.markup import clean_text
from bot.rules.durations import parse_duration
from bot.rules.localtime import parse_date, parse_timezone
from bot.rules.slots import parse_slot
from storage import groups as group_queries
from storage.records import MemberRec, PledgeRec

if TYPE_CHECKING:
    from bot.commands.invocation import Invocation


def match_pledges(pledges: list[PledgeRec], name: str) -> list[PledgeRec]:
    """Pledges named by number (`3`, `#3`), full title, or unique prefix, case-insensitively."""
    text = name.strip().lower()
    if text.startswith("#") and text[1:].isdigit():
        text = text[1:]
    if text.isdigit():
        return [p for p in pledges if p.number == int(text)]
    exact = [p for p in pledges if p.title.lower() == text]
    if exact:
        return exact
    return [p for p in pledges if p.title.lower().startswith(text)]


def pledge_span(pledges: list[PledgeRec], words: list[str]) -> int:
    """How many leading words name a pledge (the longest that matches exactly one), else 1."""
    for n in range(len(words), 0, -1):
        if len(match_pledges(pledges, " ".join(words[:n]))) == 1:
            return n
    return 1


def resolve_pledge(pledges: list[PledgeRec], name: str, prefix: str) -> PledgeRec:
    found = match_pledges(pledges, name)
    listing = ", ".join(f"`{p.number}` {p.title}" for p in pledges[:10]) or "none yet"
    if not found:
        raise NotFound(
            f"No pledge here matches `{clean_text(name)[:60]}`.",
            f"Name it by number, title or the start of its title. This group's pledges: {listing}."
            f" (`{prefix}pledge list` shows them all.)",
        )
    if len(found) > 1:
        options = ", ".join(f"`{p.number}` {p.title}" for p in found[:10])
        raise UserError(
            f"`{clean_text(name)[:60]}` fits more than one pledge: {options}.",
            "Use the number or more of the title.",
        )
    return found[0]


async def resolve_member(inv: Invocation, text: str) -> MemberRec:
    raw = text.strip()
    platform = inv.actor.platform
    # Adapters pass a picked member as their platform id; people type an id or a name.
    candidates: list[MemberRec] = []
    found = await group_queries.find_member(platform, raw)
    if found is None and raw.startswith("@"):
        found = await group_queries.find_member(platform, raw[1:])
    if found:
        candidates = [found]
    else:
        candidates = await group_queries.find_member_by_name(platform, raw.lstrip("@"))
    if not candidates:
        raise NotFound(
            f"I don't know a member called `{clean_text(raw)[:60]}` yet.",
            "Mention them, or use the name they have here; they must have used the bot once.",
        )
    if len(candidates) > 1:
        raise UserError(
            f"More than one member is called `{clean_text(raw)[:60]}`.", "Mention them instead."
        )
    return candidates[0]


def convert_text(arg: Arg, value: str) -> str:
    text = clean_text(value)
    if arg.required and not text:
        raise UserError(f"The {arg.placeholder or arg.name} is empty.")
    if len(text) > arg.max_len:
        raise UserError(
            f"The {arg.placeholder or arg.name} is {len(text)} characters long; "
            f"the limit is {arg.max_len}.",
            "Shorten it and try again.",
        )
    return text


def convert_int(arg: Arg, value: str) -> int:
    text = value.strip()
    if not re.fullmatch(r"[+-]?\d{1,9}", text):
        raise UserError(f"`{clean_text(text)[:30]}` is not a whole number ({arg.help}).")
    number = int(text)
    low, high = arg.minimum, arg.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        raise UserError(
            f"{arg.placeholder or arg.name} must be between {low} and {high}; got {number}."
        )
    return number


def convert_choice(arg: Arg, value: str) -> str:
    text = value.strip().lower()
    if text not in arg.choices:
        raise UserError(
            f"`{clean_text(value)[:30]}` is not one of {', '.join(arg.choices)} ({arg.help})."
        )
    return text


async def convert(inv: Invocation, arg: Arg, value: str, pledges: list[PledgeRec]) -> Any:
    """One raw value to its typed form; UserError (with the usage) when it does not fit."""
    try:
        if arg.kind in ("text", "word"):
            return convert_text(arg, value)
        if arg.kind == "int":
            return convert_int(arg, value)
        if arg.kind == "float":
            try:
                return float(value)
            except ValueError:
                raise UserError(f"`{clean_text(value)[:30]}` is not a number.") from None
        if arg.kind == "choice":
            return convert_choice(arg, value)
        if arg.kind == "duration":
            return parse_duration(value)
        if arg.kind == "date":
            return parse_date(value.strip())
        if arg.kind == "slot":
            return value.strip().lower() if value.strip().lower() == "off" else parse_slot(value)
        if arg.kind == "timezone":
            return parse_timezone(value.strip()).key
        if arg.kind == "pledge":
            return resolve_pledge(pledges, value, inv.prefix)
        if arg.kind == "member":
            return await resolve_member(inv, value)
        if arg.kind == "event":
            from bot.commands.events import resolve_event

            return await resolve_event(inv.need_group(), value, inv.now)
    except UserError as exc:
        if exc.usage is None:
            exc.usage = inv.usage()
        raise
    raise UserError(f"I cannot read the argument {arg.name}.")  # pragma: no cover
