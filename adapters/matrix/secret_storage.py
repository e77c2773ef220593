"""Matrix secret storage (`m.secret_storage.v1.aes-hmac-sha2`) and its base58 recovery key."""

from __future__ import annotations

import hmac
import secrets
import string
from dataclasses import dataclass
from typing import Any

from Crypto.Cipher import AES
from Crypto.Hash import HMAC, SHA256
from Crypto.Protocol.KDF import HKDF

from adapters.matrix.signing import b64decode, b64encode

ALGORITHM = "m.secret_storage.v1.aes-hmac-sha2"
KEY_BYTES = 32
_PREFIX = b"\x8b\x01"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # Bitcoin's alphabet
_KEY_ID_ALPHABET = string.ascii_letters + string.digits


class RecoveryKeyError(ValueError):
    """The text is not a recovery key, or not the one of this secret storage key."""


def _base58_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, rest = divmod(number, 58)
        digits = _BASE58[rest] + digits
    zeros = len(data) - len(data.lstrip(b"\0"))
    return _BASE58[0] * zeros + digits


def _base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        index = _BASE58.find(char)
        if index < 0:
            raise RecoveryKeyError(f"{char!r} is not a character of a recovery key")
        number = number * 58 + index
    zeros = len(text) - len(text.lstrip(_BASE58[0]))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _parity(data: bytes) -> int:
    parity = 0
    for byte in data:
        parity ^= byte
    return parity


def encode_recovery_key(key: bytes) -> str:
    """The spec's key representation: base58 of 0x8B 0x01, the key, a parity byte; 4-char groups."""
    raw = _PREFIX + key
    text = _base58_encode(raw + bytes([_parity(raw)]))
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def decode_recovery_key(text: str) -> bytes:
    """The 32 key bytes of a recovery key as Element shows it (white space does not matter)."""
    raw = _base58_decode("".join(text.split()))
    if len(raw) != len(_PREFIX) + KEY_BYTES + 1:
        raise RecoveryKeyError("a recovery key is 48 characters of base58 (in groups of four)")
    if raw[:2] != _PREFIX:
        raise RecoveryKeyError("this is not a Matrix recovery key (wrong prefix)")
    if _parity(raw[:-1]) != raw[-1]:
        raise RecoveryKeyError("the recovery key has a typo (its check byte does not match)")
    return raw[2:-1]


def _keys(key: bytes, name: str) -> tuple[bytes, bytes]:
    derived = HKDF(key, 64, b"\0" * 32, SHA256, context=name.encode())
    assert isinstance(derived, bytes)
    return derived[:32], derived[32:]


def _ctr(aes_key: bytes, iv: bytes, data: bytes) -> bytes:
    cipher = AES.new(aes_key, AES.MODE_CTR, initial_value=iv, nonce=b"")
    return bytes(cipher.encrypt(data))


def _mac(mac_key: bytes, data: bytes) -> bytes:
    return bytes(HMAC.new(mac_key, data, digestmod=SHA256).digest())


def encrypt(key: bytes, name: str, plaintext: bytes) -> dict[str, str]:
    """One secret's `{iv, ciphertext, mac}` under the storage key, for the secret `name`."""
    aes_key, mac_key = _keys(key, name)
    iv = bytearray(secrets.token_bytes(16))
    iv[8] &= 0x7F  # bit 63 cleared, so the 64-bit counter never wraps (the spec's rule)
    ciphertext = _ctr(aes_key, bytes(iv), plaintext)
    return {
        "iv": b64encode(bytes(iv)),
        "ciphertext": b64encode(ciphertext),
        "mac": b64encode(_mac(mac_key, ciphertext)),
    }


def decrypt(key: bytes, name: str, data: dict[str, Any]) -> bytes:
    """The plaintext of one encrypted secret; RecoveryKeyError when the MAC does not match."""
    aes_key, mac_key = _keys(key, name)
    try:
        iv, ciphertext, mac = (b64decode(str(data[k])) for k in ("iv", "ciphertext", "mac"))
    except (KeyError, ValueError) as exc:
        raise RecoveryKeyError(f"malformed secret {name}: {exc}") from None
    if not hmac.compare_digest(_mac(mac_key, ciphertext), mac):
        raise RecoveryKeyError(f"the recovery key does not open the secret {name}")
    return _ctr(aes_key, iv, ciphertext)


@dataclass(frozen=True, repr=False)
class StorageKey:
    """A secret storage key and its id (`m.secret_storage.key.<id>` in account data)."""

    key_id: str
    key: bytes

    @classmethod
    def generate(cls) -> StorageKey:
        key_id = "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(32))
        return cls(key_id, secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_recovery_key(cls, key_id: str, recovery_key: str) -> StorageKey:
        return cls(key_id, decode_recovery_key(recovery_key))

    @property
    def recovery_key(self) -> str:
        return encode_recovery_key(self.key)

    def description(self) -> dict[str, Any]:
        """The account data content that lets a client check a recovery key before using it."""
        check = encrypt(self.key, "", b"\0" * 32)
        return {"algorithm": ALGORITHM, "iv": check["iv"], "mac": check["mac"]}

    def check(self, description: dict[str, Any]) -> None:
        """Raise RecoveryKeyError unless this key is the one `description` was made for."""
        if description.get("algorithm") != ALGORITHM:
            raise RecoveryKeyError(f"unsupported secret storage {description.get('algorithm')}")
        if "iv" not in description or "mac" not in description:
            return  # the spec: without a check value, assume the key is right
        aes_key, mac_key = _keys(self.key, "")
        try:
            iv, mac = b64decode(str(description["iv"])), b64decode(str(description["mac"]))
        except ValueError as exc:
            raise RecoveryKeyError(f"malformed secret storage key description: {exc}") from None
        if not hmac.compare_digest(_mac(mac_key, _ctr(aes_key, iv, b"\0" * 32)), mac):
            raise RecoveryKeyError(
                "this recovery key is not the one of the account's secret storage"
            )

    def encrypt(self, name: str, secret: str) -> dict[str, Any]:
        """Account data content for the secret `name`, encrypted with this key."""
        return {"encrypted": {self.key_id: encrypt(self.key, name, secret.encode())}}

    def decrypt(self, name: str, content: dict[str, Any]) -> str:
        data = (content.get("encrypted") or {}).get(self.key_id)
        if not isinstance(data, dict):
            raise RecoveryKeyError(f"the secret {name} is not stored under this recovery key")
        return decrypt(self.key, name, data).decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"StorageKey(key_id={self.key_id!r})"
