"""Reads commands from standard input, prints replies and the messages the bot would post."""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from typing import IO, TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.actors import Actor, Place
from bot.messages.markup import to_plain, unescape_plain
from bot.messages.replies import Reply
from bot.rules.localtime import parse_timezone
from storage.records import GroupRec, MemberRec

if TYPE_CHECKING:
    from adapters.console.outbox_file import OutboxFile
    from bot.engine.engine import Engine

PLATFORM = "console"
CHANNEL = Place(platform=PLATFORM, external_id="console", name="console")

WaitHook = Callable[[timedelta], Awaitable[None]]


class ConsoleAdapter:
    """One terminal acting as one group channel; `@name ` at a line's start speaks as `name`."""

    def __init__(
        self,
        engine: Engine,
        user: str,
        tz: ZoneInfo,
        out: IO[str] | None = None,
        wait: WaitHook | None = None,
        outbox_file: OutboxFile | None = None,
    ) -> None:
        self.engine = engine
        self.outbox_file = outbox_file
        self.user = user
        self.tz = tz
        self.out = out or sys.stdout
        self.wait = wait
        self._events = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._last_buttons: dict[str, tuple[str, ...]] = {}
        self._known: dict[int, str] = {}

    # -- Outbox ---------------------------------------------------------------------------

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str:
        target = f"#{group.name or group.external_id}"
        return self._send(target, reply, self._zone(group.timezone), audience=None)

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        zone = member.timezone or (fallback.timezone if fallback else None)
        target = f"DM @{member.external_id}"
        return self._send(target, reply, self._zone(zone), audience=member.external_id)

    async def find_sent(self, key: str, group: GroupRec, member: MemberRec | None) -> str | None:
        """The outbox file is the console's platform: a key written there was delivered."""
        if self.outbox_file is None or not key or key not in self.outbox_file:
            return None
        return self.outbox_file.message_id(key)

    async def edit(self, group: GroupRec, message_id: str, reply: Reply) -> None:
        """An event's card changed: print it again, marked as the edit of its message."""
        self._post(f"#{group.name or group.external_id} (edited {message_id})", reply, None)

    def _zone(self, name: str | None) -> ZoneInfo:
        try:
            return parse_timezone(name) if name else self.tz
        except Exception:
            return self.tz

    def _send(self, target: str, reply: Reply, tz: ZoneInfo, audience: str | None) -> str:
        """Print, and append to the outbox file (a key already there is not sent again)."""
        if self.outbox_file is None:
            return self._post(target, reply, audience)
        key = reply.extra.get("idempotency_key", "")
        if key and key in self.outbox_file:
            return self.outbox_file.append(key, target, "", "")  # the id it had; nothing written
        local = self.engine.clock.now().astimezone(tz).isoformat(timespec="seconds")
        message_id = self.outbox_file.append(key, target, local, self._body(reply))
        self._post(target, reply, audience)
        return message_id

    # -- input ----------------------------------------------------------------------------

    def actor(self, name: str) -> Actor:
        # The console's own user runs the bot, so it is the admin; @others are members.
        return Actor(PLATFORM, name, name, is_admin=(name == self.user))

    async def handle_line(self, line: str) -> None:
        text = line.strip()
        if not text or text.startswith("#"):
            return
        name = self.user
        if text.startswith("@") and " " in text:
            head, text = text.split(" ", 1)
            name = head[1:] or self.user
            text = text.strip()
        event_id = f"line-{next(self._events)}"
        reply = await self._dispatch(name, text, event_id)
        if reply is not None:
            # An event's card is public: anyone in the channel taps its buttons.
            audience = None if reply.extra.get("event_card") and not reply.private else name
            message_id = self._post(f"reply to @{name}", reply, audience=audience, is_reply=True)
            await self.engine.record_posted(PLATFORM, message_id, reply)

    async def _dispatch(self, name: str, text: str, event_id: str) -> Reply | None:
        prefix = self.engine.prefix
        words = text[len(prefix) :].split() if text.startswith(prefix) else []
        if words and words[0].lower() == "wait":
            return await self._wait(words[1:])
        if words and words[0].lower() == "tap":
            return await self._tap(name, words[1:], event_id)
        reply = await self.engine.handle_text(self.actor(name), CHANNEL, text, event_id)
        if reply is None and not self.engine.is_command(text):  # None for a command: rate-limited
            self._print(f"(not a command; commands start with {prefix}, e.g. {prefix}help)")
        return reply

    async def _wait(self, args: list[str]) -> Reply | None:
        from bot.errors import UserError
        from bot.messages.replies import error
        from bot.rules.durations import parse_duration

        if self.wait is None:
            return error(
                "`!wait` only works in the sandbox (`logoff sandbox`), where time is virtual."
            )
        try:
            span = parse_duration(" ".join(args), max_days=400)
        except UserError as exc:
            return error(
                exc.message, "Usage: `!wait <duration>` — e.g. `!wait 3d` or `!wait 2h30m`"
            )
        # Whole days move the calendar (`!wait 7d` from Monday 09:00 is Monday 09:00, also
        # across a clock change); hours and minutes are time that passes.
        start = self.engine.clock.now()
        days = timedelta(days=span.days)
        target = (start.astimezone(self.tz) + days).astimezone(UTC) + (span - days)
        await self.wait(target - start)
        now = self.engine.clock.now().astimezone(self.tz)
        self._print(f"(time is now {now:%a %d %b %Y %H:%M} {self.tz.key})")
        return None

    async def _tap(self, name: str, args: list[str], event_id: str) -> Reply:
        from bot.messages.replies import error

        buttons = self._last_buttons.get(name) or self._last_buttons.get("*")
        if not buttons:
            return error("There is no question with buttons to answer yet.")
        if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= len(buttons):
            return error(
                f"Write `!tap N` with N from 1 to {len(buttons)}, the number shown beside a button."
            )
        action = buttons[int(args[0]) - 1]
        return await self.engine.handle_action(self.actor(name), CHANNEL, action, event_id)

    # -- output ---------------------------------------------------------------------------

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    @staticmethod
    def _body(reply: Reply) -> str:
        names = {m.member_id: m.external_id for m in reply.mentions}
        return unescape_plain(to_plain(reply.text, lambda i: "@" + names.get(i, f"member{i}")))

    def _post(self, target: str, reply: Reply, audience: str | None, is_reply: bool = False) -> str:
        body = self._body(reply)
        now = self.engine.clock.now().astimezone(self.tz)
        vis = " (private)" if is_reply and reply.private else ""
        head = f"[{now:%a %d %b %H:%M}] {target}{vis}:"
        if "\n" in body:
            self._print(head)
            for line in body.splitlines():
                self._print("  " + line)
        else:
            self._print(f"{head} {body}")
        if reply.image is not None:
            self._print(f"  attached: {reply.image_name or 'file'} ({len(reply.image)} bytes)")
        if reply.buttons:
            shown = " · ".join(f"({i}) {b.label}" for i, b in enumerate(reply.buttons, 1))
            self._print(f"  buttons: {shown}  — type !tap N")
            self._last_buttons[audience or "*"] = tuple(b.action for b in reply.buttons)
            if audience is None:
                self._last_buttons = {"*": tuple(b.action for b in reply.buttons)}
        return f"console-{next(self._message_ids)}"

    async def run(self, stream: IO[str] | None = None) -> None:
        """Read lines until end of input; each line is handled before the next is read.

        A daemon thread reads, so a pipe held open never keeps the process from stopping.
        """
        source = stream or sys.stdin
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def reader() -> None:
            while True:
                try:
                    line = source.readline()
                except (OSError, ValueError):
                    line = ""
                try:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
                except RuntimeError:  # the loop is closed: the bot is stopping
                    return
                if not line:
                    return

        threading.Thread(target=reader, name="console-stdin", daemon=True).start()
        while True:
            line = await lines.get()
            if not line:
                return
            await self.handle_line(line)
