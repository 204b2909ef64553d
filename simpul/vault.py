"""Envelope encryption (AES-GCM) under a rotatable key ring.

Each secret is encrypted with its own random data key (DEK); the DEK is wrapped by one of
the ring's key-encryption keys (KEKs). The envelope names its KEK (``kid``, e.g. ``k2``:
the key's version) and its format version. Both layers bind a *context* as associated
data (``simpul:credential:<account>``, ``simpul:buyer:<account>:<order>``), so a
ciphertext copied onto another row fails to decrypt. Rotation *rewraps*: the DEK is
unwrapped with the old KEK and wrapped with the active one; the ciphertext itself never
passes through plaintext (Vault transit's rewrap, MultiFernet's rotate).

Key ring, first match wins:

- ``SIMPUL_MASTER_KEY``: ``<base64 of 32 bytes>`` (one key, id ``env``) or
  ``k2:<base64>,k1:<base64>`` (the first is active). For several workers sharing keys;
  rotation means putting the new key first everywhere, then ``simpul keys rotate``.
- the file ``SIMPUL_KEYRING`` (default ``secrets/keyring.json`` under the project),
  created with mode 0600 only by set-up (``simpul keys init``, the demo), never on the
  side by a command that found it missing; ``simpul keys rotate`` adds keys to it.

WARNING - decrypted credentials must only ever reach a connector's constructor.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import stat
import secrets as std_secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENVELOPE_VERSION = 1
log = logging.getLogger("simpul.vault")
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class VaultError(Exception):
    """A key is missing or a ciphertext does not open. Never carries key or plaintext."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def default_keyring_path() -> Path:
    return Path(os.environ.get("SIMPUL_KEYRING") or Path.cwd() / "secrets" / "keyring.json")


def _parse_env_keys(text: str) -> tuple[str, dict[str, bytes]]:
    """``<b64>`` or ``kid:<b64>,kid:<b64>`` (first active) -> (active, keys)."""
    items = [part.strip() for part in text.split(",") if part.strip()]
    keys: dict[str, bytes] = {}
    for item in items:
        kid, sep, material = item.partition(":")
        if not sep:
            kid, material = "env", item
        if not _KID.match(kid):
            raise VaultError("SIMPUL_MASTER_KEY: key ids are letters, digits, '.', '_' or '-'")
        try:
            key = _unb64(material)
        except (ValueError, binascii.Error):
            raise VaultError(f"SIMPUL_MASTER_KEY: key {kid!r} is not base64") from None
        if len(key) != 32:
            raise VaultError(f"SIMPUL_MASTER_KEY: key {kid!r} must be 32 bytes (base64-encoded)")
        keys[kid] = key
    if not keys:
        raise VaultError("SIMPUL_MASTER_KEY is empty")
    return next(iter(keys)), keys


@dataclass(frozen=True)
class KeyRing:
    """The KEKs by id, which one wraps new data keys, and where the ring is kept."""

    active: str
    keys: Mapping[str, bytes]
    path: Path | None = field(default=None, compare=False)  # None: from the environment
    rotating: bool = False  # a rotation added ``active`` and has not finished rewrapping

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise VaultError(f"the key ring's active key {self.active!r} is not in it")

    @property
    def source(self) -> str:
        return "SIMPUL_MASTER_KEY" if self.path is None else str(self.path)

    @classmethod
    def load(cls, path: Path | None = None, *, create: bool = False) -> "KeyRing":
        """The ring from ``SIMPUL_MASTER_KEY``, else from its file.

        A missing file is refused, naming it: a command that quietly made a new ring
        would seal new values under a key nobody backed up, unreadable once the real
        ring is back. Only set-up creates one (``simpul keys init``, the demo:
        ``create=True`` or ``KeyRing.create``). A file others can read is loaded with a
        warning (mounted secrets are often 0644; it should be 0600).
        """
        env_keys = os.environ.get("SIMPUL_MASTER_KEY")
        if env_keys and path is None:
            active, keys = _parse_env_keys(env_keys)
            return cls(active=active, keys=keys)
        path = path or default_keyring_path()
        if not path.exists():
            if not create:
                raise VaultError(f"no key ring at {path}: restore it, point SIMPUL_KEYRING or SIMPUL_MASTER_KEY at it, or create one with `simpul keys init`")
            return cls.create(path)
        try:
            data = json.loads(path.read_text())
            keys = {kid: _unb64(k) for kid, k in data["keys"].items()}
            ring = cls(active=data["active"], keys=keys, path=path, rotating=bool(data.get("rotating")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise VaultError(f"key ring at {path} is unreadable ({type(exc).__name__})") from None
        short = sorted(kid for kid, key in keys.items() if len(key) != 32)
        if short:
            raise VaultError(f"key ring at {path}: key {short[0]!r} is not 32 bytes; the file is damaged (restore it from your backup)")
        _warn_if_exposed(path)
        return ring

    @classmethod
    def create(cls, path: Path | None = None) -> "KeyRing":
        """A new ring with one key ``k1``, written owner-only; never over an existing file."""
        path = path or default_keyring_path()
        if path.exists():
            raise VaultError(f"a key ring exists at {path} already; it is never overwritten")
        ring = cls(active="k1", keys={"k1": AESGCM.generate_key(bit_length=256)}, path=path)
        ring.save(exclusive=True)
        return ring

    def save(self, *, exclusive: bool = False) -> None:
        """Write the ring atomically (temp file, fsync, rename), readable by its owner only.

        ``exclusive``: fail rather than replace an existing file (two set-ups racing).
        """
        if self.path is None:
            raise VaultError("the key ring comes from SIMPUL_MASTER_KEY: change that variable instead")
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"active": self.active, "rotating": self.rotating, "keys": {k: _b64(v) for k, v in self.keys.items()}}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if not exclusive:
            os.replace(tmp, self.path)
            return
        try:
            os.link(tmp, self.path)  # unlike rename, never replaces what is there
        except FileExistsError:
            raise VaultError(f"a key ring exists at {self.path} already; it is never overwritten") from None
        finally:
            os.unlink(tmp)

    def with_new_key(self) -> "KeyRing":
        """A ring with one more key, made active (``k<n+1>``), marked as rotating."""
        numbers = [int(k[1:]) for k in self.keys if re.fullmatch(r"k\d+", k)]
        kid = f"k{max(numbers, default=0) + 1}"
        return replace(self, active=kid, keys={**self.keys, kid: AESGCM.generate_key(bit_length=256)}, rotating=True)

    def without(self, kids: set[str]) -> "KeyRing":
        if self.active in kids:
            raise VaultError(f"cannot retire the active key {self.active!r}")
        return replace(self, keys={k: v for k, v in self.keys.items() if k not in kids})


class Vault:
    """Seal and open envelopes under a key ring. Stateless apart from the ring."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    # -- generic envelopes --------------------------------------------------------------
    def seal(self, context: str, plaintext: bytes) -> str:
        aad = context.encode()
        dek = AESGCM.generate_key(bit_length=256)
        nonce = std_secrets.token_bytes(12)
        ciphertext = AESGCM(dek).encrypt(nonce, plaintext, aad)
        kid = self.ring.active
        return json.dumps({"v": ENVELOPE_VERSION, "kid": kid, "wdek": self._wrap(kid, dek, aad), "n": _b64(nonce), "ct": _b64(ciphertext)})

    def open(self, context: str, envelope: str) -> bytes:
        data, kid = self._parse(context, envelope)
        aad = context.encode()
        dek = self._unwrap(context, kid, data, aad)
        try:
            return AESGCM(dek).decrypt(_unb64(data["n"]), _unb64(data["ct"]), aad)
        except (InvalidTag, ValueError, KeyError, binascii.Error):
            raise VaultError(f"{_what(context)} does not decrypt (wrong key, or not this row's)") from None

    def rewrap(self, context: str, envelope: str) -> str:
        """The same ciphertext with its data key wrapped by the active KEK (no plaintext)."""
        data, kid = self._parse(context, envelope)
        if kid == self.ring.active:
            return envelope
        aad = context.encode()
        dek = self._unwrap(context, kid, data, aad)
        return json.dumps({**data, "kid": self.ring.active, "wdek": self._wrap(self.ring.active, dek, aad)})

    @staticmethod
    def key_id_of(envelope: str) -> str:
        return json.loads(envelope)["kid"]

    # -- credentials --------------------------------------------------------------------
    @staticmethod
    def credential_context(account_id: str) -> str:
        return f"simpul:credential:{account_id}"

    def encrypt(self, account_id: str, values: Mapping[str, Any]) -> str:
        return self.seal(self.credential_context(account_id), json.dumps(dict(values)).encode())

    def decrypt(self, account_id: str, envelope: str) -> dict[str, Any]:
        return json.loads(self.open(self.credential_context(account_id), envelope))

    # -- internals ------------------------------------------------------------------------
    def _wrap(self, kid: str, dek: bytes, aad: bytes) -> str:
        nonce = std_secrets.token_bytes(12)
        return _b64(nonce + AESGCM(self.ring.keys[kid]).encrypt(nonce, dek, kid.encode() + b"|" + aad))

    def _parse(self, context: str, envelope: str) -> tuple[dict[str, Any], str]:
        try:
            data = json.loads(envelope)
            kid = data["kid"]
            if data.get("v") != ENVELOPE_VERSION:
                raise ValueError("version")
        except (ValueError, KeyError, TypeError):
            raise VaultError(f"{_what(context)} has a malformed envelope") from None
        return data, kid

    def _unwrap(self, context: str, kid: str, data: Mapping[str, Any], aad: bytes) -> bytes:
        key = self.ring.keys.get(kid)
        if key is None:
            raise VaultError(f"{_what(context)} needs key {kid!r}, which is not in the key ring ({self.ring.source})")
        try:
            wdek = _unb64(data["wdek"])
            return AESGCM(key).decrypt(wdek[:12], wdek[12:], kid.encode() + b"|" + aad)
        except (InvalidTag, ValueError, KeyError, binascii.Error):
            raise VaultError(f"{_what(context)} does not decrypt (wrong key {kid!r}, or not this row's)") from None


def _warn_if_exposed(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        log.warning("key ring %s can be read by other users (mode %04o): run `chmod 600 %s`", path, mode, path)


def _what(context: str) -> str:
    """'credential of account 'x'' from 'simpul:credential:x', for error messages."""
    parts = context.split(":")
    if len(parts) >= 3 and parts[1] == "credential":
        return f"credential of account {parts[2]!r}"
    if len(parts) >= 3 and parts[1] == "buyer":
        return f"buyer data of order {parts[-1]!r} (account {parts[2]!r})"
    return f"secret {':'.join(parts[1:])!r}"
