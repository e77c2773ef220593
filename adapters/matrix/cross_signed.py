"""Whether the bot's device is still cross-signed as its key file says, with no private key opened.

A restart almost always finds its device signed. Seeing that takes only public keys: the
halves `cross-signing.json` keeps beside the seeds, the homeserver's `/keys/query`, and the
device's signature verified with vodozemac's ed25519 (loaded already: nio's crypto layer uses
it). pycryptodome's curve code, the seeds and the recovery key stay untouched: the signing
modules (`adapters.matrix.cross_signing`, ~0.7 MiB of imports) are imported only when this check
says "not as recorded" (a first start, a new device, keys changed elsewhere, any error).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import vodozemac
from canonicaljson import encode_canonical_json
from nio import AsyncClient

from adapters.matrix import client_api

log = logging.getLogger("logoff.matrix.cross_signing")

KEY_FILE = "cross-signing.json"
MASTER_SECRET = "m.cross_signing.master"  # where secret storage keeps the master key's seed


class State(StrEnum):
    SIGNED = "signed"  # the device is signed by the account's self-signing key, which we hold
    NEEDS_PASSWORD = "needs_password"  # the homeserver wants the password to accept new keys
    NEEDS_RECOVERY_KEY = "needs_recovery_key"  # the account has keys this directory lacks
    IDENTITY_CHANGED = "identity_changed"  # another client replaced the keys we hold
    FAILED = "failed"  # homeserver error or unreachable: calling again later may succeed


@dataclass(frozen=True)
class CrossSigningStatus:
    """What `ensure_cross_signed` found and did; public keys only, never a secret."""

    state: State
    master_key: str = ""  # public, unpadded base64
    self_signing_key: str = ""
    uploaded_keys: bool = False  # this call uploaded cross-signing keys
    signed_device: bool = False  # this call uploaded a signature of the device
    restored: bool = False  # this call took the keys from secret storage (recovery key)
    backed_up: bool = False  # the private keys are in the account's secret storage
    detail: str = ""  # what to do about a state other than SIGNED

    @property
    def ok(self) -> bool:
        return self.state is State.SIGNED

    @property
    def retry_later(self) -> bool:
        """A transient failure: the adapter may call again (e.g. after a later sync)."""
        return self.state is State.FAILED


@dataclass
class ServerKeys:
    """The account's public cross-signing keys and the device's keys, as `/keys/query` has them."""

    master: str
    self_signing: str
    user_signing: str
    device: dict[str, Any] | None


def signable(obj: dict[str, Any]) -> bytes:
    """What a Matrix signature covers: canonical JSON without `signatures` and `unsigned`."""
    return bytes(
        encode_canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})
    )


def _public(keys: dict[str, Any], user_id: str) -> str:
    """The one ed25519 public key in a cross-signing key object from `/keys/query`."""
    entry = keys.get(user_id)
    if not isinstance(entry, dict):
        return ""
    values = list((entry.get("keys") or {}).values())
    return str(values[0]) if len(values) == 1 else ""


def server_keys(answer: dict[str, Any], user_id: str, device_id: str) -> ServerKeys:
    """The `/keys/query` answer for `user_id`, read."""
    devices = (answer.get("device_keys") or {}).get(user_id) or {}
    device = devices.get(device_id)
    return ServerKeys(
        master=_public(answer.get("master_keys") or {}, user_id),
        self_signing=_public(answer.get("self_signing_keys") or {}, user_id),
        user_signing=_public(answer.get("user_signing_keys") or {}, user_id),
        device=device if isinstance(device, dict) else None,
    )


def signed_by(obj: dict[str, Any], signer: str, public: str) -> bool:
    """True when `obj` carries a valid signature of the ed25519 key `public` (vodozemac)."""
    signature = obj.get("signatures", {}).get(signer, {}).get(f"ed25519:{public}")
    if not isinstance(signature, str):
        return False
    try:
        vodozemac.Ed25519PublicKey.from_base64(public).verify_signature(
            signable(obj), vodozemac.Ed25519Signature.from_base64(signature)
        )
    except Exception:  # a bad key, signature or base64: not signed (vodozemac's own types)
        return False
    return True


def _recorded(store_dir: Path, user_id: str) -> dict[str, str] | None:
    """The public halves and the storage key id in the key file, if complete and not staged."""
    path = store_dir / KEY_FILE
    if path.with_name(KEY_FILE + ".new").exists():
        return None  # new keys an earlier run staged: `ensure_cross_signed` settles them
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        fields = ("master_key", "self_signing_key", "user_signing_key", "secret_storage_key_id")
        recorded = {name: str(raw[name]) for name in fields}
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, unreadable, or written before the user-signing half was kept
    return recorded if raw.get("user_id") == user_id else None


async def still_signed(client: AsyncClient, store_dir: Path) -> CrossSigningStatus | None:
    """SIGNED when the homeserver has exactly the recorded keys, the device carries a valid
    signature of the self-signing key and secret storage holds the keys under ours; None for
    anything else (then `ensure_cross_signed` finds out what to do). Never raises."""
    user_id, device_id = str(client.user_id), str(client.device_id or "")
    recorded = _recorded(store_dir, user_id)
    if recorded is None or not client.access_token or not device_id:
        return None
    try:
        status, answer = await client_api.call(
            client, "POST", "/keys/query", {"device_keys": {user_id: []}}
        )
        if status != 200:
            return None
        server = server_keys(answer, user_id, device_id)
        if (
            server.master != recorded["master_key"]
            or server.self_signing != recorded["self_signing_key"]
            or server.user_signing not in ("", recorded["user_signing_key"])
            or server.device is None
            or not signed_by(server.device, user_id, recorded["self_signing_key"])
        ):
            return None
        path = client_api.account_data_path(user_id, MASTER_SECRET)
        status, backup = await client_api.call(client, "GET", path)
    except Exception as exc:  # network, or an answer of an unexpected shape: the full check
        log.debug("quick cross-signing check gave way to the full one: %r", exc)
        return None
    if status != 200 or recorded["secret_storage_key_id"] not in (backup.get("encrypted") or {}):
        return None
    return CrossSigningStatus(
        State.SIGNED,
        master_key=recorded["master_key"],
        self_signing_key=recorded["self_signing_key"],
        backed_up=True,
    )
