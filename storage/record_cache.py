"""Per-process cache of group, member and pledge records, dropped on every change of them.

What a command reads by key before it does anything (its group, its member, the group's
pledges, the group's latest closed weeks) is kept here as the frozen records storage returns,
so a command in a known group from a known member does not read them again. The rules
(docs/decisions.md, "record cache"):

- every write path in storage/ that changes one of these rows calls `changed()` after its
  statement; inside `transaction.atomic()` the entry is dropped at once and again when the
  outermost transaction ends, committed or rolled back, so nothing read while it was open
  (its own half-written rows included) outlives it;
- a read stores what it got only if no drop happened while it was reading (`ticket()`: the
  generation before the query must still be the generation after it);
- on PostgreSQL every change also runs `NOTIFY logoff_records` in the writing transaction
  (delivered on commit, to every process); each process LISTENs on one connection of its own
  and drops what a notification names. While that connection is not listening (starting,
  lost, PostgreSQL restarting) the cache is off: every read goes to the database and nothing
  is stored, so a notification lost while it was down cannot leave a stale record;
- SQLite is one process (its file lock), so only the in-process rules apply;
- bounded (least recently used first out), no time to live.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Generic, TypeVar

from storage.records import GroupRec, GroupWeekRec, MemberRec, PledgeRec

log = logging.getLogger("logoff.storage.cache")

CHANNEL = "logoff_records"
# Kinds of change, as named in a notification ("group:12", "member:7", "pledges:12", "pledges:*").
# "due" is the earliest instant at which anything of a group may need closing (the least
# `next_close_at` of its participations and `due_at` of its waiting setting changes): a command
# in a group with nothing due reads neither. Changes that can only make it later need not drop it.
GROUP, MEMBER, PLEDGES, DUE = "group", "member", "pledges", "due"
ALL = "*"
# Bounds: a member record is ~0.5 KiB with its key, so 20,000 members are ~10 MiB.
MAX_MEMBERS = 20_000
MAX_GROUPS = 5_000
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.limit:
            self.items.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self.items.pop(key, None)


Place = tuple[str, str]
Statuses = tuple[str, ...]
PledgeKey = tuple[int, tuple[str, ...]]


class RecordCache:
    """The records and the generation counter; all methods are synchronous and never await."""

    def __init__(self, max_members: int = MAX_MEMBERS, max_groups: int = MAX_GROUPS) -> None:
        self.enabled = False
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._groups: _Lru[int, GroupRec] = _Lru(max_groups)
        self._group_ids: dict[Place, int] = {}
        self._members: _Lru[Place, MemberRec] = _Lru(max_members)
        self._member_places: dict[int, Place] = {}
        self._pledges: _Lru[PledgeKey, tuple[PledgeRec, ...]] = _Lru(max_groups)
        self._pledge_keys: dict[int, set[PledgeKey]] = {}
        self._due: _Lru[int, tuple[datetime | None]] = _Lru(max_groups)
        # A group's latest closed weeks, newest first: written only with its group row (closing
        # a week updates the group's streak in the same transaction), so dropped with it.
        self._weeks: _Lru[int, tuple[GroupWeekRec, ...]] = _Lru(max_groups)

    # -- reading ----------------------------------------------------------------------------

    def ticket(self) -> int | None:
        """Taken before a read that may be stored: None while the cache is off."""
        return self.generation if self.enabled else None

    def _storable(self, ticket: int | None, kind: str, ident: object) -> bool:
        if ticket is None or ticket != self.generation or not self.enabled:
            return False
        pending = _pending.get()
        return pending is None or not (
            (kind, ident) in pending or (kind, ALL) in pending or (ALL, ALL) in pending
        )

    def _hit(self, value: V | None, kind: str, ident: object) -> V | None:
        if value is None or not self.enabled:
            self.misses += 1
            return None
        pending = _pending.get()
        if pending and ((kind, ident) in pending or (kind, ALL) in pending):
            self.misses += 1  # changed in the transaction still open: read it there
            return None
        self.hits += 1
        return value

    def group(self, group_id: int) -> GroupRec | None:
        return self._hit(self._groups.get(group_id), GROUP, group_id)

    def group_at(self, platform: str, external_id: str) -> GroupRec | None:
        group_id = self._group_ids.get((platform, external_id))
        if group_id is None:
            self.misses += 1
            return None
        return self.group(group_id)

    def member_at(self, platform: str, external_id: str) -> MemberRec | None:
        found = self._members.get((platform, external_id))
        return self._hit(found, MEMBER, found.id if found else None)

    def pledges(self, group_id: int, statuses: tuple[str, ...]) -> list[PledgeRec] | None:
        found = self._pledges.get((group_id, statuses))
        hit = self._hit(found, PLEDGES, group_id)
        return list(hit) if hit is not None else None

    def group_weeks(self, group_id: int) -> tuple[GroupWeekRec, ...] | None:
        """The group's latest closed weeks (at most `storage.closing.WEEKS_KEPT`) when known."""
        return self._hit(self._weeks.get(group_id), GROUP, group_id)

    def due(self, group_id: int) -> tuple[datetime | None] | None:
        """(earliest instant, or None for never) when known; None when not."""
        return self._hit(self._due.get(group_id), DUE, group_id)

    def knows_group(self, platform: str, external_id: str, statuses: Statuses) -> bool:
        """Whether a command there would find its group and the group's pledges and due
        instant all here (counted neither as hits nor as misses; False while a change is
        pending in the open transaction)."""
        if not self.enabled or _pending.get():
            return False
        group_id = self._group_ids.get((platform, external_id))
        return (
            group_id is not None
            and group_id in self._groups.items
            and (group_id, statuses) in self._pledges.items
            and group_id in self._due.items
        )

    # -- storing ----------------------------------------------------------------------------

    def put_due(self, ticket: int | None, group_id: int, earliest: datetime | None) -> None:
        if self._storable(ticket, DUE, group_id):
            self._due.put(group_id, (earliest,))

    def put_group_weeks(
        self, ticket: int | None, group_id: int, weeks: tuple[GroupWeekRec, ...]
    ) -> None:
        if self._storable(ticket, GROUP, group_id):
            self._weeks.put(group_id, weeks)

    def put_group(self, ticket: int | None, group: GroupRec) -> None:
        if not self._storable(ticket, GROUP, group.id):
            return
        old = self._groups.get(group.id)
        if old is not None and old.external_id != group.external_id:
            self._group_ids.pop((old.platform, old.external_id), None)
        self._groups.put(group.id, group)
        self._group_ids[(group.platform, group.external_id)] = group.id
        if len(self._group_ids) > 2 * self._groups.limit:
            self._group_ids = {
                (g.platform, g.external_id): g.id for g in self._groups.items.values()
            }

    def put_member(self, ticket: int | None, member: MemberRec) -> None:
        if not self._storable(ticket, MEMBER, member.id):
            return
        place = (member.platform, member.external_id)
        self._members.put(place, member)
        self._member_places[member.id] = place
        if len(self._member_places) > 2 * self._members.limit:
            self._member_places = {m.id: p for p, m in self._members.items.items()}

    def put_pledges(
        self, ticket: int | None, group_id: int, statuses: tuple[str, ...], pledges: list[PledgeRec]
    ) -> None:
        if not self._storable(ticket, PLEDGES, group_id):
            return
        key = (group_id, statuses)
        self._pledges.put(key, tuple(pledges))
        self._pledge_keys.setdefault(group_id, set()).add(key)

    # -- dropping ---------------------------------------------------------------------------

    def drop(self, kind: str, ident: int | str) -> None:
        """Forget what a change names; every read under way will not store its result."""
        self.generation += 1
        if kind == ALL:
            self.clear()
        elif kind == GROUP:
            self._drop_group(ident)
        elif kind == MEMBER:
            self._drop_member(ident)
        elif kind == PLEDGES:
            self._drop_pledges(ident)
            self._drop_due(ident)  # a new pledge may come with a participation
        elif kind == DUE:
            self._drop_due(ident)

    def _drop_group(self, ident: int | str) -> None:
        if ident == ALL:
            self._groups.items.clear()
            self._group_ids.clear()
            self._weeks.items.clear()
            return
        self._weeks.pop(int(ident))
        old = self._groups.pop(int(ident))
        if old is not None:
            self._group_ids.pop((old.platform, old.external_id), None)
        # A place may still name the id (an entry pushed out by the bound): drop those too.
        for place in [p for p, i in self._group_ids.items() if i == int(ident)]:
            del self._group_ids[place]

    def _drop_member(self, ident: int | str) -> None:
        if ident == ALL:
            self._members.items.clear()
            self._member_places.clear()
            return
        place = self._member_places.pop(int(ident), None)
        if place is not None:
            self._members.pop(place)

    def _drop_pledges(self, ident: int | str) -> None:
        if ident == ALL:
            self._pledges.items.clear()
            self._pledge_keys.clear()
            return
        for key in self._pledge_keys.pop(int(ident), set()):
            self._pledges.pop(key)

    def _drop_due(self, ident: int | str) -> None:
        if ident == ALL:
            self._due.items.clear()
        else:
            self._due.pop(int(ident))

    def clear(self) -> None:
        self.generation += 1
        self._groups.items.clear()
        self._group_ids.clear()
        self._members.items.clear()
        self._member_places.clear()
        self._pledges.items.clear()
        self._pledge_keys.clear()
        self._due.items.clear()
        self._weeks.items.clear()

    def size(self) -> dict[str, int]:
        return {
            "groups": len(self._groups.items),
            "members": len(self._members.items),
            "pledge_lists": len(self._pledges.items),
            "due": len(self._due.items),
            "group_weeks": len(self._weeks.items),
        }


# The one cache of this process (storage reads through the one Tortoise connection too).
cache = RecordCache()
# Changes made inside the open outermost transaction: dropped again when it ends.
_pending: contextvars.ContextVar[set[tuple[str, Any]] | None] = contextvars.ContextVar(
    "logoff_record_changes", default=None
)


@contextlib.contextmanager
def transaction_scope() -> Iterator[None]:
    """Wraps the outermost transaction (`storage.transaction.atomic`): what it changed is
    dropped again when it ends, however it ends."""
    if _pending.get() is not None:
        yield
        return
    changes: set[tuple[str, Any]] = set()
    token = _pending.set(changes)
    try:
        yield
    finally:
        _pending.reset(token)
        for kind, ident in changes:
            cache.drop(kind, ident)


def created(kind: str, ident: int) -> None:
    """A write path inserted a row: not stored now, and inside a transaction not until it ends
    (a rollback takes the row back). No other process can hold a row not yet committed."""
    cache.drop(kind, ident)
    pending = _pending.get()
    if pending is not None:
        pending.add((kind, ident))


def _payload(kind: str, ident: int | str) -> str:
    return f"{kind}:{ident}"


def _parse(payload: str) -> tuple[str, int | str] | None:
    kind, _, ident = payload.partition(":")
    if kind not in (GROUP, MEMBER, PLEDGES, DUE, ALL) or not ident:
        return None
    if ident == ALL:
        return kind, ALL
    try:
        return kind, int(ident)
    except ValueError:
        return None


async def sync() -> None:
    """Before a command (the engine calls it): every change committed anywhere before now is
    applied to the cache, so the command sees it.

    On PostgreSQL one `SELECT 1` on the LISTEN connection: the server sends the notifications
    of transactions committed before it ahead of its answer, and their callbacks run before
    this returns. Nothing to do on SQLite (one process) or while the cache is off.
    """
    conn = _listener.connection
    if conn is None or not cache.enabled:
        return
    async with _listener.lock:
        try:
            await conn.execute("SELECT 1")
        except Exception as exc:
            log.warning("record cache off: the LISTEN connection failed (%s)", exc)
            cache.enabled = False
            cache.clear()
            _listener.connection = None
            with contextlib.suppress(Exception):
                conn.terminate()
            _listener.reconnect_later()
            return
    await asyncio.sleep(0)  # the notification callbacks were scheduled first; let them run


async def changed(kind: str, ident: int | str) -> None:
    """A write path changed a cached row: drop it here now (and again at the transaction's end),
    and tell the other processes on PostgreSQL (on commit)."""
    cache.drop(kind, ident)
    pending = _pending.get()
    if pending is not None:
        pending.add((kind, ident))
    if _listener.dialect == "postgres":
        from tortoise.connection import get_connection

        await get_connection("default").execute_script(
            f"NOTIFY {CHANNEL}, '{_payload(kind, ident)}'"
        )


class _Listener:
    """The LISTEN connection of this process on PostgreSQL; the cache is on only while it is."""

    def __init__(self) -> None:
        self.dialect = ""
        self.connection: Any = None
        self.task: asyncio.Task[None] | None = None
        self.params: dict[str, Any] = {}
        self.on_state: Callable[[bool], None] | None = None  # tests watch reconnects
        self.lock = asyncio.Lock()  # one query at a time on the connection

    async def attach(self, dialect: str, params: dict[str, Any] | None) -> None:
        await self.detach()
        self.dialect = dialect
        self.lock = asyncio.Lock()  # of this event loop
        cache.clear()
        if dialect != "postgres":
            cache.enabled = True
            return
        cache.enabled = False
        self.params = params or {}
        try:
            await self._listen()
        except Exception as exc:  # the pool reports the outage on the first query
            log.info("record cache off: cannot LISTEN (%s: %s)", type(exc).__name__, exc)
            self.reconnect_later()

    async def _listen(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(**self.params)
        try:
            await conn.add_listener(CHANNEL, self._notified)
            conn.add_termination_listener(self._terminated)
        except BaseException:
            await conn.close()
            raise
        self.connection = conn
        cache.clear()  # whatever changed before we listened
        cache.enabled = True
        if self.on_state is not None:
            self.on_state(True)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        parsed = _parse(payload)
        if parsed is None:
            cache.clear()
        else:
            cache.drop(*parsed)

    def _terminated(self, _conn: Any) -> None:
        cache.enabled = False
        cache.clear()
        self.connection = None
        if self.on_state is not None:
            self.on_state(False)
        if self.dialect == "postgres":
            log.warning("record cache off: the LISTEN connection was lost; reconnecting")
            self.reconnect_later()

    def reconnect_later(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        attempt = 0
        while self.dialect == "postgres" and self.connection is None:
            await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            attempt += 1
            try:
                await self._listen()
            except Exception:  # still down: try again after the next delay
                continue

    async def detach(self) -> None:
        self.dialect = ""
        cache.enabled = False
        cache.clear()
        task, self.task = self.task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        conn, self.connection = self.connection, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.remove_termination_listener(self._terminated)
                await conn.close(timeout=2)


_listener = _Listener()


def own_sessions() -> list[int]:
    """PostgreSQL backend pids of this process's own listening connection (a restore counts
    the other sessions on its database, and this one is not another)."""
    conn = _listener.connection
    if conn is None or _listener.dialect != "postgres":
        return []
    return [int(conn.get_server_pid())]


async def attach(client: Any) -> None:
    """Turn the cache on for the default connection (`storage.database` after connecting)."""
    dialect = str(client.capabilities.dialect)
    params = None
    if dialect == "postgres":
        params = {
            "host": client.host,
            "port": client.port,
            "user": client.user,
            "password": client.password,
            "database": client.database,
        }
        for name in ("ssl", "server_settings"):
            value = getattr(client, name, None) or client.extra.get(name)
            if value:
                params[name] = value
    await _listener.attach(dialect, params)


async def detach() -> None:
    """Off and empty (`storage.database.close_database`)."""
    await _listener.detach()


def set_state_watch(watch: Callable[[bool], None] | None) -> None:
    _listener.on_state = watch
