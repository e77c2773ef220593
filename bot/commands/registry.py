"""The command registry: every command declared once; usage, help and parsing come from it."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.messages.markup import inert
from bot.rules.localtime import WEEKDAY_NAMES, WEEKDAYS

if TYPE_CHECKING:
    from bot.commands.invocation import Invocation, Tap
    from bot.messages.replies import Reply


class Role(Enum):
    ANYONE = "anyone"
    MEMBER = "member"
    PARTICIPANT = "participant"
    CREATOR_OR_ADMIN = "creator or admin"
    ADMIN = "admin"


# Argument kinds understood by the converters (bot.commands.converters) and by adapters.
ARG_KINDS = frozenset(
    {
        "text",
        "word",
        "pledge",
        "member",
        "int",
        "float",
        "duration",
        "date",
        "slot",
        "timezone",
        "choice",
        "event",  # issue 14: an event by number or title (bot.commands.events)
    }
)


@dataclass(frozen=True)
class Arg:
    """One argument. `keyword` args are written `<keyword> <value>` anywhere after the command."""

    name: str
    kind: str
    help: str
    required: bool = True
    keyword: str | None = None
    choices: tuple[str, ...] = ()
    greedy: bool = False
    max_len: int = 200
    minimum: int | None = None
    maximum: int | None = None
    placeholder: str = ""
    # An optional choice that takes its words only when they are one of its choices (which may
    # be two words, "last week"); otherwise the words go on to the next argument.
    only_if_matched: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ARG_KINDS:
            raise ValueError(f"unknown argument kind {self.kind!r}")

    def shape(self) -> str:
        if self.kind == "choice" and self.choices:
            value = "|".join(self.choices)
        else:
            value = f"<{self.placeholder or self.name}>"
        if self.keyword:
            value = f"{self.keyword} {value}"
        return value if self.required else f"[{value}]"


Handler = Callable[["Invocation"], Awaitable["Reply"]]
TapHandler = Callable[["Tap"], Awaitable["Reply"]]


@dataclass(frozen=True)
class TapDecl:
    """What a button (or reaction) verb does. `on_pledge`: it answers about one pledge, so
    the engine first checks the pledge exists and the member takes part in it."""

    verbs: tuple[str, ...]
    handler: TapHandler
    on_pledge: bool = True


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]
    help: str
    example: str
    handler: Handler
    args: tuple[Arg, ...] = ()
    who: Role = Role.ANYONE
    needs_group: bool = True
    details: str = ""
    # Whether it can change what the scheduler must send (slots, members, pauses, zones).
    replans: bool = False
    # A form's title: where a platform has forms (a Discord modal), running the command without
    # its required arguments opens one, a field per argument.
    form: str = ""

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def usage(self, prefix: str = "!") -> str:
        parts = [prefix + self.name, *(a.shape() for a in self.args)]
        return " ".join(parts)

    def usage_line(self, prefix: str = "!") -> str:
        return f"Usage: `{self.usage(prefix)}` — e.g. `{prefix}{self.example}`"


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool = False


@dataclass
class Registry:
    commands: dict[tuple[str, ...], Command] = field(default_factory=dict)
    taps: dict[str, TapDecl] = field(default_factory=dict)

    def add_tap(self, tap: TapDecl) -> TapDecl:
        for verb in tap.verbs:
            if verb in self.taps:
                raise ValueError(f"tap {verb} declared twice")
            self.taps[verb] = tap
        return tap

    def add(self, command: Command) -> Command:
        if command.path in self.commands:
            raise ValueError(f"command {command.name} declared twice")
        self.commands[command.path] = command
        return command

    def __iter__(self) -> Iterable[Command]:  # type: ignore[override]
        return iter(self.commands.values())

    def all(self) -> list[Command]:
        return list(self.commands.values())

    def nouns(self) -> dict[str, list[Command]]:
        """Commands grouped by their first word when that word has sub-commands."""
        groups: dict[str, list[Command]] = {}
        for cmd in self.commands.values():
            if len(cmd.path) > 1:
                groups.setdefault(cmd.path[0], []).append(cmd)
        return groups

    def find(self, words: list[str]) -> tuple[Command, int] | None:
        """The longest declared path at the start of `words` (lower-cased), and its length."""
        for n in (2, 1):
            key = tuple(w.lower() for w in words[:n])
            if len(key) == n and key in self.commands:
                return self.commands[key], n
        return None

    def lookup(self, words: list[str], prefix: str) -> tuple[Command, int]:
        if not words:
            raise UserError("Which command? Try `" + prefix + "help`.")
        found = self.find(words)
        if found:
            return found
        first = words[0].lower()
        nouns = self.nouns()
        if first in nouns:
            subs = ", ".join(f"`{prefix}{c.name}`" for c in nouns[first])
            what = f"“{inert(first + ' ' + words[1])}”" if len(words) > 1 else f"“{inert(first)}”"
            raise UserError(f"{what} needs one of: {subs}.", f"Try `{prefix}help {first}`.")
        names = sorted({c.path[0] for c in self.commands.values()})
        close = difflib.get_close_matches(first, names, n=1)
        hint = f" Did you mean `{prefix}{close[0]}`?" if close else ""
        raise UserError(
            f"I don't know the command “{inert(first[:40])}”.{hint}",
            f"`{prefix}help` lists every command.",
        )


def tokenize(text: str) -> list[Token]:
    """Split on spaces; "double", 'single' and “curly” quotes group words."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    pairs = {'"': '"', "'": "'", "“": "”", "„": "“", "«": "»"}
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in pairs and (ch != "'" or i == 0 or text[i - 1].isspace()):
            close = pairs[ch]
            end = text.find(close, i + 1)
            if end < 0 and ch == "'":
                end = -1
            if end < 0:
                if ch == "'":
                    # an apostrophe, not a quote: read it as part of a word
                    j = i
                    while j < n and not text[j].isspace():
                        j += 1
                    tokens.append(Token(text[i:j]))
                    i = j
                    continue
                raise UserError(
                    "A quote is not closed.",
                    'Put titles in matching quotes, e.g. "Call a neighbour".',
                )
            tokens.append(Token(text[i + 1 : end], quoted=True))
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        tokens.append(Token(text[i:j]))
        i = j
    return tokens


_WEEKDAYS = frozenset({*WEEKDAYS, *WEEKDAY_NAMES, "daily"})


def _looks_like_time(text: str) -> bool:
    head, _, tail = text.partition(":")
    return head.isdigit() and tail.isdigit() and len(tail) == 2


def _slot_width(tokens: list[Token], i: int) -> int:
    if i < len(tokens) and tokens[i].quoted:
        return 1
    if (
        i + 1 < len(tokens)
        and tokens[i].text.lower() in _WEEKDAYS
        and _looks_like_time(tokens[i + 1].text)
    ):
        return 2
    return 1


def _choice_width(arg: Arg, tokens: list[Token]) -> int:
    """How many leading words spell one of the choices (longest first), else 0."""
    for width in (2, 1):
        words = tokens[:width]
        spelled = " ".join(t.text.lower() for t in words)
        if len(words) == width and not any(t.quoted for t in words) and spelled in arg.choices:
            return width
    return 0


def bind(
    command: Command,
    tokens: list[Token],
    prefix: str,
    pledge_span: Callable[[list[str]], int] | None = None,
) -> dict[str, str]:
    """Assign tokens to a command's arguments as raw strings; the converters type them."""
    usage = command.usage_line(prefix)
    rest = list(tokens)
    raw: dict[str, str] = {}
    # 1. keyword arguments, anywhere
    for arg in command.args:
        if not arg.keyword:
            continue
        hits = [i for i, t in enumerate(rest) if not t.quoted and t.text.lower() == arg.keyword]
        positional_first = bool(command.args) and not command.args[0].keyword
        if positional_first:
            hits = [i for i in hits if i > 0]
        if not hits:
            continue
        if len(hits) > 1:
            raise UserError(f"`{arg.keyword}` is given twice.", usage)
        i = hits[0]
        if i + 1 >= len(rest):
            raise UserError(f"`{arg.keyword}` needs a value after it ({arg.help}).", usage)
        width = _slot_width(rest, i + 1) if arg.kind == "slot" else 1
        raw[arg.name] = " ".join(t.text for t in rest[i + 1 : i + 1 + width])
        del rest[i : i + 1 + width]
    # 2. bare choices (e.g. dm|channel) at the end
    for arg in reversed(command.args):
        if arg.keyword or arg.kind != "choice" or arg.only_if_matched or not rest:
            continue
        last = rest[-1]
        if (
            not last.quoted
            and last.text.lower() in arg.choices
            and arg.name not in raw
            and arg is not command.args[0]
        ):
            raw[arg.name] = last.text.lower()
            rest.pop()
    # 3. positionals in order
    positionals = [a for a in command.args if not a.keyword and a.name not in raw]
    for n, arg in enumerate(positionals):
        if not rest:
            if arg.required:
                raise UserError(f"Missing {arg.placeholder or arg.name}: {arg.help}.", usage)
            continue
        if arg.only_if_matched:
            width = _choice_width(arg, rest)
            if width:
                raw[arg.name] = " ".join(t.text for t in rest[:width]).lower()
                rest = rest[width:]
            continue
        later_required = any(a.required for a in positionals[n + 1 :])
        if arg.greedy or (arg.kind == "text" and not later_required and n == len(positionals) - 1):
            raw[arg.name] = " ".join(t.text for t in rest)
            rest = []
            continue
        width = 1
        if arg.kind == "slot":
            width = _slot_width(rest, 0)
        elif arg.kind == "pledge" and pledge_span is not None and not rest[0].quoted:
            keep = sum(1 for a in positionals[n + 1 :] if a.required)
            words = [t.text for t in rest[: max(1, len(rest) - keep)]]
            width = max(1, pledge_span(words))
        elif arg.kind == "text" and not rest[0].quoted and not arg.greedy:
            # an unquoted title runs until the next positional needs its words
            keep = sum(1 for a in positionals[n + 1 :] if a.required)
            width = max(1, len(rest) - keep)
        raw[arg.name] = " ".join(t.text for t in rest[:width])
        rest = rest[width:]
    if rest:
        extra = " ".join(t.text for t in rest)[:60]
        raise UserError(f"I did not understand “{inert(extra)}” at the end.", usage)
    return raw


def describe_args(command: Command) -> list[str]:
    lines = []
    for a in command.args:
        opt = "" if a.required else " (optional)"
        lines.append(f"• `{a.shape().strip('[]')}`{opt}: {a.help}")
    return lines
