"""Cross-signing for the bot's own account on top of matrix-nio (which has none).

`ensure_cross_signed` is the one entry point: called after login and nio's first key upload,
it makes sure the account has a master, a self-signing and a user-signing key, that the bot
holds their private halves (a 0600 file in the data directory, with a recovery key for people),
and that the bot's current device is signed by the self-signing key. Clients that only trust
devices their owner cross-signed (MSC4153) then keep sharing room keys with the bot.

The private keys are also kept, encrypted with the recovery key, in the account's secret
storage (the same format Element uses): with the recovery key a new data directory gets them
back, and an operator can open the bot's account in Element to verify it with members.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientError
from nio import AsyncClient

from adapters.matrix import client_api
from adapters.matrix.cross_signed import (
    KEY_FILE,
    MASTER_SECRET,
    CrossSigningStatus,
    ServerKeys,
    State,
    server_keys,
)
from adapters.matrix.secret_storage import RecoveryKeyError, StorageKey
from adapters.matrix.signing import SigningKey, verify_json

log = logging.getLogger("logoff.matrix.cross_signing")

NETWORK_ERRORS = (ClientError, OSError, TimeoutError)

# Where secret storage keeps each private key (the spec's names) and our names for them.
SECRETS = {
    "master": MASTER_SECRET,
    "self_signing": "m.cross_signing.self_signing",
    "user_signing": "m.cross_signing.user_signing",
}
DEFAULT_KEY = "m.secret_storage.default_key"
RESET_HINT = (
    "without it, reset the bot's identity from Element and give the bot the new recovery key "
    '(docs/matrix.md, "Cross-signing and the recovery key")'
)


@dataclass(frozen=True, repr=False)
class KeySet:
    """The account's three cross-signing keys and the secret storage key that backs them up."""

    user_id: str
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey
    storage: StorageKey

    @classmethod
    def generate(cls, user_id: str) -> KeySet:
        return cls(
            user_id,
            SigningKey.generate(),
            SigningKey.generate(),
            SigningKey.generate(),
            StorageKey.generate(),
        )

    def _key(self, usage: str, key: SigningKey) -> dict[str, Any]:
        return {"user_id": self.user_id, "usage": [usage], "keys": {key.key_id: key.public}}

    def upload_body(self) -> dict[str, Any]:
        """`/keys/device_signing/upload`: the master key signs the other two (the spec)."""
        self_signing = self._key("self_signing", self.self_signing)
        user_signing = self._key("user_signing", self.user_signing)
        self.master.sign_json(self_signing, self.user_id)
        self.master.sign_json(user_signing, self.user_id)
        return {
            "master_key": self._key("master", self.master),
            "self_signing_key": self_signing,
            "user_signing_key": user_signing,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "user_id": self.user_id,
            "master_key": self.master.public,  # public halves, for people comparing keys
            "self_signing_key": self.self_signing.public,
            "user_signing_key": self.user_signing.public,  # with the two above: still_signed
            "seeds": {name: getattr(self, name).seed_base64 for name in SECRETS},
            "secret_storage_key_id": self.storage.key_id,
            "recovery_key": self.storage.recovery_key,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> KeySet:
        seeds = {name: SigningKey.from_base64(str(raw["seeds"][name])) for name in SECRETS}
        storage_id, recovery_key = str(raw["secret_storage_key_id"]), str(raw["recovery_key"])
        return cls(
            str(raw["user_id"]),
            storage=StorageKey.from_recovery_key(storage_id, recovery_key),
            **seeds,
        )


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by the owner only (0600, folder 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)  # O_CREAT's mode does not apply to a leftover .tmp
    os.replace(tmp, path)


class KeyFile:
    """`cross-signing.json` in the data directory; new keys are staged until the server has them."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / KEY_FILE
        self.staged = directory / (KEY_FILE + ".new")

    def _read(self, path: Path) -> KeySet | None:
        try:
            return KeySet.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            aside = path.with_name(path.name + ".unreadable")
            os.replace(path, aside)
            log.warning(
                "%s is unreadable (%s); moved it to %s", path, type(exc).__name__, aside.name
            )
            return None

    def load(self) -> KeySet | None:
        return self._read(self.path)

    def load_staged(self) -> KeySet | None:
        return self._read(self.staged)

    def save(self, keys: KeySet) -> None:
        write_private(self.path, json.dumps(keys.to_json(), indent=2) + "\n")

    def stage(self, keys: KeySet) -> None:
        write_private(self.staged, json.dumps(keys.to_json(), indent=2) + "\n")

    def keep_public_halves(self, keys: KeySet) -> None:
        """Rewrite a file from before the user-signing public half was kept (`still_signed`
        needs all three to see a restart's device signed without opening the seeds)."""
        try:
            complete = "user_signing_key" in json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            return
        if not complete:
            self.save(keys)

    def commit(self) -> None:
        os.replace(self.staged, self.path)

    def drop_staged(self) -> None:
        self.staged.unlink(missing_ok=True)


class _Stop(Exception):
    """Ends one `ensure_cross_signed` call with a status (caught at the entry point)."""

    def __init__(self, state: State, detail: str) -> None:
        super().__init__(detail)
        self.state, self.detail = state, detail


class _Unreachable(_Stop):
    """No answer: the request may or may not have been carried out."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(State.FAILED, f"homeserver unreachable ({exc})")


_said: set[tuple[str, str]] = set()


def _once(user_id: str, level: int, message: str, *args: Any) -> None:
    """Log an explanation once per account and process, however often the adapter calls."""
    key = (user_id, message % args)
    if key not in _said:
        _said.add(key)
        log.log(level, message, *args)


class _CrossSigning:
    def __init__(self, client: AsyncClient, store_dir: Path, password: str | None) -> None:
        self.client = client
        self.user_id: str = client.user_id
        self.device_id: str = client.device_id or ""
        self.password = password or None
        self.file = KeyFile(store_dir)
        self.generated = False  # this call made new keys (first start, or a reset)

    # -- HTTP -------------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        try:
            return await client_api.call(self.client, method, path, body)
        except NETWORK_ERRORS as exc:
            raise _Unreachable(exc) from None

    def _account_data(self, kind: str) -> str:
        return client_api.account_data_path(self.user_id, kind)

    async def _get_account_data(self, kind: str) -> dict[str, Any] | None:
        status, answer = await self._call("GET", self._account_data(kind))
        if status == 404:
            return None
        if status != 200:
            raise _Stop(State.FAILED, _refused(f"reading account data {kind}", status, answer))
        return answer

    async def _put_account_data(self, kind: str, content: dict[str, Any]) -> None:
        status, answer = await self._call("PUT", self._account_data(kind), content)
        if status != 200:
            raise _Stop(State.FAILED, _refused(f"writing account data {kind}", status, answer))

    # -- steps ------------------------------------------------------------------------------

    async def _query(self) -> ServerKeys:
        body: dict[str, Any] = {"device_keys": {self.user_id: []}}
        status, answer = await self._call("POST", "/keys/query", body)
        if status != 200:
            raise _Stop(State.FAILED, _refused("querying the bot's keys", status, answer))
        return server_keys(answer, self.user_id, self.device_id)

    async def _upload_keys(self, keys: KeySet) -> None:
        """`/keys/device_signing/upload`, with user-interactive auth when the server wants it."""
        path = "/keys/device_signing/upload"
        body = keys.upload_body()
        status, answer = await self._call("POST", path, body)
        if status == 200:
            return
        if status != 401 or "session" not in answer:
            raise _Stop(State.FAILED, _refused("uploading cross-signing keys", status, answer))
        flows = [flow.get("stages") for flow in answer.get("flows") or []]
        if ["m.login.password"] not in flows:
            raise _Stop(State.FAILED, _approval_needed(flows, answer.get("params") or {}))
        if self.password is None:
            raise _Stop(
                State.NEEDS_PASSWORD,
                "the homeserver asks for the bot's password before it accepts cross-signing "
                "keys, and only an access token is configured. Set matrix.password (or "
                "LOGOFF_MATRIX_PASSWORD) for one start; after that the token alone is enough",
            )
        body["auth"] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": self.user_id},
            "password": self.password,
            "session": answer["session"],
        }
        status, answer = await self._call("POST", path, body)
        if status == 200:
            return
        if status == 401:
            raise _Stop(
                State.NEEDS_PASSWORD,
                "the homeserver rejected the configured password when asked to confirm the "
                f"cross-signing keys ({answer.get('errcode', 'HTTP 401')}); check "
                "matrix.password",
            )
        raise _Stop(State.FAILED, _refused("uploading cross-signing keys", status, answer))

    async def _restore(self, recovery_key: str) -> KeySet:
        """The private keys from the account's secret storage, opened with the recovery key."""
        default = await self._get_account_data(DEFAULT_KEY)
        key_id = str((default or {}).get("key") or "")
        description = key_id and await self._get_account_data(f"m.secret_storage.key.{key_id}")
        if not description:
            raise RecoveryKeyError("the account has no secret storage to restore the keys from")
        storage = StorageKey.from_recovery_key(key_id, recovery_key)
        storage.check(description)
        seeds: dict[str, SigningKey] = {}
        for name, secret in SECRETS.items():
            content = await self._get_account_data(secret)
            if content is None:
                raise RecoveryKeyError(f"the account's secret storage holds no {secret}")
            try:
                seeds[name] = SigningKey.from_base64(storage.decrypt(secret, content))
            except ValueError as exc:
                raise RecoveryKeyError(f"{secret} in secret storage is not a key: {exc}") from None
        return KeySet(self.user_id, storage=storage, **seeds)

    async def _sign_device(self, keys: KeySet, device: dict[str, Any] | None) -> bool:
        """Sign the bot's device with the self-signing key unless it already is; True if it was."""
        if device is None:
            raise _Stop(
                State.FAILED,
                f"the homeserver has no keys for device {self.device_id} yet; call after nio's "
                "keys_upload",
            )
        ssk = keys.self_signing
        if verify_json(device, self.user_id, ssk.key_id, ssk.public):
            return False
        signed = {k: v for k, v in device.items() if k not in ("signatures", "unsigned")}
        ssk.sign_json(signed, self.user_id)
        body = {self.user_id: {self.device_id: signed}}
        status, answer = await self._call("POST", "/keys/signatures/upload", body)
        failures = answer.get("failures") or {}
        if status != 200 or failures:
            problem = failures.get(self.user_id, {}).get(self.device_id) or answer
            raise _Stop(State.FAILED, _refused("uploading the device signature", status, problem))
        return True

    async def _back_up(self, keys: KeySet, fresh: bool) -> None:
        """Keep the private keys in secret storage under the recovery key (idempotent).

        New keys always go there and their storage key becomes the default. Otherwise only
        what is missing under our storage key is written: a storage key someone set up in
        Element stays the default."""
        storage = keys.storage
        if not fresh:
            current = await self._get_account_data(SECRETS["master"])
            if current is not None and storage.key_id in (current.get("encrypted") or {}):
                return
        description_type = f"m.secret_storage.key.{storage.key_id}"
        if await self._get_account_data(description_type) is None:
            await self._put_account_data(description_type, storage.description())
        for name, secret in SECRETS.items():
            seed = getattr(keys, name).seed_base64
            await self._put_account_data(secret, storage.encrypt(secret, seed))
        if fresh or await self._get_account_data(DEFAULT_KEY) is None:
            await self._put_account_data(DEFAULT_KEY, {"key": storage.key_id})

    # -- the whole --------------------------------------------------------------------------

    async def _settle_keys(
        self, server: ServerKeys, recovery_key: str | None, reset: bool
    ) -> tuple[KeySet, bool, bool]:
        """The keys to sign with: (keys, uploaded now, restored now); sets `self.generated`."""
        staged = self.file.load_staged()
        if staged is not None and server.master and staged.master.public == server.master:
            self.file.commit()  # uploaded by an earlier run that stopped before committing
        else:
            self.file.drop_staged()
        local = self.file.load()
        if local is not None and local.user_id != self.user_id:
            raise _Stop(
                State.FAILED,
                f"{self.file.path} holds the cross-signing keys of {local.user_id}, not "
                f"{self.user_id}; move it away to set up this account",
            )
        if reset or (not server.master and local is None):
            keys = KeySet.generate(self.user_id)
            self.file.stage(keys)
            try:
                await self._upload_keys(keys)
            except _Unreachable:
                raise  # the server may have taken them: the next run looks (staged file)
            except _Stop:
                self.file.drop_staged()  # refused: nothing changed on the server
                raise
            self.file.commit()
            self.generated = True
            return keys, True, False
        if local is not None and local.master.public == server.master:
            if (local.self_signing.public, local.user_signing.public) != (
                server.self_signing,
                server.user_signing or local.user_signing.public,
            ):
                await self._upload_keys(local)  # the same identity; our signing keys back
                return local, True, False
            return local, False, False
        if not server.master and local is not None:
            await self._upload_keys(local)  # kept locally, never accepted (or wiped) on the server
            return local, True, False
        return await self._recover(server, local, recovery_key), False, True

    async def _recover(
        self, server: ServerKeys, local: KeySet | None, recovery_key: str | None
    ) -> KeySet:
        """The account has keys this directory does not hold: take them from secret storage."""
        given = recovery_key or (local.storage.recovery_key if local is not None else None)
        problem = ""
        if given:
            try:
                keys = await self._restore(given)
            except RecoveryKeyError as exc:
                problem = f" ({exc})"
            else:
                if keys.master.public == server.master:
                    self.file.save(keys)
                    return keys
                problem = " (the keys in secret storage are not the account's current ones)"
        if local is None:
            raise _Stop(
                State.NEEDS_RECOVERY_KEY,
                f"the account already has cross-signing keys (master key {server.master}) that "
                f"{self.file.path} does not hold{problem}. Give the bot the account's recovery "
                f"key (matrix.recovery_key) to sign this device with them; {RESET_HINT}",
            )
        raise _Stop(
            State.IDENTITY_CHANGED,
            f"the account's cross-signing keys on the homeserver (master key {server.master}) "
            f"are not the ones in {self.file.path} (master key {local.master.public}): another "
            f"client replaced them{problem}. Give the bot the new recovery key "
            "(matrix.recovery_key)",
        )

    async def ensure(self, recovery_key: str | None, reset: bool) -> CrossSigningStatus:
        if not self.client.access_token or not self.device_id:
            raise _Stop(State.FAILED, "not logged in yet: call after login")
        server = await self._query()
        keys, uploaded, restored = await self._settle_keys(server, recovery_key, reset)
        signed = await self._sign_device(keys, server.device)
        backed_up, detail = True, ""
        try:
            await self._back_up(keys, fresh=self.generated)
        except _Stop as exc:
            backed_up, detail = False, f"secret storage not updated: {exc.detail}"
            _once(self.user_id, logging.WARNING, "cross-signing: %s; retried next start", detail)
        if uploaded:
            log.info(
                "cross-signing keys uploaded for %s (master key %s); the recovery key is in %s: "
                "keep a copy in a password manager",
                self.user_id,
                keys.master.public,
                self.file.path,
            )
        elif restored:
            log.info(
                "cross-signing keys of %s restored from secret storage (master key %s)",
                self.user_id,
                keys.master.public,
            )
        if signed:
            log.info("device %s of %s signed by its self-signing key", self.device_id, self.user_id)
        self.file.keep_public_halves(keys)
        return CrossSigningStatus(
            State.SIGNED,
            master_key=keys.master.public,
            self_signing_key=keys.self_signing.public,
            uploaded_keys=uploaded,
            signed_device=signed,
            restored=restored,
            backed_up=backed_up,
            detail=detail,
        )


def _refused(what: str, status: int, answer: dict[str, Any]) -> str:
    code = answer.get("errcode") or f"HTTP {status}"
    message = str(answer.get("error") or answer.get("message") or "")[:200]
    return f"{what} failed: {code} {message}".strip()


def _approval_needed(flows: list[Any], params: dict[str, Any]) -> str:
    for stage in ("m.oauth", "org.matrix.cross_signing_reset"):
        url = (params.get(stage) or {}).get("url")
        if url:
            return f"the homeserver wants the cross-signing reset approved at {url}; then restart"
    return f"the homeserver asks for an authentication the bot cannot do ({flows})"


async def ensure_cross_signed(
    client: AsyncClient,
    store_dir: Path,
    password: str | None,
    *,
    recovery_key: str | None = None,
    reset: bool = False,
) -> CrossSigningStatus:
    """Make the bot's current device cross-signed; idempotent, never raises on server trouble.

    `client` is a logged-in `nio.AsyncClient` whose device keys are uploaded; `store_dir` the
    adapter's data directory (`data/matrix`); `password` the bot's password, if configured
    (only needed when the homeserver asks for it, i.e. when replacing keys). `recovery_key`
    opens the account's secret storage when this directory does not hold the keys (a new data
    directory, or keys set up in Element). `reset` replaces the account's keys with new ones:
    members who verified the bot must verify it again. Problems are logged once and returned
    as the status's `state` and `detail`.
    """
    user_id = str(getattr(client, "user_id", ""))
    try:
        return await _CrossSigning(client, Path(store_dir), password).ensure(recovery_key, reset)
    except _Stop as exc:
        status = CrossSigningStatus(exc.state, detail=exc.detail)
    except OSError as exc:  # the data directory (network errors became _Stop above)
        status = CrossSigningStatus(State.FAILED, detail=f"cannot write the key file ({exc})")
    except Exception as exc:  # a bug here must not stop the bot from answering
        log.exception("cross-signing failed unexpectedly")
        return CrossSigningStatus(State.FAILED, detail=f"unexpected {type(exc).__name__}")
    _once(user_id, logging.WARNING, "cross-signing for %s: %s", user_id, status.detail)
    return status
