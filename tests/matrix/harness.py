"""End-to-end helpers: the bot started as `logoff run` starts it, and a member's nio client."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    RoomCreateResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)

from bot.app.bootstrap import App, matrix_service, open_app
from bot.app.config import BotConfig, Config, MatrixConfig
from bot.clock import Clock
from bot.messages.actions import Action
from bot.messages.replies import Button, MentionRef, Reply, Visibility
from bot.rules.pledge_periods import current_period
from storage import database
from storage import groups as group_queries
from storage import pledges as pledge_queries
from storage.records import GroupRec
from tests.matrix.html_rules import message_problems
from tests.services.synapse import SynapseServer

REPO = Path(__file__).resolve().parents[2]
WAIT = 15.0
# A `logoff run` subprocess imports everything before it logs in: on a shared 2-core machine
# (load 18) that took over 15 s; passing tests do not wait longer for a larger bound.
READY_WAIT = 60.0
_names = itertools.count(1)


def unique(name: str) -> str:
    return f"{name}{os.getpid()}x{next(_names)}x{int(time.time() * 1000) % 100000}"


@dataclass
class BotAccount:
    user_id: str
    password: str
    data_dir: Path
    commands_per_minute: int = 20  # the engine's per-member limit (0 = off)

    def config(self, server: SynapseServer, *, encryption: bool = False) -> Config:
        return Config(
            bot=BotConfig(
                data_dir=self.data_dir,
                timezone="Europe/Berlin",
                commands_per_minute=self.commands_per_minute,
            ),
            matrix=MatrixConfig(
                enabled=True,
                homeserver=server.url,
                user_id=self.user_id,
                password=self.password,
                encryption=encryption,
            ),
        )

    def config_file(self, server: SynapseServer, *, encryption: bool = False) -> Path:
        path = self.data_dir.parent / f"{self.data_dir.name}.toml"
        path.write_text(
            f'[bot]\ndata_dir = "{self.data_dir}"\ntimezone = "Europe/Berlin"\n'
            f'log_level = "info"\ncommands_per_minute = {self.commands_per_minute}\n'
            f"[matrix]\nenabled = true\n"
            f'homeserver = "{server.url}"\nuser_id = "{self.user_id}"\n'
            f'password = "{self.password}"\nencryption = {str(encryption).lower()}\n',
            encoding="utf-8",
        )
        return path


def new_bot_account(server: SynapseServer, tmp: Path) -> BotAccount:
    name = unique("logoff")
    password = "bot-" + name
    user_id, _, _ = server.register(name, password)
    return BotAccount(user_id, password, tmp / name)


@asynccontextmanager
async def running_bot(
    server: SynapseServer,
    account: BotAccount,
    *,
    encryption: bool = False,
    clock: Clock | None = None,
) -> AsyncIterator[App]:
    """The bot in this process, as `logoff migrate` + `logoff run` would start it."""
    config = account.config(server, encryption=encryption)
    account.data_dir.mkdir(parents=True, exist_ok=True)
    await database.migrate(config.db_url)
    async with open_app(config, clock) as app:
        task = asyncio.create_task(matrix_service(app).run())
        try:
            deadline = time.monotonic() + WAIT
            while "matrix" not in app.outboxes or not app.outboxes["matrix"].ready.is_set():  # type: ignore[attr-defined]
                if task.done():
                    task.result()
                if time.monotonic() > deadline:
                    raise TimeoutError("the Matrix adapter did not become ready")
                await asyncio.sleep(0.02)
            yield app
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=WAIT)


class BotProcess:
    """The real `logoff run` in a subprocess, for restarts that throw away all memory."""

    def __init__(self, server: SynapseServer, account: BotAccount) -> None:
        self.config = account.config_file(server)
        self.log = account.data_dir.parent / f"{account.data_dir.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _logoff(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bot.app.cli", "--config", str(self.config), *args]

    def start(self) -> None:
        subprocess.run(self._logoff("migrate"), cwd=REPO, check=True, capture_output=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self._logoff("run"), cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )

    async def wait_ready(self, count: int = 1) -> None:
        deadline = time.monotonic() + READY_WAIT
        while self.log.read_text(errors="replace").count("matrix ready") < count:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"logoff run exited:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"logoff run not ready:\n{self.log.read_text()}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when the machine or the OOM killer stops it."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=WAIT)


@dataclass
class Seen:
    room_id: str
    source: dict[str, Any]
    event: Any

    @property
    def content(self) -> dict[str, Any]:
        return dict(self.source.get("content") or {})

    @property
    def event_id(self) -> str:
        return str(self.source.get("event_id", ""))


@dataclass
class Member:
    """A person on the homeserver, with a nio client that syncs by hand."""

    server: SynapseServer
    name: str
    user_id: str = ""
    client: AsyncClient | None = None
    seen: list[Seen] = field(default_factory=list)

    @classmethod
    async def register(cls, server: SynapseServer, name: str, store: Path | None = None) -> Member:
        member = cls(server, name)
        username = unique(name)
        user_id, token, device = server.register(username, "pw-" + username)
        options = AsyncClientConfig(encryption_enabled=store is not None, store_sync_tokens=False)
        if store is not None:
            os.makedirs(store, exist_ok=True)
        client = AsyncClient(server.url, user_id, store_path=str(store or ""), config=options)
        client.restore_login(user_id, device, token)
        await client.set_displayname(name)
        member.user_id, member.client = user_id, client
        await member.sync(0)
        return member

    @property
    def nio(self) -> AsyncClient:
        assert self.client is not None
        return self.client

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    async def sync(self, timeout_ms: int = 500) -> None:
        client = self.nio
        resp = await client.sync(
            timeout=timeout_ms,
            sync_filter={"room": {"timeline": {"limit": 200}}},
        )
        if not isinstance(resp, SyncResponse):
            raise RuntimeError(f"member sync failed: {resp}")
        for room_id, info in resp.rooms.join.items():
            for event in info.timeline.events:
                seen = Seen(room_id, event.source, event)
                self.seen.append(seen)
                check_message(seen)
        if client.olm is not None:
            await client.send_to_device_messages()
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())

    async def wait_for(
        self, match: Callable[[Seen], bool], *, after: int = 0, wait: float = WAIT
    ) -> Seen:
        """The first event (from index `after` of what this member saw) that matches."""
        deadline = time.monotonic() + wait
        while True:
            for item in self.seen[after:]:
                if match(item):
                    return item
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} never saw the expected event")
            await self.sync(500)

    async def reply_to(self, event_id: str, *, after: int = 0, wait: float = WAIT) -> Seen:
        return await self.wait_for(lambda s: in_reply_to(s) == event_id, after=after, wait=wait)

    async def create_room(self, *, encrypted: bool = False, invite: tuple[str, ...] = ()) -> str:
        algorithm = {"algorithm": "m.megolm.v1.aes-sha2"}
        encryption = {"type": "m.room.encryption", "state_key": "", "content": algorithm}
        initial = [encryption] if encrypted else []
        resp = await self.nio.room_create(
            name=unique("room"),
            preset=RoomPreset.private_chat,
            invite=list(invite),
            initial_state=initial,
        )
        assert isinstance(resp, RoomCreateResponse), resp
        return str(resp.room_id)

    async def room_with_bot(self, bot_id: str, *, encrypted: bool = False) -> str:
        """A new room the bot was invited to, once the bot has said hello there."""
        room = await self.create_room(encrypted=encrypted, invite=(bot_id,))
        await self.wait_for(lambda s: sent_by(bot_id)(s) and s.room_id == room)
        return room

    async def send(self, room_id: str, text: str) -> str:
        resp = await self.nio.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": text},
            ignore_unverified_devices=True,
        )
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        resp = await self.nio.room_send(
            room_id, "m.reaction", content, ignore_unverified_devices=True
        )
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)

    async def redact(self, room_id: str, event_id: str) -> None:
        resp = await self.nio.room_redact(room_id, event_id)
        assert getattr(resp, "event_id", None), resp

    async def join(self, room_id: str) -> None:
        resp = await self.nio.join(room_id)
        assert getattr(resp, "room_id", None), resp
        await self.sync(0)

    async def picture(self, seen: Seen) -> bytes:
        """The file an `m.image` carries, downloaded (and decrypted when it came as `file`)."""
        from nio import DownloadResponse
        from nio.crypto.attachments import decrypt_attachment

        encrypted = seen.content.get("file")
        url = encrypted["url"] if encrypted else seen.content["url"]
        resp = await self.nio.download(mxc=url)
        assert isinstance(resp, DownloadResponse), resp
        data = bytes(resp.body)
        if encrypted:
            data = decrypt_attachment(
                data, encrypted["key"]["k"], encrypted["hashes"]["sha256"], encrypted["iv"]
            )
        return data

    async def invite(self, room_id: str, user_id: str) -> None:
        resp = await self.nio.room_invite(room_id, user_id)
        assert not hasattr(resp, "status_code"), resp


def check_message(seen: Seen) -> None:
    """Every message any member receives in any Matrix test keeps to the spec's HTML rules and
    has a plain body that reads as text: a breach fails the test at the event that broke it."""
    if seen.source.get("type") != "m.room.message" or not seen.content:
        return  # not a message, or a redacted one (its content is gone)
    problems = message_problems(seen.content)
    assert not problems, f"{seen.source.get('sender')} sent {seen.content!r}: {problems}"


def image_from(user_id: str) -> Callable[[Seen], bool]:
    return lambda s: sent_by(user_id)(s) and s.content.get("msgtype") == "m.image"


def assert_png_matches_info(png: bytes, info: dict[str, Any]) -> None:
    """What a client reads from `info` before downloading is the picture it then gets."""
    import io

    from PIL import Image

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as picture:
        assert (info["w"], info["h"]) == picture.size
    assert info["mimetype"] == "image/png"
    assert info["size"] == len(png)


def in_reply_to(seen: Seen) -> str | None:
    relates = seen.content.get("m.relates_to") or {}
    target = (relates.get("m.in_reply_to") or {}).get("event_id")
    return str(target) if target else None


def sent_by(user_id: str) -> Callable[[Seen], bool]:
    return lambda s: s.source.get("sender") == user_id and s.source.get("type") == "m.room.message"


async def room_with_pledge(
    member: Member, bot_id: str, title: str = "Call a neighbour"
) -> tuple[str, GroupRec]:
    """A room with the bot, greeted, and one weekly pledge: the set-up most room tests share."""
    room = await member.room_with_bot(bot_id)
    await member.reply_to(await member.send(room, f'!pledge new "{title}" per week'))
    group = await group_queries.find_group("matrix", room)
    assert group is not None
    return room, group


async def prompt_for(
    app: App, room_id: str, members: list[tuple[int, Member]], verbs: tuple[str, ...]
) -> tuple[GroupRec, Reply]:
    """A scheduled question about pledge 1's open period, as the scheduler hands it over.

    The period comes from the bot's own clock: a fixed key would stop taking answers once its
    grace window ends on the real calendar.
    """
    group = await group_queries.find_group("matrix", room_id)
    assert group is not None
    (pledge,) = await pledge_queries.group_pledges(group.id, ("active",))
    period = current_period(pledge, group, app.clock.now()).key
    emoji = {"done": "✅", "not": "❌", "skip": "⏭", "snooze": "💤"}
    buttons = tuple(
        Button(v.title(), Action(v, pledge.id, period).encode(), emoji[v]) for v in verbs
    )
    mentions = tuple(MentionRef(mid, "matrix", m.user_id, m.name) for mid, m in members)
    names = " ".join(f"{{@{mid}}}" for mid, _ in members)
    text = f"How did it go? (this week)\n• **{pledge.title}** — {names}"
    reply = Reply(text, Visibility.PUBLIC, buttons=buttons, mentions=mentions)
    return group, reply
