"""The Matrix adapter: login, the sync loop, events to engine calls, and the scheduler's Outbox."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RedactionEvent,
    RoomCreateError,
    RoomMessagesError,
    RoomMessageText,
    RoomPreset,
    RoomSendError,
    RoomSendResponse,
    SyncError,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.api import MessageDirection

from adapters.matrix import direct, render, room_life
from adapters.matrix.command_list import CommandList
from adapters.matrix.rooms import (
    RoomCreation,
    creation_from,
    invite_details,
    inviter_allowed,
    is_admin,
)
from adapters.matrix.state import HANDLED_KEPT, MatrixState, StateFile
from adapters.matrix.threads import thread_root
from bot.actors import Actor, Place
from bot.app.config import MatrixConfig
from bot.engine.choices import OfferedChoices
from bot.engine.engine import Engine
from bot.engine.places import GroupPlaces
from bot.errors import DeliveryError
from bot.messages.replies import Reply
from storage.choices import OfferedChoiceRec
from storage.records import GroupRec, MemberRec

if TYPE_CHECKING:
    from adapters.matrix.device_trust import DeviceTrust

log = logging.getLogger("logoff.matrix")

PLATFORM = "matrix"
SYNC_TIMEOUT_MS = 30_000
# Synapse returns 10 timeline events per room without a filter; a burst of commands must not
# be cut (and when it still is, `limited` makes us page back through prev_batch).
TIMELINE_LIMIT = 200
BACKFILL_MAX = 1_000
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
# The sync token is written when a sync brought something we acted on (handled event ids,
# invites, leaves) and otherwise at most this often: a restart then replays a little more,
# and the handled-event guard keeps replayed events from being answered twice.
TOKEN_SAVE_EVERY = 60.0
CHOICES_KEPT = 500
NETWORK_ERRORS = (ClientError, OSError, TimeoutError)


def sync_filter(timeline_limit: int) -> dict[str, Any]:
    # Our own messages stay in the timeline: with `not_senders` (tried, to spare the long poll
    # the echo of each reply) Synapse 1.163 marked a burst's sync `limited` and the rest of the
    # burst was never answered. The echo costs one cheap sync: nothing to handle, no write.
    return {
        "presence": {"types": []},
        "room": {
            "timeline": {"limit": timeline_limit},
            "state": {"lazy_load_members": True},
            "ephemeral": {"types": []},
        },
    }


def quiet_nio() -> None:
    """nio logs every state and timeline event at INFO: per command, a dozen formatted lines
    through the redaction filter. Keep its warnings; its chatter only when we debug."""
    if not log.isEnabledFor(logging.DEBUG):
        logging.getLogger("nio").setLevel(logging.WARNING)


class MatrixAdapter:
    """One bot account on one homeserver. `run()` serves until cancelled."""

    def __init__(self, engine: Engine, config: MatrixConfig, data_dir: Any) -> None:
        self.engine = engine
        self.config = config
        self.files = StateFile(data_dir / "matrix")
        self.state = MatrixState()
        self.client: AsyncClient | None = None
        self.ready = asyncio.Event()
        self._creations: dict[str, RoomCreation] = {}
        self._greet: set[str] = set()
        self._room_seen: dict[str, asyncio.Event] = {}
        self._handled: dict[str, None] = {}  # insertion-ordered set
        # Replies offering numbered choices, kept in the database (an answer after a restart
        # works) with the recent ones here too (the answer right away costs no query).
        self.choices = OfferedChoices(engine.clock)
        self.places = GroupPlaces(engine)
        self.command_list: CommandList | None = None  # made once the bot's user id is known
        self._upgrades: dict[str, str] = {}  # replacement room -> the room it replaces
        self._choices: OrderedDict[str, OfferedChoiceRec] = OrderedDict()
        self._reactions: OrderedDict[str, str] = OrderedDict()  # reaction id -> reacted event
        self._direct_lock = asyncio.Lock()
        self._dirty = False  # something to persist besides a newer sync token
        self._saved_at = 0.0
        self.trust: DeviceTrust | None = None
        if config.encryption:
            # Only with encryption: cross-signing needs the crypto libraries of the e2e extra.
            from adapters.matrix.device_trust import DeviceTrust

            self.trust = DeviceTrust(self.files.directory, config.password, config.recovery_key)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def user_id(self) -> str:
        return self.state.user_id or self.config.user_id

    def connection_problem(self) -> str | None:
        """For /ready (bot.app.health): None while the last sync with the homeserver worked."""
        if self.ready.is_set():
            return None
        return "not synced with the homeserver (starting, or the last sync failed)"

    async def run(self) -> None:
        started = time.monotonic()
        quiet_nio()
        try:
            await self._login()
            await self._sync_loop(started)
        finally:
            self.ready.clear()
            if self.client is not None:
                self._save()
                await self.client.close()

    def _client(self) -> AsyncClient:
        store = self.files.directory / "crypto"
        if self.config.encryption:
            store.mkdir(parents=True, exist_ok=True, mode=0o700)
        options = AsyncClientConfig(
            encryption_enabled=self.config.encryption,
            store_sync_tokens=False,
            # Fail fast and let our loop (sync) or the scheduler (sends) retry with backoff,
            # instead of nio sleeping inside one call while the homeserver is away.
            max_timeouts=0,
            max_limit_exceeded=0,
            request_timeout=20,
        )
        return AsyncClient(
            self.config.homeserver.rstrip("/"),
            self.config.user_id,
            store_path=str(store) if self.config.encryption else "",
            config=options,
        )

    async def _login(self) -> None:
        self.files.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.state = self.files.load()
        self._handled = dict.fromkeys(self.state.handled)
        homeserver = self.config.homeserver.rstrip("/")
        client = self.client = self._client()
        if self.state.logged_in_as(homeserver, self.config.user_id):
            client.restore_login(self.state.user_id, self.state.device_id, self.state.access_token)
            return
        fresh = MatrixState(homeserver=homeserver, user_id=self.config.user_id)
        if self.config.access_token:
            client.access_token = self.config.access_token
            who = await self._retrying(client.whoami)
            if not isinstance(who, WhoamiResponse) or not who.device_id:
                raise RuntimeError(f"Matrix access token rejected: {who}")
            fresh.user_id, fresh.device_id = who.user_id, who.device_id
            fresh.access_token = self.config.access_token
        else:
            resp = await self._retrying(
                lambda: client.login(self.config.password, device_name=self.config.device_name)
            )
            if not isinstance(resp, LoginResponse):
                raise RuntimeError(f"Matrix login failed for {self.config.user_id}: {resp}")
            fresh.user_id, fresh.device_id = resp.user_id, resp.device_id
            fresh.access_token = resp.access_token
        # The sync token belongs to the account, not the device: a re-login after a revoked
        # token goes on from where the old session stopped instead of skipping the gap.
        fresh.sync_token = self.state.sync_token
        fresh.direct_rooms = self.state.direct_rooms
        fresh.direct_room_ids = self.state.direct_room_ids
        self.state = fresh
        if self.trust is not None:
            self.trust.new_login()  # a new device: sign it (with the same keys)
        client.restore_login(fresh.user_id, fresh.device_id, fresh.access_token)
        self._save()
        log.info("logged in to %s as %s (device %s)", homeserver, fresh.user_id, fresh.device_id)

    async def _retrying(self, call: Any) -> Any:
        delay = BACKOFF_FIRST
        while True:
            try:
                return await call()
            except NETWORK_ERRORS as exc:
                log.warning("homeserver unreachable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    def _save(self) -> None:
        self.state.handled = list(self._handled)
        self.files.save(self.state)
        self._dirty = False
        self._saved_at = time.monotonic()

    async def _sync_loop(self, started: float) -> None:
        client = self.client
        assert client is not None
        first = True
        delay = BACKOFF_FIRST
        steady_filter = sync_filter(TIMELINE_LIMIT)
        while True:
            since = self.state.sync_token or None
            try:
                if first:
                    # Restart: the full state once (power levels, creators, encryption) plus
                    # what arrived while we were away. Fresh login: no history at all.
                    limit = TIMELINE_LIMIT if since else 1
                    resp = await client.sync(
                        timeout=0,
                        sync_filter=sync_filter(limit),
                        since=since,
                        full_state=True,
                    )
                else:
                    resp = await client.sync(
                        timeout=SYNC_TIMEOUT_MS, sync_filter=steady_filter, since=since
                    )
            except NETWORK_ERRORS as exc:
                self.ready.clear()
                log.warning("sync failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            if isinstance(resp, SyncError):
                if resp.status_code == "M_UNKNOWN_TOKEN" and self.config.password:
                    log.warning("access token no longer valid; logging in again")
                    self.state.access_token = ""
                    self._save()
                    stale = client
                    await self._login()
                    # The new login is a new client (a new device, its own crypto store).
                    client = self.client
                    assert client is not None
                    await stale.close()
                    first = True
                    continue
                log.warning("sync error %s; retrying in %.1fs", resp, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_FIRST
            await self._on_sync(resp, replay=bool(since) or not first)
            self.state.sync_token = resp.next_batch
            if first or self._dirty or time.monotonic() - self._saved_at >= TOKEN_SAVE_EVERY:
                self._save()
            if first:
                first = False
                self.ready.set()
                log.info("matrix ready in %.3fs", time.monotonic() - started)
            elif not self.ready.is_set():
                self.ready.set()
                log.info("matrix sync resumed")
            await self._crypto_chores()
            if self.trust is not None and self.client is not None:
                await self.trust.after_sync(self.client)

    async def _crypto_chores(self) -> None:
        """What `sync_forever` does after each sync: keys and to-device messages when due."""
        client = self.client
        if client is None or not self.config.encryption or client.olm is None:
            return
        try:
            await client.send_to_device_messages()
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
        except NETWORK_ERRORS as exc:
            log.warning("key maintenance failed (%s); will retry after the next sync", exc)

    # -- sync handling ----------------------------------------------------------------------

    async def _on_sync(self, resp: SyncResponse, replay: bool) -> None:
        if resp.rooms.invite or resp.rooms.leave:
            self._dirty = True
        for room_id, invite in resp.rooms.invite.items():
            await self._safely(self._on_invite(room_id, invite.invite_state), room_id)
        for room_id in resp.rooms.leave:
            await self._safely(self._on_left(room_id), room_id)
        for room_id, info in resp.rooms.join.items():
            self._learn(room_id, [*info.state, *info.timeline.events])
            replacement = room_life.replacement_of([*info.state, *info.timeline.events])
            if replacement is not None:
                await self._safely(self._follow_upgrade(room_id, replacement), room_id)
            await self._safely(self._publish_commands(room_id, info), room_id)
            seen = self._room_seen.pop(room_id, None)
            if seen is not None:
                seen.set()
            if room_id in self._greet:
                self._greet.discard(room_id)
                await self._hello(room_id)
            if not replay:
                continue  # first sync after a fresh login: history is not ours to answer
            events = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch and self.state.sync_token:
                events = await self._backfill(room_id, info.timeline.prev_batch) + events
            for event in events:
                await self._safely(self._on_event(room_id, event), room_id)

    async def _safely(self, work: Awaitable[None], room_id: str) -> None:
        """One bad event (or a homeserver hiccup while answering it) must not stop the loop."""
        try:
            await work
        except Exception:
            log.exception("handling an event in %s failed", room_id)

    def _learn(self, room_id: str, events: Iterable[Any]) -> None:
        for event in events:
            source = getattr(event, "source", None)
            if isinstance(source, dict) and source.get("type") == "m.room.create":
                creation = creation_from(source)
                if creation is not None:
                    self._creations[room_id] = creation

    async def _backfill(self, room_id: str, prev_batch: str) -> list[Any]:
        """Events between our last sync and the start of a `limited` timeline, oldest first."""
        client = self.client
        assert client is not None
        gathered: list[Any] = []
        start = prev_batch
        while len(gathered) < BACKFILL_MAX:
            resp = await client.room_messages(
                room_id,
                start=start,
                end=self.state.sync_token,
                direction=MessageDirection.back,
                limit=100,
            )
            if isinstance(resp, RoomMessagesError) or not resp.chunk:
                break
            gathered.extend(resp.chunk)
            if not resp.end or resp.end == start:
                break
            start = resp.end
        log.info("paged back %d events in %s after a limited sync", len(gathered), room_id)
        return list(reversed(gathered))

    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        client = self.client
        assert client is not None
        inviter, is_direct = invite_details(invite_state, self.user_id)
        if not inviter_allowed(inviter, self.config.allowed_inviters, self.user_id):
            log.info("declining invite to %s from %s (not an allowed inviter)", room_id, inviter)
            await client.room_leave(room_id)
            return
        resp = await client.join(room_id)
        if isinstance(resp, JoinError):
            log.warning("could not join %s: %s", room_id, resp)
            return
        if is_direct:
            await self._adopt_direct(inviter, room_id)
        elif room_id in self._upgrades:
            await self._move_group(self._upgrades.pop(room_id), room_id)
        else:
            # Invited back after a kick: the archived group carries on with its history.
            await self.places.restore(Place(PLATFORM, room_id))
        self._greet.add(room_id)  # once the room's state has arrived (encryption, name)
        log.info("joined %s on invite from %s", room_id, inviter)

    async def _publish_commands(self, room_id: str, info: Any) -> None:
        """The MSC4332 command list, once per room where the bot's power level allows."""
        client = self.client
        assert client is not None
        if self.command_list is None:
            self.command_list = CommandList(self.engine.registry, self.engine.prefix, self.user_id)
        self.command_list.observe(room_id, [*info.state, *info.timeline.events])
        room = client.rooms.get(room_id)
        if room is not None:
            await self.command_list.publish(client, room, self._creations.get(room_id))

    async def _follow_upgrade(self, old_room: str, new_room: str) -> None:
        """The room was upgraded (tombstone): join its replacement and move the group there."""
        client = self.client
        assert client is not None
        if new_room not in client.rooms:
            resp = await client.join(new_room)
            if isinstance(resp, JoinError):
                # An invite-only replacement: wait for the invite, then move (see _on_invite).
                log.warning("could not join %s, the upgrade of %s: %s", new_room, old_room, resp)
                self._upgrades[new_room] = old_room
                return
        await self._move_group(old_room, new_room)

    async def _move_group(self, old_room: str, new_room: str) -> None:
        client = self.client
        assert client is not None
        self._greet.discard(new_room)  # the group carries on there: no second hello
        if old_room in self.state.direct_room_ids:
            user_ids = [u for u, r in self.state.direct_rooms.items() if r == old_room]
            for user_id in user_ids:
                await self._adopt_direct(user_id, new_room)
        else:
            moved = await self.places.move(Place(PLATFORM, old_room), new_room)
            if moved is not None:
                log.info("group %s moved from %s to its upgrade %s", moved.id, old_room, new_room)
        # The old room is closed for good: leaving it keeps a stray command there from
        # starting a second group. Our leave arrives in a later sync and is handled there.
        with contextlib.suppress(*NETWORK_ERRORS):
            await client.room_leave(old_room)

    async def _adopt_direct(self, user_id: str, room_id: str) -> None:
        """A DM the member opened (an `is_direct` invite): the one the bot uses from now on."""
        client = self.client
        assert client is not None
        async with self._direct_lock:
            if room_id not in self.state.direct_room_ids:
                self.state.direct_room_ids.append(room_id)
            self.state.direct_rooms[user_id] = room_id
            self._dirty = True
            with contextlib.suppress(*NETWORK_ERRORS):
                await direct.mark_direct(client, user_id, room_id)

    async def _hello(self, room_id: str) -> None:
        p = self.engine.prefix
        reply = Reply(
            f"Hello! I'm Logoff: I help you keep small offline pledges and then get out of "
            f"your way. Type `{p}help` to see what I can do."
        )
        try:
            await self._send(room_id, render.content(reply, msgtype="m.notice"))
        except DeliveryError as exc:
            log.warning("could not greet %s: %s", room_id, exc)

    async def _on_left(self, room_id: str) -> None:
        """Kicked, banned or left: keep the group's data (archived), keep nothing on Matrix."""
        client = self.client
        assert client is not None
        if room_id in self.state.direct_room_ids:
            self.state.direct_room_ids.remove(room_id)
            self.state.direct_rooms = {
                u: r for u, r in self.state.direct_rooms.items() if r != room_id
            }
        else:
            await self.places.archive(Place(PLATFORM, room_id))
        self._creations.pop(room_id, None)
        self._greet.discard(room_id)
        if self.command_list is not None:
            self.command_list.forget(room_id)
        with contextlib.suppress(*NETWORK_ERRORS):  # tidiness, not correctness
            await client.room_forget(room_id)
        log.info("left %s", room_id)

    # -- events -----------------------------------------------------------------------------

    def _place(self, room: MatrixRoom) -> Place:
        one_to_one = room.room_id in self.state.direct_room_ids
        return Place(PLATFORM, room.room_id, room.display_name or "", is_direct=one_to_one)

    def _actor(self, room: MatrixRoom, user_id: str) -> Actor:
        level = room.power_levels.get_user_level(user_id)
        name = room.user_name(user_id) or user_id.split(":", 1)[0].lstrip("@")
        admin = is_admin(user_id, level, self._creations.get(room.room_id))
        return Actor(PLATFORM, user_id, name, is_admin=admin)

    async def _on_event(self, room_id: str, event: Any) -> None:
        client = self.client
        assert client is not None
        sender = getattr(event, "sender", "")
        event_id = getattr(event, "event_id", "")
        if sender == self.user_id or not event_id or event_id in self._handled:
            return
        room = client.rooms.get(room_id)
        if room is None:
            return
        if isinstance(event, RoomMessageText):
            text = render.command_text(event.source, event.body)
            if text is None or not self.engine.is_command(text):
                return
            self._mark(event_id)
            reply = await self.engine.handle_text(
                self._actor(room, sender), self._place(room), text, event_id
            )
            if reply is not None:
                thread = thread_root(event.source)  # answered where it was asked
                await self._answer(room_id, reply, event_id, owner=sender, thread=thread)
        elif isinstance(event, ReactionEvent):
            await self._on_reaction(room, event)
        elif isinstance(event, RedactionEvent):
            self._mark(event_id)
            reply = await self.engine.handle_unreaction(
                self._actor(room, sender), self._place(room), event.redacts
            )
            if reply is not None and not reply.error:
                await self._answer(room_id, reply, self._reactions.get(event.redacts))
        elif isinstance(event, MegolmEvent):
            log.warning("cannot decrypt %s in %s; asking for the key", event_id, room_id)
            try:
                await client.request_room_key(event)
            except Exception:  # a key request is best effort
                log.debug("room key request failed", exc_info=True)

    async def _on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
        self._mark(event.event_id)
        _remember(self._reactions, event.event_id, event.reacts_to, CHOICES_KEPT)
        actor, place = self._actor(room, event.sender), self._place(room)
        index = _choice_index(event.key)
        choice = await self._offered(event.reacts_to) if index is not None else None
        thread = None
        if choice is not None:
            who, actions, thread = choice.owner, choice.actions, choice.thread
            if (who and who != event.sender) or index is None or index >= len(actions):
                return
            reply: Reply | None = await self.engine.handle_action(
                actor, place, actions[index], event.event_id
            )
        else:
            reply = await self.engine.handle_reaction(
                actor, place, event.reacts_to, event.key, event.event_id
            )
        # A reaction by someone the prompt does not concern changes nothing and says nothing.
        if reply is not None and not reply.error:
            await self._answer(
                room.room_id, reply, event.reacts_to, owner=event.sender, thread=thread
            )

    async def _offered(self, event_id: str) -> OfferedChoiceRec | None:
        """The numbered choices a message of ours offered: recent ones here, all in the database."""
        choice = self._choices.get(event_id)
        if choice is None:
            choice = await self.choices.find(PLATFORM, event_id)
        return choice

    def _mark(self, event_id: str) -> None:
        self._handled[event_id] = None
        self._dirty = True
        if len(self._handled) > 2 * HANDLED_KEPT:
            self._handled = dict.fromkeys(list(self._handled)[-HANDLED_KEPT:])

    # -- sending ----------------------------------------------------------------------------

    async def _answer(
        self,
        room_id: str,
        reply: Reply,
        in_reply_to: str | None,
        owner: str = "",
        thread: str | None = None,
    ) -> str | None:
        """A reply to something a member did: a quiet m.notice (prompts excepted)."""
        try:
            return await self._post(room_id, reply, in_reply_to, owner=owner, thread=thread)
        except DeliveryError as exc:
            log.warning("reply to %s in %s not delivered: %s", in_reply_to, room_id, exc)
            return None

    async def _post(
        self,
        room_id: str,
        reply: Reply,
        in_reply_to: str | None = None,
        *,
        owner: str = "",
        group_id: int | None = None,
        thread: str | None = None,
    ) -> str:
        prompt = render.is_prompt(reply)
        # Push rules silence m.notice: a scheduled question (buttons) that must reach someone
        # goes out as m.text; replies to members and summaries stay quiet notices.
        loud = reply.buttons and in_reply_to is None
        msgtype = "m.text" if loud else "m.notice"
        message = render.content(
            reply, msgtype=msgtype, in_reply_to=in_reply_to, prompt=prompt, thread=thread
        )
        event_id = await self._send(room_id, message)
        if prompt:
            target = render.prompt_target(reply)
            if target is not None:
                await self.engine.record_sent(
                    PLATFORM, event_id, reply.extra.get("kind", "prompt"), group_id, *target
                )
            await self._seed(room_id, event_id, render.prompt_keys(reply))
        elif reply.buttons:
            # Numbered choices: for the member a reply answers, or (scheduled messages) anyone
            # the engine finds concerned; the typed command always works too.
            actions = tuple(b.action for b in reply.buttons)[: len(render.CHOICE_KEYS)]
            await self._offer(OfferedChoiceRec(PLATFORM, event_id, owner, actions, thread))
            await self._seed(room_id, event_id, render.CHOICE_KEYS[: len(actions)])
        if reply.image is not None:
            await self._send_file(room_id, reply)
        return event_id

    async def _offer(self, choice: OfferedChoiceRec) -> None:
        _remember(self._choices, choice.message_id, choice, CHOICES_KEPT)
        try:
            await self.choices.offer(
                PLATFORM, choice.message_id, choice.owner, choice.actions, choice.thread
            )
        except Exception:
            # The message is out; failing now would make the scheduler send it again. Until a
            # restart the choice still works from memory.
            log.exception("could not keep the choices of %s in the database", choice.message_id)

    async def _seed(self, room_id: str, event_id: str, keys: Iterable[str]) -> None:
        results = await asyncio.gather(
            *(self._send(room_id, render.reaction(event_id, k), "m.reaction") for k in keys),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.warning("could not seed a reaction on %s: %s", event_id, result)

    async def _send_file(self, room_id: str, reply: Reply) -> None:
        client = self.client
        assert client is not None
        assert reply.image is not None
        name = reply.image_name or "logoff.bin"
        picture = name.endswith(".png")
        mime = (
            "image/png"
            if picture
            else "application/json"
            if name.endswith(".json")
            else "application/octet-stream"
        )
        resp, _ = await client.upload(
            io.BytesIO(reply.image), content_type=mime, filename=name, filesize=len(reply.image)
        )
        if not isinstance(resp, UploadResponse):
            log.warning("upload of %s failed: %s", name, resp)
            return
        info: dict[str, Any] = {"mimetype": mime, "size": len(reply.image)}
        if reply.image_size is not None:
            info["w"], info["h"] = reply.image_size
        await self._send(
            room_id,
            {
                "msgtype": "m.image" if picture else "m.file",
                "body": (reply.image_alt or name) if picture else name,
                "filename": name,
                "url": resp.content_uri,
                "info": info,
                "m.mentions": {},
            },
        )

    async def _send(
        self, room_id: str, message: dict[str, Any], kind: str = "m.room.message"
    ) -> str:
        client = self.client
        if client is None or not client.access_token:
            raise DeliveryError("not connected to Matrix yet", retryable=True, retry_after=5)
        try:
            resp = await client.room_send(room_id, kind, message, ignore_unverified_devices=True)
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"homeserver unreachable: {exc}", retryable=True) from exc
        if isinstance(resp, RoomSendResponse):
            return str(resp.event_id)
        assert isinstance(resp, RoomSendError)
        if resp.status_code == "M_LIMIT_EXCEEDED":
            after = (resp.retry_after_ms or 5000) / 1000
            raise DeliveryError("rate limited", retryable=True, retry_after=after)
        permanent = resp.status_code in ("M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN")
        raise DeliveryError(f"homeserver refused: {resp}", retryable=not permanent)

    # -- Outbox -----------------------------------------------------------------------------

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str:
        return await self._post(group.external_id, reply, group_id=group.id)

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        try:
            room_id = await self._direct_room(member.external_id)
            return await self._post(
                room_id, reply, owner=member.external_id, group_id=fallback.id if fallback else None
            )
        except DeliveryError as exc:
            if fallback is None or exc.retryable:
                raise
            log.warning("DM to %s failed (%s); using the group room", member.external_id, exc)
            return await self.send_to_group(fallback, reply)

    async def _direct_room(self, user_id: str) -> str:
        """The member's 1:1 room with the bot: reused while they are in it, else created."""
        client = self.client
        if client is None or not self.ready.is_set():
            raise DeliveryError("not connected to Matrix yet", retryable=True, retry_after=5)
        async with self._direct_lock:
            room_id = self.state.direct_rooms.get(user_id)
            room = client.rooms.get(room_id) if room_id else None
            if room is not None and room.joined_count + room.invited_count >= 2:
                return room.room_id
            # Encrypted from its first event when the bot can encrypt (what Element does too).
            initial = [direct.encryption_state()] if self.config.encryption else []
            try:
                resp = await client.room_create(
                    is_direct=True,
                    invite=[user_id],
                    preset=RoomPreset.trusted_private_chat,
                    initial_state=initial,
                )
            except NETWORK_ERRORS as exc:
                raise DeliveryError(f"homeserver unreachable: {exc}", retryable=True) from exc
            if isinstance(resp, RoomCreateError):
                raise DeliveryError(f"cannot open a DM with {user_id}: {resp}", retryable=False)
            room_id = resp.room_id
            self._room_seen.setdefault(room_id, asyncio.Event())
            self.state.direct_rooms[user_id] = room_id
            self.state.direct_room_ids.append(room_id)
            self._save()
            with contextlib.suppress(*NETWORK_ERRORS):
                await direct.mark_direct(client, user_id, room_id)
            if self.config.encryption:
                try:
                    await asyncio.wait_for(self._synced_with(room_id, user_id), timeout=10)
                except TimeoutError as exc:
                    raise DeliveryError("new DM room not synced yet", retryable=True) from exc
            return room_id

    async def _synced_with(self, room_id: str, user_id: str) -> None:
        """Until a sync showed the new room as encrypted with the member in it.

        nio encrypts only for rooms it has synced, and shares the room key with the members it
        knows: a sync can show the room half-made (our join, not yet the invite), and a message
        sent then is one the member can never decrypt.
        """
        client = self.client
        assert client is not None
        while True:
            room = client.rooms.get(room_id)
            if room is not None and room.encrypted and user_id in room.users:
                return
            await self._room_seen.setdefault(room_id, asyncio.Event()).wait()


def _choice_index(key: str) -> int | None:
    try:
        return render.CHOICE_KEYS.index(key)
    except ValueError:
        return None


def _remember(cache: OrderedDict[str, Any], key: str, value: Any, limit: int) -> None:
    cache[key] = value
    while len(cache) > limit:
        cache.popitem(last=False)
