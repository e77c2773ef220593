"""The Matrix adapter: login, the sync loop, events to engine calls, and the scheduler's Outbox."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

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

from adapters.dir_lock import DirectoryLock
from adapters.matrix import direct, events, render, room_life
from adapters.matrix.command_list import CommandList
from adapters.matrix.echoes import Echoes
from adapters.matrix.idempotency import (
    PARTS_KEY,
    LookupFailed,
    find_by_key,
    find_parts,
    keyed,
    part_key,
    txn_id,
)
from adapters.matrix.lean_sync import LeanSyncClient
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
from bot.app import start_trace
from bot.app.config import MatrixConfig
from bot.engine import claims as claim_states
from bot.engine.choices import OfferedChoices
from bot.engine.claims import EventClaims, reply_key
from bot.engine.direct_rooms import HELD, LOOK, ROOM, DirectRooms
from bot.engine.engine import Engine
from bot.engine.places import GroupPlaces
from bot.errors import DeliveryError
from bot.messages.event_card import CARD_UPDATED
from bot.messages.replies import NOTIFY, Reply
from bot.ports import idempotency_key
from bot.scheduling import crash_points
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
# The sync token is written when a sync changed what the adapter keeps (invites, leaves, a
# held token let go, DM rooms) and otherwise at most this often, with the handled event ids
# (not after each command: a rename of session.json took ~1-1.5 ms of CPU per command, and a
# disk write). A restart then replays up to this much: each replayed event finds its claim in
# the database answered (`_once`), so none is answered twice; the saved ids only spare that
# look-up.
TOKEN_SAVE_EVERY = 60.0
CHOICES_KEPT = 500
NETWORK_ERRORS = (ClientError, OSError, TimeoutError)
# An event another process holds, or one whose handling the database refused, is tried again
# this often (a held one at the latest when the holder's lease runs out).
DEFER_RETRY = 5.0
# A DM room opened while preparing a scheduled send is waited for this long to show in a sync.
DM_SETTLE = 2.0
SEED_WAIT = 5.0  # a stop waits this long for reactions still going onto sent messages
# Reactions go onto a sent message once our sync has brought it back (`echoes.Echoes`), or
# after this long when no sync does.
ECHO_WAIT = 1.0
# The next long poll waits this long at most for the reactions going onto a message our sync
# has brought back: sent by then, they come back together in one sync, not in one sync each.
SYNC_HOLD = 0.3
DEFER_GIVE_UP = 3600.0  # an event that cannot be finished for an hour is logged and dropped
# How long a DM waits for another process that is creating the member's DM room right now,
# and how often it looks whether the room is recorded yet.
DIRECT_WAIT, DIRECT_POLL = 5.0, 0.2


class Answer(NamedTuple):
    """What handling an event produced: the reply to send, what it answers, for whom, where."""

    reply: Reply | None
    in_reply_to: str | None = None
    owner: str = ""
    thread: str | None = None


def sync_filter(timeline_limit: int) -> dict[str, Any]:
    # Our own messages stay in the timeline: with `not_senders` (tried, to spare the long poll
    # the echo of each reply) Synapse 1.163 marked a burst's sync `limited` and the rest of the
    # burst was never answered. The echo costs one cheap sync: nothing to handle, no write.
    # Nothing the bot never reads: presence, receipts and typing (ephemeral), account data (the
    # bot writes m.direct but reads nothing from it; each write woke a sync for nothing).
    return {
        "presence": {"types": []},
        "account_data": {"types": []},
        "room": {
            "timeline": {"limit": timeline_limit},
            "state": {"lazy_load_members": True},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
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
        # Reactions going onto sent messages: the task -> the message's event id.
        self._seeding: dict[asyncio.Task[None], str] = {}
        self._echoes = Echoes()
        # DM rooms this process opened that no sync has shown with the member yet.
        self._unsettled_rooms: set[str] = set()
        self._handled: dict[str, None] = {}  # insertion-ordered set
        # Replies offering numbered choices, kept in the database (an answer after a restart
        # works) with the recent ones here too (the answer right away costs no query).
        self.choices = OfferedChoices(engine.clock)
        self.places = GroupPlaces(engine)
        self.command_list: CommandList | None = None  # made once the bot's user id is known
        self._upgrades: dict[str, str] = {}  # replacement room -> the room it replaces
        self._choices: OrderedDict[str, OfferedChoiceRec] = OrderedDict()
        # Batches `find_sent` found cut short: key -> (room, part number -> event id there).
        self._cut_short: OrderedDict[str, tuple[str, dict[int, str]]] = OrderedDict()
        self._reactions: OrderedDict[str, str] = OrderedDict()  # reaction id -> reacted event
        # Scheduled sends whose choices were stored before their due instant (`prepare_send`):
        # (key, owner, group id) -> None.
        self._expected: OrderedDict[tuple[str, str, int | None], None] = OrderedDict()
        self._direct_lock = asyncio.Lock()
        self._dirty = False  # something to persist besides a newer sync token
        self._saved_at = 0.0
        self.trust: DeviceTrust | None = None
        if config.encryption:
            # Only with encryption: cross-signing needs the crypto libraries of the e2e extra.
            from adapters.matrix.device_trust import DeviceTrust

            self.trust = DeviceTrust(self.files.directory, config.password, config.recovery_key)
        self.lock = DirectoryLock(self.files.directory, "its Matrix login and store")
        self.claims: EventClaims | None = None
        self.directs: DirectRooms | None = None  # the DM rooms every process on the account uses
        # Events not finished yet (held elsewhere, or the database was away): event id ->
        # (room id, event, when to try again). While there are any, the sync token saved is
        # the one from before the first of them, so a restart sees them again.
        self._deferred: dict[str, tuple[str, Any, float, float]] = {}  # + first deferred
        self._held_token: str | None = None
        self._batch_since: str | None = None  # the token the batch being handled came after
        # Events claimed and being answered: never saved as "handled" until they are finished.
        self._in_flight: set[str] = set()
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None

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
        """Serve until cancelled or `stop()`ped; the sync state is saved on the way out."""
        started = time.monotonic()
        quiet_nio()
        self._runner = asyncio.current_task()
        instance = self.lock.acquire()
        self.claims = EventClaims(self.engine.clock, instance, self.engine.writer)
        self.directs = DirectRooms(self.engine.clock, PLATFORM, self.user_id, self.claims.owner)
        try:
            start_trace.mark("Matrix adapter runs")
            await self._login()
            start_trace.mark("logged in (or session restored)")
            await self._sync_loop(started)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._stopping or task is None:
                raise
            task.uncancel()
        finally:
            self.ready.clear()
            if self.client is not None:
                self._save()
                self._echoes.release()  # no sync brings the messages back now: seed at once
                await self._seeded()
                await self.client.close()
            self.lock.release()

    def stop(self) -> None:
        """Make `run()` return soon (the long poll is abandoned) after saving the sync state.

        Safe to call from a signal handler's callback on the loop, and more than once."""
        self._stopping = True
        if self.client is not None and self.state.access_token:
            self._save()
        if self._runner is not None and not self._runner.done():
            self._runner.cancel()

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
        client = LeanSyncClient(
            self.config.homeserver.rstrip("/"),
            self.config.user_id,
            store_path=str(store) if self.config.encryption else "",
            config=options,
        )
        client.on_own = self._echoes.seen  # our own events come back as ids only
        return client

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
        unfinished = self._in_flight | set(self._deferred)
        self.state.handled = [e for e in self._handled if e not in unfinished]
        live = self.state.sync_token
        if self._held_token is not None:
            self.state.sync_token = self._held_token
        try:
            self.files.save(self.state)
        finally:
            self.state.sync_token = live
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
                    start_trace.mark("first sync sent")
                    resp = await client.sync(
                        timeout=0,
                        sync_filter=sync_filter(limit),
                        since=since,
                        full_state=True,
                    )
                else:
                    await self._reactions_out()
                    wait_ms = SYNC_TIMEOUT_MS if not self._deferred else int(DEFER_RETRY * 1000)
                    resp = await client.sync(
                        timeout=wait_ms, sync_filter=steady_filter, since=since
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
            if first:
                start_trace.mark("first sync returned")
            await self._on_sync(resp, replay=bool(since) or not first, since=since)
            if first:
                start_trace.mark("first sync handled")
            self.state.sync_token = resp.next_batch
            await self._retry_deferred()
            if first or self._dirty or time.monotonic() - self._saved_at >= TOKEN_SAVE_EVERY:
                self._save()
            if first:
                first = False
                self.ready.set()
                log.info("matrix ready in %.3fs", time.monotonic() - started)
                start_trace.mark("matrix ready")
                await self._prune_claims()
            elif not self.ready.is_set():
                self.ready.set()
                log.info("matrix sync resumed")
            await self._crypto_chores()
            if self.trust is not None and self.client is not None:
                await self.trust.after_sync(self.client)

    async def _prune_claims(self) -> None:
        try:
            assert self.claims is not None
            await self.claims.prune()
        except Exception as exc:  # housekeeping: the next start tries again
            log.warning("could not prune old event claims: %s", exc)

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

    async def _on_sync(self, resp: SyncResponse, replay: bool, since: str | None = None) -> None:
        if resp.rooms.invite or resp.rooms.leave:
            self._dirty = True
        for room_id, invite in resp.rooms.invite.items():
            await self._safely(self._on_invite(room_id, invite.invite_state), room_id)
        for room_id in resp.rooms.leave:
            await self._safely(self._on_left(room_id), room_id)
        for room_id, info in resp.rooms.join.items():
            self._echoes.seen(e.event_id for e in info.timeline.events if e.sender == self.user_id)
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
            self._batch_since = since
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
            try:  # so the other processes on the account use it too
                assert self.directs is not None
                await self.directs.adopt(user_id, room_id)
            except Exception as exc:  # a DM still works; the others find it by its members
                log.warning("could not record %s as the DM with %s: %s", room_id, user_id, exc)
            with contextlib.suppress(*NETWORK_ERRORS):
                await direct.mark_direct(client, user_id, room_id)

    async def _hello(self, room_id: str) -> None:
        p = self.engine.prefix
        reply = Reply(
            f"Hello! I'm Logoff: I help you keep small offline pledges and then get out of "
            f"your way. Type `{p}help` to see what I can do."
        )
        # Every process on the account joins on the invite; one of them greets. The day is in
        # the key, so a room that invites the bot back on a later day is greeted again.
        key = f"hello:{room_id}:{self.engine.clock.now():%Y-%m-%d}"
        try:
            assert self.claims is not None
            claim = await self.claims.claim(PLATFORM, key)
        except Exception as exc:
            log.warning("could not claim the greeting of %s (%s); greeting anyway", room_id, exc)
            claim = None
        if claim is not None and not claim.ours:
            return
        try:
            content = keyed(render.content(reply, msgtype="m.notice"), key)
            await self._send(room_id, content, txn=txn_id(key))
        except DeliveryError as exc:
            log.warning("could not greet %s: %s", room_id, exc)
        with contextlib.suppress(Exception):
            assert self.claims is not None
            await self.claims.answered(PLATFORM, key)

    async def _on_left(self, room_id: str) -> None:
        """Kicked, banned or left: keep the group's data (archived), keep nothing on Matrix."""
        client = self.client
        assert client is not None
        if room_id in self.state.direct_room_ids:
            self.state.direct_room_ids.remove(room_id)
            gone = [u for u, r in self.state.direct_rooms.items() if r == room_id]
            self.state.direct_rooms = {
                u: r for u, r in self.state.direct_rooms.items() if r != room_id
            }
            for user_id in gone:
                await self._forget_direct(user_id, room_id)
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
        one_to_one = room.room_id in self.state.direct_room_ids or self._made_by_account(
            room.room_id
        )
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
            actor, place = self._actor(room, sender), self._place(room)
            thread = thread_root(event.source)  # answered where it was asked

            async def command() -> Answer:
                reply = await self.engine.handle_text(actor, place, text, event_id)
                return Answer(reply, event_id, sender, thread)

            await self._once(room_id, event, command)
        elif isinstance(event, ReactionEvent):
            _remember(self._reactions, event.event_id, event.reacts_to, CHOICES_KEPT)
            await self._once(room_id, event, lambda: self._on_reaction(room, event))
        elif isinstance(event, RedactionEvent):
            actor, place = self._actor(room, sender), self._place(room)

            async def unreaction() -> Answer:
                reply = await self.engine.handle_unreaction(actor, place, event.redacts)
                if reply is None or reply.error or reply.extra.get(CARD_UPDATED):
                    return Answer(None)
                return Answer(reply, self._reactions.get(event.redacts))

            await self._once(room_id, event, unreaction)
        elif isinstance(event, MegolmEvent):
            log.warning("cannot decrypt %s in %s; asking for the key", event_id, room_id)
            try:
                await client.request_room_key(event)
            except Exception:  # a key request is best effort
                log.debug("room key request failed", exc_info=True)

    async def _once(
        self,
        room_id: str,
        event: Any,
        handle: Callable[[], Awaitable[Answer]],
    ) -> None:
        """Handle an event and answer it exactly once, whichever process saw it, whenever.

        The claim in the database comes first (another process, or this one before a restart,
        may have it); the reply is stored before it is sent, so a process that dies after the
        command took effect leaves the answer, not the command, to whoever takes over; the
        answer is sent with a transaction id and content key derived from the event, and a
        taken-over answer is looked for in the room before it is sent.
        """
        claims = self.claims
        assert claims is not None
        event_id = str(event.event_id)
        try:
            claim = await claims.claim(PLATFORM, event_id)
        except Exception:
            log.exception("could not claim %s; will try again", event_id)
            self._defer(room_id, event, DEFER_RETRY)
            return
        if claim.state == claim_states.DONE:
            self._finish(event_id)
            return
        if claim.state == claim_states.HELD:
            wait = DEFER_RETRY
            if claim.held_until is not None:
                wait = min(wait, (claim.held_until - self.engine.clock.now()).total_seconds())
            self._defer(room_id, event, max(0.5, wait))
            return
        self._mark(event_id)
        self._in_flight.add(event_id)
        try:
            await self._answer_claimed(room_id, event, claim, handle)
        finally:
            self._in_flight.discard(event_id)

    async def _answer_claimed(
        self,
        room_id: str,
        event: Any,
        claim: claim_states.Claim,
        handle: Callable[[], Awaitable[Answer]],
    ) -> None:
        claims = self.claims
        assert claims is not None
        event_id = str(event.event_id)
        key = reply_key(event_id)
        try:
            if claim.state == claim_states.REPLY:
                answer = self._stored_answer(claim)
                found = await self._find(room_id, key) if answer.reply is not None else None
                if found is not None:
                    await self._posted(key, found)  # what its choices mean, kept before
                    answer = Answer(None)  # it went out before the crash
            else:

                async def run() -> Answer:
                    answer = await handle()
                    crash_points.reached("handled")  # written, not committed: handled again
                    return answer

                # The command's effects and its stored reply commit together.
                handled = await claims.handle_once(PLATFORM, event_id, run, _stored_target)
                if handled is None:
                    log.warning("lost the claim on %s; another process answers it", event_id)
                    return
                answer = handled
                crash_points.reached("stored")  # committed with its reply, not sent yet
            if answer.reply is not None:
                await self._answer(
                    room_id,
                    answer.reply,
                    answer.in_reply_to,
                    owner=answer.owner,
                    thread=answer.thread,
                    key=key,
                )
            crash_points.reached("replied")
            await claims.answered(PLATFORM, event_id)
        except LookupFailed as exc:
            log.warning("cannot tell whether %s was answered (%s); will try again", event_id, exc)
            self._defer(room_id, event, DEFER_RETRY)
            return
        except Exception:
            log.exception("could not finish %s; will try again", event_id)
            self._defer(room_id, event, DEFER_RETRY)
            return
        self._finish(event_id)

    @staticmethod
    def _stored_answer(claim: claim_states.Claim) -> Answer:
        target = (claim.reply or {}).get("target") or {}
        return Answer(
            EventClaims.stored_reply(claim),
            str(target.get("in_reply_to") or "") or None,
            str(target.get("owner") or ""),
            str(target.get("thread") or "") or None,
        )

    async def _find(self, room_id: str, key: str) -> str | None:
        client = self.client
        if client is None:
            raise LookupFailed("not connected to Matrix yet")
        try:
            return await find_by_key(client, room_id, self.user_id, key)
        except NETWORK_ERRORS as exc:
            raise LookupFailed(f"homeserver unreachable: {exc}") from exc

    def _defer(self, room_id: str, event: Any, after: float) -> None:
        event_id = str(event.event_id)
        self._handled.pop(event_id, None)
        if not self._deferred and self._held_token is None:
            self._held_token = self._batch_since or self.state.sync_token or None
        now = time.monotonic()
        first = self._deferred.get(event_id, (room_id, event, now, now))[3]
        if now - first > DEFER_GIVE_UP:
            log.error("giving up on %s in %s after %.0f s", event_id, room_id, now - first)
            self._finish(event_id)
            return
        self._deferred[event_id] = (room_id, event, now + after, first)

    def _finish(self, event_id: str) -> None:
        self._mark(event_id)
        if self._deferred.pop(event_id, None) is not None and not self._deferred:
            self._held_token = None
            self._dirty = True

    async def _retry_deferred(self) -> None:
        now = time.monotonic()
        due = [(e, r, ev) for e, (r, ev, at, _) in self._deferred.items() if at <= now]
        for event_id, room_id, event in due:
            self._handled.pop(event_id, None)
            await self._safely(self._on_event(room_id, event), room_id)

    async def _on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> Answer:
        actor, place = self._actor(room, event.sender), self._place(room)
        index = _choice_index(event.key)
        choice = await self._offered(event.reacts_to) if index is not None else None
        thread = None
        if choice is not None:
            who, actions, thread = choice.owner, choice.actions, choice.thread
            if (who and who != event.sender) or index is None or index >= len(actions):
                return Answer(None)
            reply: Reply | None = await self.engine.handle_action(
                actor, place, actions[index], event.event_id
            )
        else:
            reply = await self.engine.handle_reaction(
                actor, place, event.reacts_to, event.key, event.event_id
            )
        # A reaction by someone the prompt does not concern changes nothing and says nothing;
        # an answer the event's card now shows (replaced in place) needs no message either.
        if reply is None or reply.error or reply.extra.get(CARD_UPDATED):
            return Answer(None)
        return Answer(reply, event.reacts_to, event.sender, thread)

    async def _offered(self, event_id: str) -> OfferedChoiceRec | None:
        """The numbered choices a message of ours offered: recent ones here, all in the database."""
        choice = self._choices.get(event_id)
        if choice is None:
            choice = await self.choices.find(PLATFORM, event_id)
        return choice

    def _mark(self, event_id: str) -> None:
        self._handled[event_id] = None  # saved with the next token (TOKEN_SAVE_EVERY)
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
        key: str = "",
    ) -> str | None:
        """A reply to something a member did: a quiet m.notice (prompts excepted)."""
        try:
            return await self._post(
                room_id, reply, in_reply_to, owner=owner, thread=thread, key=key
            )
        except DeliveryError as exc:
            if exc.retryable:
                raise  # the homeserver is away: the event is tried again, the reply with it
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
        key: str = "",
    ) -> str:
        """Send a reply; with `key`, idempotently (txn ids and the content key from it)."""
        by_emoji = events.answered_by_emoji(reply, in_reply_to)
        prompt = render.is_prompt(reply) and not by_emoji
        parts = None if prompt or by_emoji else render.batch_parts(reply)
        if parts is not None:
            return await self._post_batch(room_id, reply, parts, owner=owner, key=key)
        message = self._content(reply, in_reply_to, prompt=prompt, by_emoji=by_emoji, thread=thread)
        target = render.prompt_target(reply) if prompt else None
        kind = reply.extra.get("kind", "prompt")
        # Numbered choices: for the member a reply answers, or (scheduled messages) anyone
        # the engine finds concerned; the typed command always works too.
        actions = (
            tuple(b.action for b in reply.buttons)[: len(render.CHOICE_KEYS)]
            if reply.buttons and not by_emoji and not prompt
            else ()
        )
        if key and not self._prepared((key, owner, group_id)):
            # What a tap on it means is stored before the send, under its key: a crash right
            # after the send loses no mapping (the key gets the event id after the send, or
            # from the reconcile that finds the message). Scheduled sends: done ahead.
            await self._expect(key, kind, target, actions, owner, group_id, thread)
        event_id = await self._send(room_id, keyed(message, key), txn=txn_id(key) if key else None)
        crash_points.reached("posted")  # on the platform, its event id kept nowhere yet
        await self.engine.record_posted(PLATFORM, event_id, reply)  # an event's card
        if key and (target is not None or actions):
            await self._posted(key, event_id)
        if by_emoji:
            # An event's card (✅ 🤔 ❌) and "did you make it?" (✅ ❌): the core maps these
            # reactions back through the message id it keeps, so they work after a restart.
            self._seed_soon(room_id, event_id, [b.emoji for b in reply.buttons])
        elif prompt:
            if target is not None and not key:
                await self.engine.record_sent(PLATFORM, event_id, kind, group_id, *target)
            self._seed_soon(room_id, event_id, render.prompt_keys(reply), key)
        elif actions:
            await self._offer(OfferedChoiceRec(PLATFORM, event_id, owner, actions, thread), key)
            self._seed_soon(room_id, event_id, render.CHOICE_KEYS[: len(actions)], key)
        if reply.image is not None:
            await self._send_file(room_id, reply, key)
        return event_id

    async def _expect(
        self,
        key: str,
        kind: str,
        target: tuple[int, str] | None,
        actions: tuple[str, ...],
        owner: str,
        group_id: int | None,
        thread: str | None,
    ) -> None:
        if target is not None:
            await self.choices.expect_prompt(PLATFORM, key, kind, group_id, *target)
        if actions:
            await self.choices.expect(PLATFORM, key, owner, actions, thread)

    async def prepare_send(self, group: GroupRec, member: MemberRec | None, reply: Reply) -> None:
        """Before a scheduled message's due instant (`bot.ports.SendAhead`): open the member's
        DM room if there is none yet and store what the message's choices mean (the writes
        `_post` does first), so that at the instant only the homeserver call is left. A room
        opened at the instant held up the messages due after it (a room creation takes
        hundreds of milliseconds). A batch in parts stores its choices per part, after each."""
        if member is not None:
            await self._usable(await self._direct_room(member.external_id))
        key = idempotency_key(reply)
        by_emoji = events.answered_by_emoji(reply, None)
        prompt = render.is_prompt(reply) and not by_emoji
        if not key or (not prompt and not by_emoji and render.batch_parts(reply) is not None):
            return
        target = render.prompt_target(reply) if prompt else None
        actions = (
            tuple(b.action for b in reply.buttons)[: len(render.CHOICE_KEYS)]
            if reply.buttons and not by_emoji and not prompt
            else ()
        )
        owner = member.external_id if member is not None else ""
        await self._expect(
            key, reply.extra.get("kind", "prompt"), target, actions, owner, group.id, None
        )
        _remember(self._expected, (key, owner, group.id), None, CHOICES_KEPT)

    async def _usable(self, room_id: str) -> None:
        """A DM room this process has just opened: until a sync shows it with both members,
        which is when `_direct_room` reuses it (at most DM_SETTLE seconds), since the send
        right after would open another. Any other room (one opened in an earlier life, which a
        restarted nio knows only once something happens in it) is used at once."""
        client = self.client
        assert client is not None
        deadline = time.monotonic() + DM_SETTLE
        while room_id in self._unsettled_rooms and time.monotonic() < deadline:
            room = client.rooms.get(room_id)
            if room is not None and room.joined_count + room.invited_count >= 2:
                break
            seen = self._room_seen.setdefault(room_id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(seen.wait(), max(0.0, deadline - time.monotonic()))
        self._unsettled_rooms.discard(room_id)

    def _prepared(self, send: tuple[str, str, int | None]) -> bool:
        """Whether `prepare_send` stored this send's choices (once: a retry stores them again)."""
        if send not in self._expected:
            return False
        del self._expected[send]
        return True

    async def _post_batch(
        self,
        room_id: str,
        reply: Reply,
        parts: list[tuple[Reply, tuple[str, ...]]],
        *,
        owner: str,
        key: str,
    ) -> str:
        """A batched reminder or question: every pledge line led by its own number, which is
        *Done* for whoever taps it; beyond ten pledges, follow-ups (`render.batch_parts`).

        The first part carries the job's key (what `find_sent` looks for) and how many parts
        there are; each follow-up its own key and transaction id, so a retry on the same
        device posts none of them twice. A batch `find_sent` found cut short by a crash (its
        first part there, not every follow-up) gets only its missing parts, in the room of
        the first: the parts there keep their reactions and get their choices kept again.
        """
        msgtype = _msgtype(reply, None)
        there: dict[int, str] = {}
        if key and key in self._cut_short:
            room_id, there = self._cut_short.pop(key)
        first = ""
        for n, (part, actions) in enumerate(parts, start=1):
            this_key = part_key(key, n) if key else ""
            event_id = there.get(n, "")
            if not event_id:
                content = render.content(part, msgtype=msgtype)
                if n == 1 and key and len(parts) > 1:
                    content[PARTS_KEY] = len(parts)
                message = keyed(content, this_key)
                event_id = await self._send(room_id, message, txn=txn_id(this_key) if key else None)
            if not first:
                first = event_id
                await self.engine.record_posted(PLATFORM, event_id, reply)
            await self._offer(OfferedChoiceRec(PLATFORM, event_id, owner, actions, None))
            if n not in there:
                await self._seed(room_id, event_id, render.CHOICE_KEYS[: len(actions)], this_key)
            if n < len(parts):
                crash_points.reached("batch_part")  # a part out, the rest not yet
        return first

    def _content(
        self,
        reply: Reply,
        in_reply_to: str | None,
        *,
        prompt: bool = False,
        by_emoji: bool = False,
        quiet: bool = False,
        thread: str | None = None,
    ) -> dict[str, Any]:
        msgtype = _msgtype(reply, in_reply_to, quiet=quiet)
        message = render.content(
            reply,
            msgtype=msgtype,
            in_reply_to=in_reply_to,
            prompt=prompt or by_emoji,
            thread=thread,
        )
        return events.with_legend(message, reply) if by_emoji else message

    async def _posted(self, key: str, event_id: str) -> None:
        """What the message's taps mean, kept under `key` before the send (`_expect`), now
        under its event id: right after the send, so that a reaction on it counts at once,
        or when the message was found on the platform after a send cut short (`find_sent`,
        `_answer_claimed`). This adapter wrote those rows and is the only one that moves them;
        the scheduler's record of the send leaves them alone. A failure here propagates: the
        send's owner (the scheduler's retry, the event's) looks for the message by its key
        before it posts anything again, and attaches what it finds."""
        await self.choices.posted(PLATFORM, key, event_id)

    async def _offer(self, choice: OfferedChoiceRec, key: str = "") -> None:
        _remember(self._choices, choice.message_id, choice, CHOICES_KEPT)
        if key:
            return  # stored before the send, under the key
        try:
            await self.choices.offer(
                PLATFORM, choice.message_id, choice.owner, choice.actions, choice.thread
            )
        except Exception:
            # The message is out; failing now would make the scheduler send it again. Until a
            # restart the choice still works from memory.
            log.exception("could not keep the choices of %s in the database", choice.message_id)

    def _seed_soon(self, room_id: str, event_id: str, keys: Iterable[str], key: str = "") -> None:
        """Seed the reactions without holding up the caller: the message is out, and the next
        scheduled message or reply need not wait for 2-4 more events (they took 60 % of a
        scheduled DM's send, benchmarks/README.md 2026-12-03). Nor the member's sync: they go
        once our sync has brought the message back (`echoes.Echoes`), not while Synapse is
        still serving it (benchmarks/README.md, eighth session). What they mean is stored
        already; a crash before they are on the message leaves it answerable by a reaction the
        member adds or by the command. `run` lets the pending ones finish before it closes."""
        task = asyncio.create_task(self._seed_echoed(room_id, event_id, list(keys), key))
        self._seeding[task] = event_id
        task.add_done_callback(lambda done: self._seeding.pop(done, None))

    async def _seeded(self) -> None:
        """Until the reactions being seeded are on their messages (at most SEED_WAIT)."""
        if self._seeding:
            await asyncio.wait(set(self._seeding), timeout=SEED_WAIT)

    async def _reactions_out(self) -> None:
        """Before the next long poll: until the reactions going onto messages our sync brought
        back are sent, at most SYNC_HOLD. Each of our events wakes our long poll; sent while it
        waits, 3-4 reactions made 3-4 sync responses per message for nio to parse and Synapse
        to make (benchmarks/README.md, ninth session). Those still waiting for their echo are
        not waited for (the sync is what brings it)."""
        going = [t for t, event_id in self._seeding.items() if self._echoes.came(event_id)]
        if going:
            await asyncio.wait(going, timeout=SYNC_HOLD)

    async def _seed_echoed(self, room_id: str, event_id: str, keys: list[str], key: str) -> None:
        await self._echoes.wait(event_id, ECHO_WAIT)
        await self._seed(room_id, event_id, keys, key)

    async def _seed(self, room_id: str, event_id: str, keys: Iterable[str], key: str = "") -> None:
        results = await asyncio.gather(
            *(
                self._send(
                    room_id,
                    render.reaction(event_id, k),
                    "m.reaction",
                    txn=txn_id(key, f"r{n}") if key else None,
                )
                for n, k in enumerate(keys)
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.warning("could not seed a reaction on %s: %s", event_id, result)

    async def _send_file(self, room_id: str, reply: Reply, key: str = "") -> None:
        client = self.client
        assert client is not None
        assert reply.image is not None
        name = reply.image_name or "logoff.bin"
        mime = events.mime_type(name)
        room = client.rooms.get(room_id)
        # In an encrypted room the file is encrypted too (AES-CTR, key in the encrypted event):
        # otherwise the homeserver, and anyone with the mxc URI, could read it.
        encrypt = bool(room is not None and room.encrypted and client.olm is not None)
        resp, keys = await client.upload(
            io.BytesIO(reply.image),
            content_type=mime,
            filename=name,
            filesize=len(reply.image),
            encrypt=encrypt,
        )
        if not isinstance(resp, UploadResponse):
            log.warning("upload of %s failed: %s", name, resp)
            return
        await self._send(
            room_id,
            events.file_content(reply, name, resp.content_uri, keys if encrypt else None),
            txn=txn_id(key, "file") if key else None,
        )

    async def _send(
        self,
        room_id: str,
        message: dict[str, Any],
        kind: str = "m.room.message",
        txn: str | None = None,
    ) -> str:
        client = self.client
        if client is None or not client.access_token:
            raise DeliveryError("not connected to Matrix yet", retryable=True, retry_after=5)
        if kind == "m.room.message":
            message = render.safe_message(message)  # the one gate every formatted body passes
        try:
            resp = await client.room_send(
                room_id, kind, message, tx_id=txn, ignore_unverified_devices=True
            )
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
        key = idempotency_key(reply)
        return await self._post(group.external_id, reply, group_id=group.id, key=key)

    async def edit(self, group: GroupRec, message_id: str, reply: Reply) -> None:
        """An event's counts, updated in place: an `m.replace` of our own message."""
        # A quiet notice: an update of counts must not notify the room again.
        new = self._content(reply, None, by_emoji=events.answered_by_emoji(reply, None), quiet=True)
        await self._send(group.external_id, events.replacement(message_id, new))

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        try:
            room_id = await self._direct_room(member.external_id)
            return await self._post(
                room_id,
                reply,
                owner=member.external_id,
                group_id=fallback.id if fallback else None,
                key=idempotency_key(reply),
            )
        except DeliveryError as exc:
            if fallback is None or exc.retryable:
                raise
            log.warning("DM to %s failed (%s); using the group room", member.external_id, exc)
            return await self.send_to_group(fallback, reply)

    async def find_sent(self, key: str, group: GroupRec, member: MemberRec | None) -> str | None:
        """Look through the bot's own recent events for `key`: the DM first, then the group
        room a DM may have fallen back to."""
        client = self.client
        if client is None or not client.access_token or not key:
            raise DeliveryError("not connected to Matrix yet", retryable=True, retry_after=5)
        rooms = []
        if member is not None:
            if member.external_id in self.state.direct_rooms:
                rooms.append(self.state.direct_rooms[member.external_id])
            # Another process on the account may have opened its own 1:1 room with them.
            rooms += [
                r
                for r in self._one_to_one(member.external_id)
                if r not in (*rooms, group.external_id)
            ]
        rooms.append(group.external_id)
        try:
            for room_id in rooms:
                found = await find_parts(client, room_id, self.user_id, key)
                if found is None:
                    continue
                if found.complete:
                    self._cut_short.pop(key, None)
                    await self._posted(key, found.event_id)  # cut short before its attach?
                    return found.event_id
                # A batch cut short (a crash between its parts): not sent yet; the send that
                # follows posts only the parts missing.
                log.info("%s is on Matrix in part %s; the rest goes out", key, sorted(found.found))
                _remember(self._cut_short, key, (room_id, found.found), CHOICES_KEPT)
                return None
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"homeserver unreachable: {exc}", retryable=True) from exc
        except LookupFailed as exc:
            raise DeliveryError(str(exc), retryable=True) from exc
        return None

    def _one_to_one(self, user_id: str) -> list[str]:
        """Every room the bot shares with the member and nobody else."""
        client = self.client
        assert client is not None
        return [
            r.room_id for r in client.rooms.values() if user_id in r.users and len(r.users) <= 2
        ]

    async def _direct_room(self, user_id: str) -> str:
        """The member's 1:1 room with the bot: one per member for every process on the account.

        This process's own choice first, then the room recorded in the database (another
        process may have made it), else this process claims the record, creates the room and
        records it; while another process holds the claim, it waits for that one's room.
        """
        client = self.client
        if client is None or not self.ready.is_set():
            raise DeliveryError("not connected to Matrix yet", retryable=True, retry_after=5)
        async with self._direct_lock:
            room_id = self.state.direct_rooms.get(user_id)
            if room_id is not None:
                if await self._member_stays(room_id, user_id):
                    return room_id
                await self._forget_direct(user_id, room_id)  # they left it: a new one
            deadline = time.monotonic() + DIRECT_WAIT
            while True:
                if time.monotonic() >= deadline:
                    raise DeliveryError(
                        f"another process is opening the DM with {user_id}",
                        retryable=True,
                        retry_after=5,
                    )
                try:
                    assert self.directs is not None
                    claim = await self.directs.claim(user_id)
                except Exception as exc:
                    raise DeliveryError(f"database unavailable: {exc}", retryable=True) from exc
                if claim.state == ROOM and claim.room_id is not None:
                    if await self._use_direct(user_id, claim.room_id):
                        return claim.room_id
                    await self._forget_direct(user_id, claim.room_id)
                    continue
                if claim.state == HELD:
                    await self._await_recorded(user_id, claim.held_until, deadline)
                    continue
                found = self._made_by_us(user_id) if claim.state == LOOK else None
                if found is None:
                    return await self._create_direct(user_id)
                await self._record_direct(user_id, found)
                await self._use_direct(user_id, found)
                return found

    async def _await_recorded(
        self, user_id: str, held_until: datetime | None, deadline: float
    ) -> None:
        """Until the process holding the claim recorded its room, its claim ran out, or
        `deadline` (the caller claims again, and gets the room, or the claim, or gives up)."""
        assert self.directs is not None
        while time.monotonic() < deadline:
            await asyncio.sleep(DIRECT_POLL)
            if held_until is not None and self.engine.clock.now() >= held_until:
                return
            try:
                if await self.directs.recorded(user_id) is not None:
                    return
            except Exception as exc:
                raise DeliveryError(f"database unavailable: {exc}", retryable=True) from exc

    def _member_in(self, room_id: str, user_id: str) -> bool | None:
        """Whether the member is still joined or invited (the room's counts say so with lazily
        loaded members too); None: this process has not synced the room yet."""
        client = self.client
        assert client is not None
        room = client.rooms.get(room_id)
        if room is None:
            return None
        return room.joined_count + room.invited_count >= 2

    async def _member_stays(self, room_id: str, user_id: str) -> bool:
        """The member is in the room: as this process synced it, or else as the homeserver
        has it (a sync may show a just-made room without its invite yet)."""
        if self._member_in(room_id, user_id) is not False:
            return True
        client = self.client
        assert client is not None
        try:
            return await direct.still_in(client, room_id, user_id)
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"homeserver unreachable: {exc}", retryable=True) from exc

    def _made_by_us(self, user_id: str) -> str | None:
        """A 1:1 room the account made with the member (a process that died before recording
        it made it), so a takeover uses that room instead of making a second one."""
        for room_id in self._one_to_one(user_id):
            if self._made_by_account(room_id) and self._member_in(room_id, user_id):
                return room_id
        return None

    def _made_by_account(self, room_id: str) -> bool:
        """The account creates no rooms but DMs: one it made, perhaps in another process that
        never told this one, is a DM (a command there is no group's)."""
        creation = self._creations.get(room_id)
        return creation is not None and self.user_id in creation.creators

    async def _use_direct(self, user_id: str, room_id: str) -> bool:
        """Take up a DM room another process made (or one found): join it if need be and keep
        it as the member's. False: it is no use (the member left it, or it cannot be joined)."""
        client = self.client
        assert client is not None
        if room_id not in client.rooms:
            try:
                resp = await client.join(room_id)
            except NETWORK_ERRORS as exc:
                raise DeliveryError(f"homeserver unreachable: {exc}", retryable=True) from exc
            if isinstance(resp, JoinError):
                log.warning("cannot join %s, the DM with %s: %s", room_id, user_id, resp)
                return False
        elif not await self._member_stays(room_id, user_id):
            return False
        self._keep_direct(user_id, room_id)
        with contextlib.suppress(*NETWORK_ERRORS):
            await direct.mark_direct(client, user_id, room_id)
        if self.config.encryption:
            await self._await_synced(room_id, user_id)
        return True

    def _keep_direct(self, user_id: str, room_id: str) -> None:
        self._room_seen.setdefault(room_id, asyncio.Event())
        self.state.direct_rooms[user_id] = room_id
        if room_id not in self.state.direct_room_ids:
            self.state.direct_room_ids.append(room_id)
        self._save()

    async def _create_direct(self, user_id: str) -> str:
        client = self.client
        assert client is not None
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
        room_id: str = resp.room_id
        log.info("opened %s, the DM with %s", room_id, user_id)
        self._unsettled_rooms.add(room_id)
        self._keep_direct(user_id, room_id)
        await self._record_direct(user_id, room_id)
        with contextlib.suppress(*NETWORK_ERRORS):
            await direct.mark_direct(client, user_id, room_id)
        if self.config.encryption:
            await self._await_synced(room_id, user_id)
        return room_id

    async def _await_synced(self, room_id: str, user_id: str) -> None:
        try:
            await asyncio.wait_for(self._synced_with(room_id, user_id), timeout=10)
        except TimeoutError as exc:
            raise DeliveryError("new DM room not synced yet", retryable=True) from exc

    async def _record_direct(self, user_id: str, room_id: str) -> None:
        """The room this process made or found, for the others (a lost claim is logged: the
        member has two rooms then, and `find_sent` looks in both)."""
        try:
            assert self.directs is not None
            if not await self.directs.record(user_id, room_id):
                log.warning("the DM claim for %s was taken over; %s kept anyway", user_id, room_id)
        except Exception as exc:
            log.warning("could not record %s as the DM with %s: %s", room_id, user_id, exc)

    async def _forget_direct(self, user_id: str, room_id: str) -> None:
        """The member left the room (or it is unusable): neither this process nor another
        uses it for them again."""
        if self.state.direct_rooms.get(user_id) == room_id:
            del self.state.direct_rooms[user_id]
            self._dirty = True
        try:
            assert self.directs is not None
            await self.directs.forget(user_id, room_id)
        except Exception as exc:
            log.warning("could not forget %s, the DM with %s: %s", room_id, user_id, exc)

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


def _msgtype(reply: Reply, in_reply_to: str | None, *, quiet: bool = False) -> str:
    # Push rules silence m.notice: a scheduled question (buttons) that must reach someone
    # goes out as m.text; replies to members and summaries stay quiet notices.
    wanted = bool(reply.buttons) or reply.extra.get(NOTIFY) == "1"
    loud = wanted and in_reply_to is None and not quiet
    return "m.text" if loud else "m.notice"


def _stored_target(answer: Answer) -> tuple[Reply | None, dict[str, str]]:
    """The reply to store with an event's claim, and what sending it later needs."""
    target = {
        "in_reply_to": answer.in_reply_to or "",
        "owner": answer.owner,
        "thread": answer.thread or "",
    }
    return answer.reply, target


def _choice_index(key: str) -> int | None:
    try:
        return render.CHOICE_KEYS.index(key)
    except ValueError:
        return None


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, limit: int) -> None:
    cache[key] = value
    while len(cache) > limit:
        cache.popitem(last=False)
