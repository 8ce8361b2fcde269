"""Encrypted key files in the Ethereum keystore v3 format.

We read and write the exact format geth and eth-account use, so a porchain key can be moved to
or checked with any Ethereum tool, and an existing Ethereum key file can sign for porchain.
Only pycryptodome is used: scrypt or PBKDF2-HMAC-SHA256 stretches the password, AES-128-CTR
encrypts the secret, and keccak256(derived_key[16:32] + ciphertext) is the MAC that tells a
wrong password from a right one. Files are written atomically with mode 0600, and never
overwritten, so a crash or a typo cannot destroy a key.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import PBKDF2, scrypt

from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey, parse_address, to_checksum_address
from porchain.errors import DecodeError, KeystoreError

KEYSTORE_VERSION = 3
CIPHER = "aes-128-ctr"
DKLEN = 32
IV_SIZE = 16
SALT_SIZE = 32  # geth's choice; eth-account uses 16, and both read either
DEFAULT_SCRYPT_N = 2**18  # geth's "standard" cost: about a second and 256 MiB
SCRYPT_R = 8
SCRYPT_P = 1
PBKDF2_PRF = "hmac-sha256"
# A key file is input: refuse parameters that would exhaust memory or run for hours.
MAX_SCRYPT_COST = 2**31  # bytes of work memory, 128 * n * r * p
MAX_PBKDF2_ITERATIONS = 10_000_000
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyEntry:
    """A key file in a Keystore directory; the address is read without the password."""

    name: str
    address: bytes
    path: Path


def encrypt_key(key: PrivateKey, password: str, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> dict:
    """The v3 key file contents for `key`, encrypted under `password` with scrypt."""
    if scrypt_n < 2 or scrypt_n & (scrypt_n - 1):
        raise KeystoreError(f"scrypt n must be a power of two above 1, got {scrypt_n}")
    salt = secrets.token_bytes(SALT_SIZE)
    iv = secrets.token_bytes(IV_SIZE)
    derived_key = scrypt(password.encode(), salt, DKLEN, N=scrypt_n, r=SCRYPT_R, p=SCRYPT_P)
    ciphertext = _aes_ctr(derived_key[:16], iv, key.secret)
    return {
        "address": key.address.hex(),
        "crypto": {
            "cipher": CIPHER,
            "cipherparams": {"iv": iv.hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": "scrypt",
            "kdfparams": {
                "dklen": DKLEN,
                "n": scrypt_n,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": salt.hex(),
            },
            "mac": keccak(derived_key[16:32] + ciphertext).hex(),
        },
        "id": str(uuid.uuid4()),
        "version": KEYSTORE_VERSION,
    }


def decrypt_key(keystore: Mapping[str, Any], password: str) -> PrivateKey:
    """The key in a v3 key file; KeystoreError for a wrong password or a malformed file."""
    crypto = _crypto_section(keystore)
    version = keystore.get("version")
    if version != KEYSTORE_VERSION:
        raise KeystoreError(f"unsupported key file version {version!r} (only 3 is supported)")
    cipher = _field(crypto, "cipher", str, "crypto")
    if cipher != CIPHER:
        raise KeystoreError(f"unsupported cipher {cipher!r} (only {CIPHER} is supported)")
    iv = _hex_field(_field(crypto, "cipherparams", dict, "crypto"), "iv", "crypto.cipherparams")
    if len(iv) != IV_SIZE:
        raise KeystoreError(f"malformed key file: crypto.cipherparams.iv must be {IV_SIZE} bytes")
    ciphertext = _hex_field(crypto, "ciphertext", "crypto")
    mac = _hex_field(crypto, "mac", "crypto")

    derived_key = _derive_key(crypto, password)
    if not hmac.compare_digest(keccak(derived_key[16:32] + ciphertext), mac):
        raise KeystoreError("wrong password (MAC mismatch)")
    try:
        key = PrivateKey(_aes_ctr(derived_key[:16], iv, ciphertext))
    except ValueError as exc:
        raise KeystoreError(f"malformed key file: the decrypted secret is invalid: {exc}") from exc

    if "address" in keystore:
        address = _parse_address_field(keystore)
        if address != key.address:
            raise KeystoreError(
                f"key file says address {to_checksum_address(address)} but its key is for "
                f"{to_checksum_address(key.address)}; the file was edited or is corrupt"
            )
    return key


def write_key_file(path: Path, keystore: Mapping[str, Any]) -> None:
    """Write `keystore` to a new file at `path`, atomically, durably and readable by owner only."""
    path = Path(path)
    if path.exists():
        raise KeystoreError(f"refusing to overwrite existing key file {path}")
    data = json.dumps(keystore).encode()
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)  # the umask may have cleared bits we want
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        _fsync_directory(path.parent)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise KeystoreError(f"cannot write key file {path}: {exc.strerror or exc}") from exc


def read_key_file(path: Path) -> dict:
    """The parsed contents of a v3 key file (not decrypted)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise KeystoreError(f"no key file at {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise KeystoreError(f"cannot read key file {path}: {exc}") from exc
    try:
        keystore = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise KeystoreError(f"key file {path} is not valid JSON: {exc}") from exc
    if not isinstance(keystore, dict) or keystore.get("version") != KEYSTORE_VERSION:
        raise KeystoreError(f"{path} is not a version 3 key file")
    _crypto_section(keystore)
    return keystore


class Keystore:
    """A directory of key files, one `<name>.json` per key."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def create(
        self,
        password: str,
        *,
        name: str | None = None,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        key: PrivateKey | None = None,
    ) -> KeyEntry:
        """Encrypt `key` (a new random one by default) into a new file; returns its entry."""
        key = key if key is not None else PrivateKey.generate()
        name = name if name is not None else f"key-{key.address.hex()[:8]}"
        if not NAME_PATTERN.fullmatch(name):
            raise KeystoreError(
                f"invalid key name {name!r}: use 1 to 64 of the characters A-Z a-z 0-9 _ . -"
            )
        path = self.directory / f"{name}.json"
        if path.exists():
            raise KeystoreError(f"a key named {name!r} already exists in {self.directory}")
        for entry in self.list():
            if entry.address == key.address:
                raise KeystoreError(
                    f"the key for {to_checksum_address(key.address)} is already in "
                    f"{self.directory} as {entry.name!r}"
                )
        self._make_directory()
        write_key_file(path, encrypt_key(key, password, scrypt_n=scrypt_n))
        return KeyEntry(name=name, address=key.address, path=path)

    def list(self) -> list[KeyEntry]:
        """Every readable key file, sorted by name; unreadable ones are logged and skipped."""
        if not self.directory.is_dir():
            return []
        entries = []
        for path in self.directory.glob("*.json"):
            try:
                entries.append(_entry(path))
            except KeystoreError as exc:
                log.warning("skipping %s: %s", path, exc)
        return sorted(entries, key=lambda entry: entry.name)

    def find(self, name_or_address: str) -> KeyEntry:
        """The key with this name, or with this 0x-hex address (any case, checksum verified)."""
        if NAME_PATTERN.fullmatch(name_or_address):
            path = self.directory / f"{name_or_address}.json"
            if path.is_file():
                return _entry(path)
        try:
            address = parse_address(name_or_address)
        except DecodeError as exc:
            if name_or_address[:2] in ("0x", "0X"):
                raise KeystoreError(str(exc)) from exc
        else:
            for entry in self.list():
                if entry.address == address:
                    return entry
        raise KeystoreError(f"no key named or with address {name_or_address} in {self.directory}")

    def unlock(self, name_or_address: str, password: str) -> PrivateKey:
        """Find and decrypt a key; KeystoreError if absent or the password is wrong."""
        return decrypt_key(read_key_file(self.find(name_or_address).path), password)

    def _make_directory(self) -> None:
        if self.directory.is_dir():
            return
        try:
            self.directory.mkdir(mode=DIRECTORY_MODE, parents=True)
            os.chmod(self.directory, DIRECTORY_MODE)  # mkdir's mode is masked by the umask
        except OSError as exc:
            raise KeystoreError(
                f"cannot create keystore directory {self.directory}: {exc}"
            ) from exc


def _entry(path: Path) -> KeyEntry:
    keystore = read_key_file(path)
    if "address" not in keystore:
        raise KeystoreError(f"key file {path} has no address field")
    return KeyEntry(name=path.stem, address=_parse_address_field(keystore), path=path)


def _aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    # The whole 16-byte iv is the initial counter block, incremented as one big-endian integer.
    return AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=iv).encrypt(data)


def _derive_key(crypto: Mapping[str, Any], password: str) -> bytes:
    kdf = _field(crypto, "kdf", str, "crypto")
    if kdf not in ("scrypt", "pbkdf2"):
        raise KeystoreError(f"unsupported kdf {kdf!r} (supported: scrypt, pbkdf2)")
    params = _field(crypto, "kdfparams", dict, "crypto")
    where = "crypto.kdfparams"
    salt = _hex_field(params, "salt", where)
    dklen = _int_field(params, "dklen", where)
    if dklen < DKLEN:
        raise KeystoreError(f"malformed key file: {where}.dklen must be at least {DKLEN}")
    try:
        if kdf == "scrypt":
            n, r, p = (_int_field(params, name, where) for name in ("n", "r", "p"))
            if n < 2 or n & (n - 1):
                raise KeystoreError(f"malformed key file: {where}.n must be a power of two above 1")
            if 128 * n * r * p > MAX_SCRYPT_COST:
                raise KeystoreError(f"key file scrypt cost n={n} r={r} p={p} is unreasonably high")
            return scrypt(password.encode(), salt, dklen, N=n, r=r, p=p)
        else:
            prf = _field(params, "prf", str, where)
            if prf != PBKDF2_PRF:
                raise KeystoreError(
                    f"unsupported pbkdf2 prf {prf!r} (only {PBKDF2_PRF} is supported)"
                )
            count = _int_field(params, "c", where)
            if count > MAX_PBKDF2_ITERATIONS:
                raise KeystoreError(f"key file pbkdf2 iteration count {count} is unreasonably high")
            return PBKDF2(password.encode(), salt, dklen, count, hmac_hash_module=SHA256)
    except ValueError as exc:  # pycryptodome rejecting a parameter combination
        raise KeystoreError(f"malformed key file: bad {kdf} parameters: {exc}") from exc


def _crypto_section(keystore: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(keystore, Mapping):
        raise KeystoreError("malformed key file: not a JSON object")
    crypto = keystore.get("crypto", keystore.get("Crypto"))
    if crypto is None:
        raise KeystoreError("malformed key file: missing crypto")
    if not isinstance(crypto, dict):
        raise KeystoreError("malformed key file: crypto is not an object")
    return crypto


def _field(section: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    if name not in section:
        raise KeystoreError(f"malformed key file: missing {where}.{name}")
    value = section[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise KeystoreError(f"malformed key file: {where}.{name} is not a {kind.__name__}")
    return value


def _int_field(section: Mapping[str, Any], name: str, where: str) -> int:
    value = _field(section, name, int, where)
    if value < 1:
        raise KeystoreError(f"malformed key file: {where}.{name} must be positive")
    return value


def _hex_field(section: Mapping[str, Any], name: str, where: str) -> bytes:
    text = _field(section, name, str, where)
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise KeystoreError(f"malformed key file: {where}.{name} is not hex") from exc


def _parse_address_field(keystore: Mapping[str, Any]) -> bytes:
    value = keystore["address"]
    if not isinstance(value, str):
        raise KeystoreError("malformed key file: address is not a string")
    try:
        return parse_address(value)
    except DecodeError as exc:
        raise KeystoreError(f"malformed key file: {exc}") from exc


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
