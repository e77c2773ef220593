"""The engine: turns a platform event (a command, a tap, a reaction) into a Reply, safely."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot import log_context
from bot.actors import Actor, Place
from bot.clock import Clock
from bot.commands import event_mirror
from bot.commands import events as event_commands
from bot.commands.converters import convert, match_pledges, pledge_span
from bot.commands.invocation import CardHook, EventServices, Invocation, MirrorHook, Tap
from bot.commands.registry import Command, Registry, Role, bind, tokenize
from bot.engine.hooks import SchedulingHooks
from bot.engine.ratelimit import RateLimiter
from bot.engine.writer_lock import WriterLock
from bot.errors import PermissionDenied, UserError
from bot.messages.actions import REACTION_ANSWERS, Action, decode
from bot.messages.event_card import CARD_UPDATED
from bot.messages.markup import clean_text, inert
from bot.messages.replies import Reply, error, private
from bot.messages.syntax import CommandSyntax
from bot.meter import Meter, NoMeter
from bot.ports import Outbox
from bot.progress import closing
from bot.rules import streaks
from storage import checkins as checkin_queries
from storage import events as event_queries
from storage import groups as group_queries
from storage import place_reads, record_cache
from storage import pledges as pledge_queries
from storage import sent as sent_queries
from storage.records import GroupDefaults, GroupRec, MemberRec, PledgeRec
from storage.transaction import undone_on_error

log = logging.getLogger("logoff.engine")

MAX_COMMAND_LENGTH = 2000
# Typed commands that answer a period, counted like the taps that do the same.
ANSWER_COMMANDS = ("done", "skip")


class Engine:
    """One per process; adapters call `handle_text`, `handle_action`, `handle_reaction`."""

    def __init__(
        self,
        clock: Clock,
        defaults: GroupDefaults,
        registry: Registry,
        syntax: CommandSyntax | None = None,
        commands_per_minute: int = 60,
        *,
        hooks: SchedulingHooks | None = None,
        secrets: tuple[str, ...] = (),
        meter: Meter | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.clock = clock
        # What the core counts (bot.meter); the scheduler reports to the same one.
        self.meter: Meter = meter or NoMeter()
        self.limiter = RateLimiter(commands_per_minute)
        # Tokens and passwords of this deployment, never echoed back in a reply.
        self.secrets = secrets
        self.defaults = defaults
        self.registry = registry
        self.syntax = syntax or CommandSyntax()
        self.prefix = self.syntax.typed  # what starts a typed command
        # Re-planning after a change and snoozing; None where no scheduler runs.
        self.hooks = hooks
        # Issue 14: where an event's card is edited in place and mirrored (None: nowhere).
        self.outbox = outbox
        # Public base URL of the HTTP listener, for the group calendar feeds ("" when none).
        self.feed_base_url = ""
        # One writer at a time inside a process: a tap and a typed command never interleave.
        self._lock = WriterLock()

    @property
    def writer(self) -> WriterLock:
        """Held around each command, tap and close; `EventClaims` takes it before its
        transaction (see WriterLock)."""
        return self._lock

    @property
    def card_hook(self) -> CardHook | None:
        """Issue 14: edit an event's card in place (the Outbox's `edit`)."""
        return self.outbox.edit if self.outbox is not None else None

    @property
    def mirror_hook(self) -> MirrorHook | None:
        """Issue 14: mirror an event into the platform's own calendar, where there is one."""
        mirror = getattr(self.outbox, "mirror_event", None)
        return mirror if callable(mirror) else None

    @property
    def event_services(self) -> EventServices:
        """What event commands and taps reach beyond the database (the card edit, the mirror)."""
        return EventServices(self.card_hook, self.mirror_hook, self.feed_base_url)

    # -- entry points -----------------------------------------------------------------------

    def is_command(self, text: str) -> bool:
        return text.lstrip().startswith(self.prefix)

    async def handle_text(
        self, actor: Actor, place: Place, text: str, event_id: str
    ) -> Reply | None:
        """A typed line; None when it is not addressed to the bot (no prefix)."""
        if not self.is_command(text):
            return None
        body = text.lstrip()[len(self.prefix) :]
        verdict = self._limit(actor)
        if verdict == "quiet":
            return None
        if verdict == "notify":
            return self._slow_down()
        return await self._guard(
            actor, place, event_id, lambda: self._run_text(actor, place, body, event_id), "text"
        )

    async def handle_command(
        self, actor: Actor, place: Place, path: tuple[str, ...], raw: dict[str, str], event_id: str
    ) -> Reply:
        """A structured call (Discord slash command): raw option strings by argument name."""
        if self._limit(actor) != "allow":
            # A slash command must be answered; the answer is private and changes nothing.
            return self._slow_down()

        async def run() -> Reply:
            command = self.registry.commands.get(path)
            if command is None:
                raise UserError(f"I don't know the command `{' '.join(path)}`.")
            await self._warm(actor, place)
            return await self._invoke(actor, place, command, raw, event_id)

        return await self._guard(actor, place, event_id, run, "slash")

    async def handle_action(
        self, actor: Actor, place: Place, action_text: str, event_id: str
    ) -> Reply:
        """A tap on a button (its encoded action)."""
        return await self._guard(
            actor,
            place,
            event_id,
            lambda: self._run_action(actor, place, action_text, event_id),
            "tap",
        )

    async def handle_reaction(
        self, actor: Actor, place: Place, message_id: str, key: str, event_id: str
    ) -> Reply | None:
        """An emoji reaction on one of the bot's prompts; None when it is not an answer."""
        event_answer = await event_commands.reaction_action(actor.platform, message_id, key.strip())
        if event_answer is not None:
            return await self.handle_action(actor, place, event_answer, event_id)
        verb = REACTION_ANSWERS.get(key.strip())
        if verb is None:
            return None
        sent = await sent_queries.find_sent(actor.platform, message_id)
        if sent is None or sent.pledge_id is None or sent.period_key is None:
            return None
        action = Action(verb, sent.pledge_id, sent.period_key).encode()
        return await self.handle_action(actor, place, action, event_id)

    async def handle_unreaction(
        self, actor: Actor, place: Place, reaction_event_id: str
    ) -> Reply | None:
        """A reaction taken back (Matrix redaction): undo exactly what it recorded."""

        async def run() -> Reply:
            member = await self._member(actor)
            now = self.clock.now()
            key = self._event_key(actor, reaction_event_id)
            if await event_commands.undo_reaction(self.event_services, member, key):
                # The event's card, replaced in place, shows it: Matrix then says nothing.
                return private("Took that back.", extra={CARD_UPDATED: "1"})
            undone = await checkin_queries.undo_by_event(
                member.id, key, now, max_freezes=streaks.MAX_FREEZES
            )
            if undone is None:
                return private("")
            return private("Took that back.")

        reply = await self._guard(actor, place, reaction_event_id + ":undo", run, "undo")
        return reply if reply.text else None

    async def pledge_choices(self, place: Place, typed: str) -> list[tuple[str, str]]:
        """(label, value) pairs of this place's pledges matching what was typed (autocomplete)."""
        pledges = await self._pledges_for(place)
        text = typed.strip()
        found = match_pledges(pledges, text) if text else pledges
        if text and not found:
            found = [p for p in pledges if text.lower() in p.title.lower()]
        return [(f"{p.number} · {p.title}", str(p.number)) for p in found]

    async def event_choices(
        self, place: Place, typed: str, path: tuple[str, ...] = ()
    ) -> list[tuple[str, str]]:
        """(label, value) pairs of this place's events for an event argument (autocomplete):
        the ones to come first, matching by number or title."""
        if place.is_direct:
            return []
        group = await group_queries.find_group(place.platform, place.external_id)
        if group is None:
            return []
        now = self.clock.now()
        recent = now - timedelta(days=event_commands.REFERENCE_DAYS)
        events = await event_queries.group_events(group.id, ending_after=recent)
        after = bool(path) and path[-1] in event_commands.AFTER_START
        found = event_commands.choose_events(events, typed, now, after)
        return [(event_commands.choice_label(e), str(e.number)) for e in found]

    async def archive_group(self, place: Place) -> None:
        """The bot was removed from a group's room or channel: keep its data, archived."""
        group = await group_queries.find_group(place.platform, place.external_id)
        if group is not None and not group.archived:
            await group_queries.update_group(group.id, archived=True)

    async def record_sent(
        self,
        platform: str,
        message_id: str,
        kind: str,
        group_id: int | None,
        pledge_id: int | None,
        period_key: str | None,
    ) -> None:
        await sent_queries.record_sent(
            platform,
            message_id,
            kind,
            self.clock.now(),
            group_id=group_id,
            pledge_id=pledge_id,
            period_key=period_key,
        )

    async def mirrored_event(self, platform: str, mirror_id: str) -> tuple[int, str] | None:
        """The event a platform's calendar entry mirrors, and its group's channel or room."""
        return await event_mirror.event_of_mirror(platform, mirror_id)

    async def record_posted(self, platform: str, message_id: str, reply: Reply) -> None:
        """An adapter posted a reply and got this message id: remember it where the reply
        asks (an event's card, so RSVPs can edit it in place and reactions map back)."""
        await event_commands.record_card(platform, message_id, reply)

    async def close_due(self, group_id: int | None = None) -> closing.CloseReport:
        async with self._lock:
            return await closing.close_due(self.clock.now(), group_id)

    # -- internals --------------------------------------------------------------------------

    def _scrub(self, reply: Reply, platform: str) -> Reply:
        """The platform's command syntax in; no secret of the deployment out, even one a
        member typed back."""
        reply = self.syntax.for_platform(reply, platform)
        text = reply.text
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return reply if text == reply.text else dataclasses.replace(reply, text=text)

    def _limit(self, actor: Actor) -> str:
        return self.limiter.check(f"{actor.platform}:{actor.external_id}", self.clock.now())

    def _slow_down(self) -> Reply:
        per = self.limiter.per_minute
        return error(
            f"That is more than {per} commands a minute, so I'll pause for you for a minute.",
            "Nothing was changed. Try again shortly — or take it as a sign to log off for a bit.",
        )

    async def _guard(
        self,
        actor: Actor,
        place: Place,
        event_id: str,
        run: Callable[[], Awaitable[Reply]],
        via: str,
    ) -> Reply:
        # Monotonic time: a duration for the latency histogram, not a moment of the calendar.
        started = time.monotonic()
        outcome = "error"
        about = log_context.enter(place.platform, None if place.is_direct else place.external_id)
        try:
            # Under `EventClaims.handle_once` the command's writes share a transaction with its
            # stored reply: a refused or failed command's writes are taken back (that whole
            # transaction is rolled back, and the reply that says so stored in a new one).
            async with self._lock, undone_on_error():
                # Cached records: what other processes changed before now is seen now.
                await record_cache.sync()
                reply = self._scrub(await run(), place.platform)
            outcome = "ok"
            return reply
        except UserError as exc:
            outcome = "refused"
            return self._scrub(error(exc.message, exc.usage), place.platform)
        except Exception:
            self.meter.error("engine")
            ref = secrets.token_hex(3)
            log.exception(
                "unexpected error ref=%s platform=%s place=%s actor=%s event=%s",
                ref,
                place.platform,
                place.external_id,
                actor.external_id,
                event_id,
            )
            return error(
                f"Sorry, something went wrong on my side (reference `{ref}`). "
                "Please try again; if it keeps happening, tell whoever runs this bot."
            )
        finally:
            log_context.leave(about)
            self.meter.command(via, time.monotonic() - started, outcome)

    @staticmethod
    def _event_key(actor: Actor, event_id: str) -> str:
        return f"{actor.platform}:{event_id}"[:255]

    @staticmethod
    async def _warm(actor: Actor, place: Place) -> None:
        """What a command in a group reads first, in one statement where the record cache
        lacks any of it (storage.place_reads)."""
        if not place.is_direct:
            await place_reads.warm_place(place.platform, place.external_id, actor.external_id)

    async def _member(self, actor: Actor) -> MemberRec:
        name = clean_text(actor.display_name)[:100] or actor.external_id
        return await group_queries.ensure_member(
            actor.platform, actor.external_id, name, self.clock.now()
        )

    async def _group(self, place: Place) -> GroupRec | None:
        if place.is_direct:
            return None
        name = clean_text(place.name)[:100]
        return await group_queries.ensure_group(
            place.platform, place.external_id, name, self.defaults, self.clock.now()
        )

    async def _run_text(self, actor: Actor, place: Place, body: str, event_id: str) -> Reply:
        if len(body) > MAX_COMMAND_LENGTH:
            raise UserError(
                f"That message is {len(body)} characters long; commands stay under "
                f"{MAX_COMMAND_LENGTH}.",
                "Shorten the title or note.",
            )
        tokens = tokenize(body)
        command, used = self.registry.lookup([t.text for t in tokens[:2]], self.prefix)
        args_tokens = tokens[used:]
        await self._warm(actor, place)
        group = await self._group(place)
        pledges = (
            await pledge_queries.group_pledges(group.id, ("active", "paused"))
            if group is not None and any(a.kind == "pledge" for a in command.args)
            else []
        )
        raw = bind(command, args_tokens, self.prefix, lambda words: pledge_span(pledges, words))
        return await self._invoke(actor, place, command, raw, event_id, pledges, group)

    async def _pledges_for(self, place: Place) -> list[PledgeRec]:
        if place.is_direct:
            return []
        group = await group_queries.find_group(place.platform, place.external_id)
        if group is None:
            return []
        return await pledge_queries.group_pledges(group.id, ("active", "paused"))

    async def _invoke(
        self,
        actor: Actor,
        place: Place,
        command: Command,
        raw: dict[str, str],
        event_id: str,
        pledges: list[PledgeRec] | None = None,
        known_group: GroupRec | None = None,
    ) -> Reply:
        prefix = self.syntax.prefix(place.platform)
        if command.needs_group and place.is_direct:
            raise UserError(
                f"`{prefix}{command.name}` works in a group channel or room, not here.",
                "Run it in the channel where your group's pledges live.",
            )
        if command.who is Role.ADMIN and not actor.is_admin:
            raise PermissionDenied(
                f"Only group admins can use `{prefix}{command.name}`.",
                "Admins: Manage Server on Discord, power level 50 or room creator on Matrix.",
            )
        member = await self._member(actor)
        group = known_group if known_group is not None else await self._group(place)
        now = self.clock.now()
        if group is not None:
            report = await closing.close_due(now, group.id, group)
            if report.weeks or report.outcomes:
                # A week just closed: the group streak in hand is stale.
                group = await group_queries.get_group(group.id) or group
        if pledges is None:
            pledges = (
                await pledge_queries.group_pledges(group.id, ("active", "paused")) if group else []
            )
        inv = Invocation(
            command=command,
            actor=actor,
            place=place,
            member=member,
            group=group,
            now=now,
            event_key=self._event_key(actor, event_id),
            prefix=prefix,
            registry=self.registry,
            default_timezone=self.defaults.timezone,
            services=self.event_services,
        )
        for arg in command.args:
            value = raw.get(arg.name)
            if value is None or (value == "" and not arg.required):
                if arg.required:
                    raise UserError(
                        f"Missing {arg.placeholder or arg.name}: {arg.help}.", inv.usage()
                    )
                continue
            inv.args[arg.name] = await convert(inv, arg, value, pledges)
        reply = await command.handler(inv)
        if command.name in ANSWER_COMMANDS:
            self.meter.answered(command.name)
        if command.replans and self.hooks is not None:
            try:
                await self.hooks.plan_change(group.id if group else None, inv.plan)
            except Exception:
                log.exception("re-planning after %s failed", command.name)
        return reply

    async def _run_action(
        self, actor: Actor, place: Place, action_text: str, event_id: str
    ) -> Reply:
        action = decode(action_text)
        declared = self.registry.taps.get(action.verb) if action is not None else None
        if action is None or declared is None:
            raise UserError("I don't recognise that button any more; use the command instead.")
        member = await self._member(actor)
        now = self.clock.now()
        prefix = self.syntax.prefix(place.platform)
        pledge = group = None
        if declared.on_pledge:
            pledge = await pledge_queries.get_pledge(action.pledge_id)
            group = await group_queries.get_group(pledge.group_id) if pledge else None
            if pledge is None or group is None:
                raise UserError("That pledge no longer exists.")
            if place.platform != group.platform:
                raise PermissionDenied("This one is not yours.")
            part = await pledge_queries.participation_of(pledge.id, member.id)
            if part is None or not part.active:
                raise PermissionDenied(
                    f"This one is not yours: you are not taking part in “{inert(pledge.title)}”.",
                    f"Join it with `{prefix}pledge join {pledge.number}` if you like.",
                )
            await closing.close_due(now, group.id)
        tap = Tap(
            action=action,
            actor=actor,
            place=place,
            member=member,
            now=now,
            event_key=self._event_key(actor, event_id),
            prefix=prefix,
            pledge=pledge,
            group=group,
            snooze=self.hooks.snooze if self.hooks is not None else None,
            services=self.event_services,
        )
        reply = await declared.handler(tap)
        if action.verb in ("done", "not", "skip"):
            self.meter.answered(action.verb)
        elif action.verb.startswith("snooze") and action.verb != "snooze":
            self.meter.answered("snooze")
        return reply
