"""Envelope encryption of credentials (AES-GCM), keyed by a local key ring.

Each credential set is encrypted with its own random data key (DEK); the DEK is wrapped
by the key ring's active key-encryption key (KEK). Both layers bind the account id as
associated data, so a ciphertext copied onto another account fails to decrypt. The
envelope records the KEK id, so old envelopes stay readable after a new key is added.

Key ring: ``SIMPUL_MASTER_KEY`` (base64 of 32 bytes; for several workers sharing one key),
else the file ``SIMPUL_KEYRING`` (default ``secrets/keyring.json`` under the project,
created with mode 0600 on first use).

WARNING - decrypted values must only ever reach a connector's constructor.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as std_secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENVELOPE_VERSION = 1


class VaultError(Exception):
    """A key is missing or a ciphertext does not open. Never carries key or plaintext."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode())


def default_keyring_path() -> Path:
    return Path(os.environ.get("SIMPUL_KEYRING") or Path.cwd() / "secrets" / "keyring.json")


@dataclass(frozen=True)
class KeyRing:
    active: str
    keys: Mapping[str, bytes]

    @classmethod
    def load(cls, path: Path | None = None, *, create: bool = True) -> "KeyRing":
        env_key = os.environ.get("SIMPUL_MASTER_KEY")
        if env_key:
            try:
                key = _unb64(env_key)
            except ValueError:
                raise VaultError("SIMPUL_MASTER_KEY is not base64") from None
            if len(key) != 32:
                raise VaultError("SIMPUL_MASTER_KEY must be 32 bytes (base64-encoded)")
            return cls(active="env", keys={"env": key})
        path = path or default_keyring_path()
        if not path.exists():
            if not create:
                raise VaultError(f"no key ring at {path}; set SIMPUL_KEYRING or SIMPUL_MASTER_KEY")
            ring = cls(active="k1", keys={"k1": AESGCM.generate_key(bit_length=256)})
            ring.save(path)
            return ring
        try:
            data = json.loads(path.read_text())
            return cls(active=data["active"], keys={kid: _unb64(k) for kid, k in data["keys"].items()})
        except (OSError, ValueError, KeyError) as exc:
            raise VaultError(f"key ring at {path} is unreadable ({type(exc).__name__})") from None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"active": self.active, "keys": {k: _b64(v) for k, v in self.keys.items()}}, fh)
        os.replace(tmp, path)


class Vault:
    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    @staticmethod
    def _aad(account_id: str) -> bytes:
        return f"simpul:credential:{account_id}".encode()

    def encrypt(self, account_id: str, values: Mapping[str, Any]) -> str:
        aad = self._aad(account_id)
        dek = AESGCM.generate_key(bit_length=256)
        nonce = std_secrets.token_bytes(12)
        ciphertext = AESGCM(dek).encrypt(nonce, json.dumps(dict(values)).encode(), aad)
        kid = self.ring.active
        wrap_nonce = std_secrets.token_bytes(12)
        wrapped = AESGCM(self.ring.keys[kid]).encrypt(wrap_nonce, dek, kid.encode() + b"|" + aad)
        return json.dumps({"v": ENVELOPE_VERSION, "kid": kid, "wdek": _b64(wrap_nonce + wrapped), "n": _b64(nonce), "ct": _b64(ciphertext)})

    def decrypt(self, account_id: str, envelope: str) -> dict[str, Any]:
        try:
            data = json.loads(envelope)
            kid = data["kid"]
        except (ValueError, KeyError):
            raise VaultError(f"credential envelope of account {account_id!r} is malformed") from None
        key = self.ring.keys.get(kid)
        if key is None:
            raise VaultError(f"credential of account {account_id!r} needs key {kid!r}, which is not in the key ring")
        aad = self._aad(account_id)
        try:
            wdek = _unb64(data["wdek"])
            dek = AESGCM(key).decrypt(wdek[:12], wdek[12:], kid.encode() + b"|" + aad)
            plain = AESGCM(dek).decrypt(_unb64(data["n"]), _unb64(data["ct"]), aad)
        except (InvalidTag, ValueError, KeyError):
            raise VaultError(f"credential of account {account_id!r} does not decrypt (wrong key or not this account's)") from None
        return json.loads(plain)

    def key_id_of(self, envelope: str) -> str:
        return json.loads(envelope)["kid"]
