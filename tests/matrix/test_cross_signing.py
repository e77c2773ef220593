"""Cross-signing on a real Synapse: what a member's `/keys/query` shows, checked independently.

The signatures are verified here with canonicaljson and vodozemac's ed25519 (not the
module's own helpers, which use pycryptodome), so a bug shared by signer and checker cannot
hide. Every test uses a fresh account; the bot's nio client logs in with encryption on and
uploads its device keys first, as the adapter does before calling `ensure_cross_signed`.
"""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from canonicaljson import encode_canonical_json
from nio import AsyncClient, AsyncClientConfig, KeysUploadResponse, LoginResponse

from adapters.matrix import cross_signing
from adapters.matrix.cross_signed import CrossSigningStatus, still_signed
from adapters.matrix.cross_signing import KEY_FILE, KeyFile, State, ensure_cross_signed
from adapters.matrix.device_trust import DeviceTrust
from adapters.matrix.secret_storage import StorageKey
from tests.matrix.harness import BotAccount, Member, new_bot_account
from tests.services.synapse import SynapseServer, free_port

vodozemac = pytest.importorskip("vodozemac", reason="cross-signing is part of the e2e extra")

LOGGER = "logoff.matrix.cross_signing"


class Bot:
    """One account, and its devices as separate nio clients (each a login with its own store)."""

    def __init__(self, server: SynapseServer, account: BotAccount, tmp: Path) -> None:
        self.server, self.account, self.tmp = server, account, tmp
        self.clients: list[AsyncClient] = []

    def data_dir(self, name: str = "data") -> Path:
        return self.tmp / name / "matrix"

    async def device(self) -> AsyncClient:
        """A new login with a new crypto store and its device keys uploaded."""
        store = self.tmp / f"crypto-{len(self.clients)}"
        store.mkdir(parents=True)
        options = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
        client = AsyncClient(
            self.server.url, self.account.user_id, store_path=str(store), config=options
        )
        self.clients.append(client)
        login = await client.login(self.account.password, device_name="Logoff")
        assert isinstance(login, LoginResponse), login
        upload = await client.keys_upload()
        assert isinstance(upload, KeysUploadResponse), upload
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


@pytest.fixture
async def bot(synapse_server: SynapseServer, tmp_path: Path) -> AsyncIterator[Bot]:
    b = Bot(synapse_server, new_bot_account(synapse_server, tmp_path), tmp_path)
    try:
        yield b
    finally:
        await b.close()


@pytest.fixture
async def member(synapse_server: SynapseServer) -> AsyncIterator[Member]:
    m = await Member.register(synapse_server, "Alice")
    try:
        yield m
    finally:
        await m.close()


async def http(
    server: SynapseServer, token: str, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server.url + path, json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def keys_of(member: Member, user_id: str) -> dict[str, Any]:
    """What any member's client learns about the bot: `POST /keys/query`."""
    status, answer = await http(
        member.server,
        member.nio.access_token,
        "POST",
        "/_matrix/client/v3/keys/query",
        {"device_keys": {user_id: []}},
    )
    assert status == 200, answer
    return answer


def valid(obj: dict[str, Any], signer: str, key_id: str, public: str) -> bool:
    """An independent check of one Matrix signature: canonical JSON, vodozemac's ed25519."""
    signature = obj.get("signatures", {}).get(signer, {}).get(key_id)
    if signature is None:
        return False
    message = encode_canonical_json(
        {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    )
    try:
        vodozemac.Ed25519PublicKey.from_base64(public).verify_signature(
            message, vodozemac.Ed25519Signature.from_base64(signature)
        )
    except vodozemac.SignatureException:
        return False
    return True


def only_key(key: dict[str, Any]) -> tuple[str, str]:
    ((key_id, public),) = key["keys"].items()
    assert key_id == f"ed25519:{public}"
    return key_id, public


def chain(answer: dict[str, Any], user_id: str, device_id: str) -> tuple[str, str]:
    """Assert device <- self-signing <- master, every signature valid; return both keys."""
    master = answer["master_keys"][user_id]
    self_signing = answer["self_signing_keys"][user_id]
    assert master["usage"] == ["master"]
    assert self_signing["usage"] == ["self_signing"]
    master_id, master_public = only_key(master)
    ssk_id, ssk_public = only_key(self_signing)
    assert valid(self_signing, user_id, master_id, master_public), "ssk not signed by master"
    device = answer["device_keys"][user_id][device_id]
    assert valid(device, user_id, ssk_id, ssk_public), f"device {device_id} not signed by ssk"
    # The checker is not vacuous: one changed byte fails it.
    tampered = {**device, "device_id": device_id + "X"}
    assert not valid(tampered, user_id, ssk_id, ssk_public)
    return master_public, ssk_public


def key_file(data_dir: Path) -> dict[str, Any]:
    path = data_dir / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return dict(json.loads(path.read_text()))


def assert_no_secret_logged(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret
        assert secret not in text
        assert secret.replace(" ", "") not in text


def told(caplog: pytest.LogCaptureFixture, words: str) -> int:
    return sum(words in r.getMessage() for r in caplog.records if r.name == LOGGER)


async def test_first_start_cross_signs_the_device_and_a_member_sees_a_valid_chain(
    bot: Bot, member: Member, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="logoff")
    client = await bot.device()
    data = bot.data_dir()

    status = await ensure_cross_signed(client, data, bot.account.password)

    assert status.state is State.SIGNED, status.detail
    assert status.uploaded_keys
    assert status.signed_device
    assert status.backed_up
    master, ssk = chain(
        await keys_of(member, bot.account.user_id), client.user_id, client.device_id
    )
    assert (master, ssk) == (status.master_key, status.self_signing_key)
    saved = key_file(data)
    assert saved["master_key"] == master
    assert saved["user_id"] == bot.account.user_id
    assert len(saved["recovery_key"].replace(" ", "")) == 48
    assert "recovery key is in" in caplog.text
    assert_no_secret_logged(
        caplog,
        bot.account.password,
        client.access_token,
        saved["recovery_key"],
        *saved["seeds"].values(),
    )

    # The next start: the same keys, nothing uploaded or signed again.
    again = await ensure_cross_signed(client, data, bot.account.password)
    assert again.state is State.SIGNED
    assert not again.uploaded_keys
    assert not again.signed_device
    assert (again.master_key, again.self_signing_key) == (master, ssk)
    assert chain(await keys_of(member, bot.account.user_id), client.user_id, client.device_id) == (
        master,
        ssk,
    )
    assert key_file(data) == saved


async def test_a_new_device_of_the_account_is_signed_by_the_same_keys(
    bot: Bot, member: Member
) -> None:
    first = await bot.device()
    data = bot.data_dir()
    before = await ensure_cross_signed(first, data, bot.account.password)
    assert before.ok, before.detail

    # A lost crypto store or session: a fresh login, a new device id, the key file kept.
    second = await bot.device()
    assert second.device_id != first.device_id
    after = await ensure_cross_signed(second, data, bot.account.password)

    assert after.state is State.SIGNED, after.detail
    assert not after.uploaded_keys
    assert after.signed_device
    answer = await keys_of(member, bot.account.user_id)
    assert chain(answer, bot.account.user_id, second.device_id) == (
        before.master_key,
        before.self_signing_key,
    )
    assert chain(answer, bot.account.user_id, first.device_id) == (
        before.master_key,
        before.self_signing_key,
    )


async def test_a_lost_data_directory_gets_the_keys_back_with_the_recovery_key(
    bot: Bot, member: Member, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="logoff")
    first = await ensure_cross_signed(await bot.device(), bot.data_dir(), bot.account.password)
    assert first.ok, first.detail
    recovery_key = key_file(bot.data_dir())["recovery_key"]

    client = await bot.device()
    empty = bot.data_dir("new-data")
    # Without the recovery key: a clear explanation, logged once, and nothing replaced.
    for _ in range(2):
        status = await ensure_cross_signed(client, empty, bot.account.password)
        assert status.state is State.NEEDS_RECOVERY_KEY
        assert "recovery key" in status.detail
        assert first.master_key in status.detail
    assert told(caplog, "does not hold") == 1
    wrong = StorageKey.generate().recovery_key
    status = await ensure_cross_signed(client, empty, bot.account.password, recovery_key=wrong)
    assert status.state is State.NEEDS_RECOVERY_KEY
    assert "not the one" in status.detail
    assert not (empty / KEY_FILE).exists()
    answer = await keys_of(member, bot.account.user_id)
    assert answer["master_keys"][bot.account.user_id]["keys"] == {
        f"ed25519:{first.master_key}": first.master_key
    }

    # As pasted from a password manager: the spaces do not matter; no password needed.
    restored = await ensure_cross_signed(
        client, empty, None, recovery_key=recovery_key.replace(" ", "")
    )
    assert restored.state is State.SIGNED, restored.detail
    assert restored.restored
    assert restored.signed_device
    assert not restored.uploaded_keys
    assert chain(await keys_of(member, bot.account.user_id), client.user_id, client.device_id) == (
        first.master_key,
        first.self_signing_key,
    )
    assert key_file(empty)["recovery_key"] == recovery_key
    assert_no_secret_logged(caplog, recovery_key, wrong)


async def test_replacing_the_keys_asks_for_the_password_through_interactive_auth(
    bot: Bot, member: Member, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="logoff")
    client = await bot.device()
    data = bot.data_dir()
    # Synapse takes the first keys of an account without a password (MSC3967).
    first = await ensure_cross_signed(client, data, None)
    assert first.state is State.SIGNED, first.detail
    assert first.uploaded_keys
    saved = key_file(data)

    # Replacing them needs user-interactive auth; with only a token, say so once.
    for _ in range(2):
        status = await ensure_cross_signed(client, data, None, reset=True)
        assert status.state is State.NEEDS_PASSWORD
        assert "matrix.password" in status.detail
    assert told(caplog, "only an access token is configured") == 1
    status = await ensure_cross_signed(client, data, "not-the-password", reset=True)
    assert status.state is State.NEEDS_PASSWORD
    assert "rejected" in status.detail
    assert key_file(data) == saved  # a refused reset changes nothing here ...
    assert not (data / f"{KEY_FILE}.new").exists()
    answer = await keys_of(member, bot.account.user_id)
    assert chain(answer, client.user_id, client.device_id)[0] == first.master_key  # ... or there

    reset = await ensure_cross_signed(client, data, bot.account.password, reset=True)
    assert reset.state is State.SIGNED, reset.detail
    assert reset.uploaded_keys
    assert reset.signed_device
    assert reset.master_key != first.master_key
    master, _ = chain(await keys_of(member, bot.account.user_id), client.user_id, client.device_id)
    assert master == reset.master_key
    renewed = key_file(data)
    assert renewed["master_key"] == master
    assert renewed["recovery_key"] != saved["recovery_key"]
    status, default = await http(
        bot.server,
        client.access_token,
        "GET",
        f"/_matrix/client/v3/user/{client.user_id}/account_data/m.secret_storage.default_key",
    )
    assert status == 200
    assert default == {"key": renewed["secret_storage_key_id"]}
    assert_no_secret_logged(caplog, bot.account.password, "not-the-password")


async def test_keys_replaced_by_another_client_are_reported_not_overwritten(
    bot: Bot, member: Member
) -> None:
    ours = await bot.device()
    first = await ensure_cross_signed(ours, bot.data_dir(), bot.account.password)
    assert first.ok, first.detail
    # Someone resets the account's identity from another device (as Element's "reset" does).
    other = await bot.device()
    elsewhere = await ensure_cross_signed(
        other, bot.data_dir("elsewhere"), bot.account.password, reset=True
    )
    assert elsewhere.ok, elsewhere.detail

    status = await ensure_cross_signed(ours, bot.data_dir(), bot.account.password)

    assert status.state is State.IDENTITY_CHANGED
    assert elsewhere.master_key in status.detail
    assert first.master_key in status.detail
    answer = await keys_of(member, bot.account.user_id)
    assert chain(answer, other.user_id, other.device_id)[0] == elsewhere.master_key
    assert key_file(bot.data_dir())["master_key"] == first.master_key


async def test_homeserver_trouble_is_a_status_never_an_exception(
    bot: Bot, synapse_server: SynapseServer
) -> None:
    client = await bot.device()
    away = AsyncClient(f"http://127.0.0.1:{free_port()}", client.user_id)
    away.restore_login(client.user_id, client.device_id, client.access_token)
    try:
        status = await ensure_cross_signed(away, bot.data_dir(), bot.account.password)
    finally:
        await away.close()
    assert status.state is State.FAILED
    assert status.retry_later
    assert "unreachable" in status.detail

    device_id, token = client.device_id, client.access_token
    await client.logout()
    client.restore_login(client.user_id, device_id, token)  # a token the server revoked
    status = await ensure_cross_signed(client, bot.data_dir(), bot.account.password)
    assert status.state is State.FAILED
    assert "M_UNKNOWN_TOKEN" in status.detail
    assert not (bot.data_dir() / KEY_FILE).exists()


async def test_new_keys_the_server_took_survive_a_crash_before_they_were_saved(
    bot: Bot, member: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await bot.device()
    data = bot.data_dir()
    first = await ensure_cross_signed(client, data, bot.account.password)
    assert first.ok, first.detail

    # The process dies between the server accepting new keys and the rename that keeps them.
    def crash(self: KeyFile) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(KeyFile, "commit", crash)
        with pytest.raises(KeyboardInterrupt):
            await ensure_cross_signed(client, data, bot.account.password, reset=True)
    answer = await keys_of(member, bot.account.user_id)
    _, uploaded = only_key(answer["master_keys"][bot.account.user_id])
    assert uploaded != first.master_key  # the server has keys only the staged file holds

    after = await ensure_cross_signed(client, data, bot.account.password)
    assert after.state is State.SIGNED, after.detail
    assert after.master_key == uploaded
    assert after.signed_device
    assert key_file(data)["master_key"] == after.master_key
    assert not (data / f"{KEY_FILE}.new").exists()
    answer = await keys_of(member, bot.account.user_id)
    assert chain(answer, client.user_id, client.device_id)[0] == uploaded


async def test_a_restart_sees_its_signed_device_from_public_keys_alone(
    bot: Bot, member: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = await bot.device()
    data = bot.data_dir()
    first = await ensure_cross_signed(ours, data, bot.account.password)
    assert first.ok, first.detail
    saved = key_file(data)

    # The restart: the device is signed as recorded; the full check (seeds, recovery key,
    # pycryptodome) is never reached.
    def no_full_check(*args: object, **kwargs: object) -> None:
        raise AssertionError("the full cross-signing check ran on a plain restart")

    monkeypatch.setattr(cross_signing, "ensure_cross_signed", no_full_check)
    trust = DeviceTrust(data, bot.account.password, "")
    await trust.after_sync(ours)
    assert trust.signed
    assert trust.status is not None
    assert (trust.status.master_key, trust.status.self_signing_key) == (
        first.master_key,
        first.self_signing_key,
    )
    assert trust.status.backed_up
    assert not trust.status.signed_device
    assert key_file(data) == saved
    monkeypatch.undo()

    # A new device is not signed yet: the quick check says so and the full one signs it.
    second = await bot.device()
    assert await still_signed(second, data) is None
    trust = DeviceTrust(data, bot.account.password, "")
    await trust.after_sync(second)
    assert trust.signed
    assert trust.status is not None
    assert trust.status.signed_device
    assert await still_signed(second, data) == CrossSigningStatus(
        State.SIGNED, first.master_key, first.self_signing_key, backed_up=True
    )

    # A key file from before the user-signing half was kept: the full check, which adds it.
    old = {k: v for k, v in saved.items() if k != "user_signing_key"}
    (data / KEY_FILE).write_text(json.dumps(old))
    assert await still_signed(ours, data) is None
    assert (await ensure_cross_signed(ours, data, bot.account.password)).ok
    assert key_file(data) == saved
    assert await still_signed(ours, data) is not None

    # Keys replaced elsewhere: not as recorded, and the full check reports it.
    other = await bot.device()
    elsewhere = await ensure_cross_signed(
        other, bot.data_dir("elsewhere"), bot.account.password, reset=True
    )
    assert elsewhere.ok, elsewhere.detail
    assert await still_signed(ours, data) is None
    status = await ensure_cross_signed(ours, data, bot.account.password)
    assert status.state is State.IDENTITY_CHANGED
