"""Ed25519 keys from 32-byte seeds and Matrix signed JSON (the spec's "Signing JSON" appendix)."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import Any

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from adapters.matrix.cross_signed import signable

SEED_BYTES = 32


def b64encode(data: bytes) -> str:
    """Matrix's unpadded base64."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """Unpadded or padded base64 (the spec asks readers to accept both)."""
    text = text.strip()
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64: {exc}") from None


@dataclass(frozen=True, repr=False)
class SigningKey:
    """One ed25519 key pair; `repr` never shows the seed."""

    seed: bytes

    def __post_init__(self) -> None:
        if len(self.seed) != SEED_BYTES:
            raise ValueError(f"an ed25519 seed has {SEED_BYTES} bytes, not {len(self.seed)}")

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(secrets.token_bytes(SEED_BYTES))

    @classmethod
    def from_base64(cls, seed: str) -> SigningKey:
        return cls(b64decode(seed))

    @property
    def seed_base64(self) -> str:
        return b64encode(self.seed)

    @property
    def public(self) -> str:
        """The public key, unpadded base64: also the key's id after `ed25519:`."""
        key = ECC.construct(curve="ed25519", seed=self.seed)
        return b64encode(key.public_key().export_key(format="raw"))

    @property
    def key_id(self) -> str:
        return f"ed25519:{self.public}"

    def sign_bytes(self, message: bytes) -> str:
        signer = eddsa.new(ECC.construct(curve="ed25519", seed=self.seed), "rfc8032")
        return b64encode(signer.sign(message))

    def sign_json(self, obj: dict[str, Any], signer: str, key_id: str | None = None) -> None:
        """Add this key's signature to `obj["signatures"][signer]` in place."""
        signature = self.sign_bytes(signable(obj))
        obj.setdefault("signatures", {}).setdefault(signer, {})[key_id or self.key_id] = signature

    def __repr__(self) -> str:
        return f"SigningKey(public={self.public!r})"


def verify_json(obj: dict[str, Any], signer: str, key_id: str, public: str) -> bool:
    """True when `obj` carries a valid signature by `public` under `signatures[signer][key_id]`."""
    signature = obj.get("signatures", {}).get(signer, {}).get(key_id)
    if not isinstance(signature, str):
        return False
    try:
        key = eddsa.import_public_key(b64decode(public))
        eddsa.new(key, "rfc8032").verify(signable(obj), b64decode(signature))
    except ValueError:
        return False
    return True
