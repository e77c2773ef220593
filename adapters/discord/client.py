"""The Discord client: connects, syncs changed commands, and routes events to the engine."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from adapters.dir_lock import DirectoryLock
from bot.actors import Actor, Place
from bot.app.config import Config
from bot.engine.claims import EventClaims
from bot.engine.engine import Engine
from bot.messages.actions import event_action
from bot.messages.replies import Reply
from bot.ports import Outbox

from . import identity
from .buttons import AnswerButton
from .claimed import Once
from .events import ScheduledEvents
from .files import ClosedDms, CommandHashes, discord_dir
from .outbox import DiscordOutbox
from .respond import CLOSED_DM_NOTICE, apologise
from .slash import Completer, build_commands, command_digest

log = logging.getLogger("logoff.discord")

GUILD_READY_TIMEOUT = 2.0
# A rate-limit wait longer than this is handed back to the scheduler as a retryable failure.
MAX_RATELIMIT_WAIT = 30.0
MAX_CHOICES = 25
NOT_SERVED = "This bot does not serve this server."


def gateway_intents() -> discord.Intents:
    """Only what is used: guilds and reactions; nothing privileged, no message content."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_reactions = True
    intents.dm_reactions = True
    intents.guild_scheduled_events = True  # "Interested" on mirrored events (not privileged)
    return intents


class LogoffTree(app_commands.CommandTree["LogoffClient"]):
    """The one error boundary of slash commands; refuses guilds the config does not serve."""

    async def interaction_check(self, interaction: discord.Interaction[LogoffClient]) -> bool:
        if interaction.client.serves(interaction.guild_id):
            return True
        if interaction.type is discord.InteractionType.application_command:
            await interaction.response.send_message(NOT_SERVED, ephemeral=True)
        return False

    async def on_error(
        self,
        interaction: discord.Interaction[LogoffClient],
        error: app_commands.AppCommandError,
    ) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        name = interaction.command.qualified_name if interaction.command else "?"
        await apologise(interaction, cause, f"command /{name}")


class LogoffClient(discord.Client):
    """One bot connection; the engine decides everything, this class only translates."""

    def __init__(
        self,
        engine: Engine,
        config: Config,
        *,
        on_ready: Callable[[str, Outbox], None] | None = None,
        force_sync: bool = False,
        **options: Any,
    ) -> None:
        # `options` go to discord.py as they are (the sharded client's shard_count, shard_ids).
        super().__init__(
            intents=gateway_intents(),
            guild_ready_timeout=GUILD_READY_TIMEOUT,
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
            # The raw frames carry "Interested" for members discord.py has not cached.
            enable_debug_events=True,
        )
        self.engine = engine
        # Not `self.on_ready`: discord.py would call that as its READY event handler, without
        # arguments.
        self._attach = on_ready
        self.guild_ids = config.discord.guilds
        self.force_sync = force_sync
        folder = discord_dir(config.bot.data_dir)
        self.hashes = CommandHashes(folder / "commands.json")
        self.closed_dms = ClosedDms(folder / "closed-dms.json")
        self.calendar = ScheduledEvents(
            self, folder / "scheduled-events.json", self.on_interest, self.engine.mirrored_event
        )
        # One live process per data directory: its id names this instance in the claims of
        # incoming events (a restart takes its dead predecessor's claims back at once).
        self.lock = DirectoryLock(folder, "its Discord event claims")
        self.once: Once | None = None
        self.outbox = DiscordOutbox(self, self.closed_dms, self.calendar)
        self.tree = LogoffTree(self)
        for command in build_commands(engine.registry, self.run_command, self.completers):
            self.tree.add_command(command)
        self.synced_scopes: list[str] = []

    async def close(self) -> None:
        await super().close()
        self.lock.release()

    def serves(self, guild_id: int | None) -> bool:
        return guild_id is None or not self.guild_ids or guild_id in self.guild_ids

    # -- start-up -----------------------------------------------------------------------

    async def setup_hook(self) -> None:
        if not self.force_sync:  # `logoff discord-sync` handles no events: no claims, no lock
            instance = self.lock.acquire()  # DirectoryInUse (StartRefused): start refused
            self.once = Once(EventClaims(self.engine.clock, instance, self.engine.writer))
        self.add_dynamic_items(AnswerButton)
        try:
            await self.sync_commands(force=self.force_sync)
        except discord.HTTPException:
            if self.force_sync:
                raise  # `logoff discord-sync` must not report success
            log.exception("syncing slash commands failed; the last synced set stays in use")
        if self._attach is not None:
            self._attach(identity.PLATFORM, self.outbox)

    async def sync_commands(self, *, force: bool = False) -> list[str]:
        """Upload the command set where it changed (or everywhere when forced); returns scopes."""
        digest = command_digest(self.tree)
        app_id = self.application_id
        targets: list[discord.Object | None] = (
            [discord.Object(g) for g in self.guild_ids] if self.guild_ids else [None]
        )
        synced: list[str] = []
        for guild in targets:
            scope = f"{app_id}:{guild.id if guild else 'global'}"
            if not force and self.hashes.get(scope) == digest:
                continue
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            self.hashes.set(scope, digest)
            synced.append(scope)
        if self.guild_ids and self.hashes.get(f"{app_id}:global") is not None:
            # Moved from global to per-guild commands: remove the global copies once.
            await self._clear_global()
            self.hashes.set(f"{app_id}:global", None)
        self.synced_scopes.extend(synced)
        if synced:
            log.info("synced slash commands: %s", ", ".join(synced))
        return synced

    async def _clear_global(self) -> None:
        assert self.application_id is not None
        await self.http.bulk_upsert_global_commands(self.application_id, [])

    # -- events -------------------------------------------------------------------------

    async def run_command(
        self, interaction: discord.Interaction, path: tuple[str, ...], raw: dict[str, str]
    ) -> None:
        actor = identity.actor_of(interaction)
        place = identity.place_of(interaction)
        event_id = str(interaction.id)
        assert self.once is not None
        if await self.once.answer(
            interaction,
            lambda: self.engine.handle_command(actor, place, path, raw, event_id),
            self.posted,
        ):
            await self._closed_dm_notice(interaction)

    async def answer_tap(self, interaction: discord.Interaction, action: str) -> None:
        try:
            if not self.serves(interaction.guild_id):
                await interaction.response.send_message(NOT_SERVED, ephemeral=True)
                return
            actor = identity.actor_of(interaction)
            place = identity.place_of(interaction)
            event_id = str(interaction.id)
            assert self.once is not None
            if await self.once.answer(
                interaction,
                lambda: self.engine.handle_action(actor, place, action, event_id),
                self.posted,
            ):
                await self._closed_dm_notice(interaction)
        except Exception as exc:
            await apologise(interaction, exc, f"button {action}")

    async def posted(self, message_id: str, reply: Reply) -> None:
        """A public answer is in the channel: the core keeps an event card's id to edit it."""
        await self.engine.record_posted(identity.PLATFORM, message_id, reply)

    @property
    def completers(self) -> dict[str, Completer]:
        """Autocomplete per argument kind: the channel's pledges, the channel's events."""
        return {"pledge": self.complete_pledge, "event": self.complete_event}

    async def complete_pledge(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        place = identity.place_of(interaction)
        return await self._complete(
            "pledge", interaction, self.engine.pledge_choices(place, current)
        )

    async def complete_event(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        command = interaction.command
        path = tuple(command.extras.get("path", ())) if command is not None else ()
        place = identity.place_of(interaction)
        return await self._complete(
            "event", interaction, self.engine.event_choices(place, current, path)
        )

    @staticmethod
    async def _complete(
        kind: str, interaction: discord.Interaction, work: Awaitable[list[tuple[str, str]]]
    ) -> list[app_commands.Choice[str]]:
        try:
            pairs = await work
        except Exception:
            log.exception("%s autocomplete failed in channel %s", kind, interaction.channel_id)
            return []
        return [
            app_commands.Choice(name=label[:100], value=value)
            for label, value in pairs[:MAX_CHOICES]
        ]

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """✅ / ❌ / ⏭ / 💤 on one of the bot's prompts answers it, like the buttons."""
        own = self.user is not None and payload.user_id == self.user.id
        if own or not self.serves(payload.guild_id):
            return
        name = payload.member.display_name if payload.member else str(payload.user_id)
        event_id = _reaction_key(payload)
        try:
            assert self.once is not None
            reply = await self.once.handle_silently(
                event_id,
                lambda: self.engine.handle_reaction(
                    identity.reaction_actor(payload, name),
                    identity.reaction_place(payload),
                    str(payload.message_id),
                    str(payload.emoji),
                    event_id,
                ),
            )
        except Exception:
            log.exception("reaction on message %s failed", payload.message_id)
            return
        if reply is not None and reply.error:
            # A reaction has no private answer channel on Discord; the buttons give one.
            log.info("reaction by %s not recorded: %s", payload.user_id, reply.text)

    async def on_socket_raw_receive(self, raw: Any) -> None:
        try:
            await self.calendar.on_raw_gateway(raw)
        except Exception:
            log.exception("handling a scheduled event's member change failed")

    async def on_interest(
        self, actor: Actor, place: Place, event_id: int, interested: bool, key: str
    ) -> None:
        """Interested on a mirrored event counts as Maybe; un-marking takes exactly that back."""
        if interested:
            action = event_action("maybe", event_id).encode()
            reply: Reply | None = await self.engine.handle_action(actor, place, action, key)
        else:
            reply = await self.engine.handle_unreaction(actor, place, key)
        if reply is not None and reply.error:
            log.info("interest in event %s not recorded: %s", event_id, reply.text)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        """A reaction taken back undoes exactly what it recorded (an RSVP on an event's card)."""
        own = self.user is not None and payload.user_id == self.user.id
        if own or not self.serves(payload.guild_id):
            return
        try:
            name = await identity.member_name(self, payload.guild_id, payload.user_id)
            key = _reaction_key(payload)
            # Every process sees the removal and undoes it: undoing is idempotent (what the key
            # recorded is gone after the first). Discord names a reaction by message, user and
            # emoji only: the same reaction added again is a new answer, so the add's claim
            # goes, in the commit that undoes it.
            assert self.once is not None
            await self.once.undo(
                key,
                lambda: self.engine.handle_unreaction(
                    identity.reaction_actor(payload, name), identity.reaction_place(payload), key
                ),
            )
        except Exception:
            log.exception("removing a reaction on message %s failed", payload.message_id)

    async def _closed_dm_notice(self, interaction: discord.Interaction) -> None:
        """Tell a member once, privately, that their closed DMs made me mention them instead."""
        user_id = interaction.user.id
        if not self.closed_dms.needs_notice(user_id):
            return
        try:
            await interaction.followup.send(CLOSED_DM_NOTICE, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell user %s about their closed DMs", user_id)
            return
        self.closed_dms.told(user_id)


def _reaction_key(payload: discord.RawReactionActionEvent) -> str:
    """The same key for a reaction and its removal, so the removal undoes what it recorded."""
    return f"reaction:{payload.message_id}:{payload.user_id}:{payload.emoji}"
