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
import stat
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Crypto.Cipher import AES
from Crypto.Protocol.KDF import scrypt

from porchain.crypto.hashing import keccak
from porchain.crypto.keyfile import (
    CIPHER,
    DKLEN,
    IV_SIZE,
    KEYSTORE_VERSION,
    MAX_KEY_FILE_SIZE,
    check_key_file,
    parse_address_field,
)
from porchain.crypto.keys import PrivateKey, parse_address, to_checksum_address
from porchain.errors import DecodeError, KeystoreError

SALT_SIZE = 32  # geth's choice; eth-account uses 16, and both read either
DEFAULT_SCRYPT_N = 2**18  # geth's "standard" cost: about a second and 256 MiB
SCRYPT_R = 8
SCRYPT_P = 1
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


@dataclass(frozen=True)
class SkippedFile:
    """A file in a Keystore directory that is not a usable key file, and why."""

    name: str
    path: Path
    reason: str


@dataclass(frozen=True)
class KeystoreScan:
    entries: list[KeyEntry]
    skipped: list[SkippedFile]


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
    sealed = check_key_file(keystore)
    try:
        derived_key = sealed.derive(password.encode())
    except ValueError as exc:  # pycryptodome rejecting a parameter combination
        raise KeystoreError(f"malformed key file: bad kdf parameters: {exc}") from exc
    if not hmac.compare_digest(keccak(derived_key[16:32] + sealed.ciphertext), sealed.mac):
        raise KeystoreError("wrong password (MAC mismatch)")
    try:
        key = PrivateKey(_aes_ctr(derived_key[:16], sealed.iv, sealed.ciphertext))
    except ValueError as exc:
        raise KeystoreError(f"malformed key file: the decrypted secret is invalid: {exc}") from exc
    if sealed.address is not None and sealed.address != key.address:
        raise KeystoreError(
            f"key file says address {to_checksum_address(sealed.address)} but its key is for "
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
    """The parsed and checked contents of a v3 key file (not decrypted)."""
    path = Path(path)
    try:
        return _load_key_file(path)
    except FileNotFoundError as exc:
        raise KeystoreError(f"no key file at {path}") from exc
    except KeystoreError as exc:
        raise KeystoreError(f"{path}: {exc}") from exc


class Keystore:
    """A directory of key files: ours are `<name>.json`; any other file holding a v3 key (geth's
    `UTC--<time>--<address>`, a name with spaces) is a key too, named by its file name."""

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
        scan = self.scan()
        if path.exists() or any(e.name == name for e in [*scan.entries, *scan.skipped]):
            raise KeystoreError(f"a key named {name!r} already exists in {self.directory}")
        for entry in scan.entries:
            if entry.address == key.address:
                raise KeystoreError(
                    f"the key for {to_checksum_address(key.address)} is already in "
                    f"{self.directory} as {entry.name!r}"
                )
        self._make_directory()
        write_key_file(path, encrypt_key(key, password, scrypt_n=scrypt_n))
        return KeyEntry(name=name, address=key.address, path=path)

    def scan(self) -> KeystoreScan:
        """Every key file, and every other file with the reason it is not one, sorted by name.
        Hidden files (our temporary files among them), `~` backups and directories are ignored,
        as geth does."""
        entries: list[KeyEntry] = []
        skipped: list[SkippedFile] = []
        if not self.directory.is_dir():
            return KeystoreScan(entries, skipped)
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith(".") or path.name.endswith("~") or path.is_dir():
                continue
            try:
                entries.append(_entry(path))
            except FileNotFoundError:  # a link to nothing, or a file removed meanwhile
                skipped.append(
                    SkippedFile(_key_name(path), path, "cannot read key file: no such file")
                )
            except KeystoreError as exc:
                skipped.append(SkippedFile(_key_name(path), path, str(exc)))
        return KeystoreScan(entries, skipped)

    def list(self) -> list[KeyEntry]:
        """Every usable key file, sorted by name; the others are logged and skipped."""
        scan = self.scan()
        for skip in scan.skipped:
            log.warning("skipping %s: %s", skip.path, skip.reason)
        return scan.entries

    def find(self, name_or_address: str) -> KeyEntry:
        """The key with this name, or with this 0x-hex address (any case, checksum verified)."""
        scan = self.scan()
        by_name = [e for e in scan.entries if e.name == name_or_address]
        if not by_name:
            for skip in scan.skipped:
                if skip.name == name_or_address:
                    raise KeystoreError(f"key file {skip.path} is skipped: {skip.reason}")
            try:
                address = parse_address(name_or_address)
            except DecodeError as exc:
                if name_or_address[:2] in ("0x", "0X"):
                    raise KeystoreError(str(exc)) from exc
            else:
                by_name = [e for e in scan.entries if e.address == address]
        if len(by_name) == 1:
            return by_name[0]
        if by_name:
            files = ", ".join(str(e.path) for e in by_name)
            raise KeystoreError(f"{name_or_address} matches several key files ({files}): keep one")
        hint = (
            f" ({len(scan.skipped)} files skipped: see porchain keys list)" if scan.skipped else ""
        )
        raise KeystoreError(
            f"no key named or with address {name_or_address} in {self.directory}{hint}"
        )

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


def _key_name(path: Path) -> str:
    return path.name.removesuffix(".json")


def _entry(path: Path) -> KeyEntry:
    keystore = _load_key_file(path)
    if "address" not in keystore:
        raise KeystoreError("no address field (porchain needs it to list the key)")
    return KeyEntry(name=_key_name(path), address=parse_address_field(keystore), path=path)


def _load_key_file(path: Path) -> dict:
    """Read, parse and check a key file, refusing huge and irregular files before reading.
    KeystoreError messages do not name the file; FileNotFoundError passes through."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeystoreError(f"cannot read key file: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeystoreError("cannot read key file: not a regular file")
        if info.st_size > MAX_KEY_FILE_SIZE:
            raise KeystoreError(
                f"too big for a key file: {info.st_size} bytes (the limit is {MAX_KEY_FILE_SIZE})"
            )
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(MAX_KEY_FILE_SIZE + 1)  # the file may have grown since fstat
    except OSError as exc:
        raise KeystoreError(f"cannot read key file: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) > MAX_KEY_FILE_SIZE:
        raise KeystoreError(f"too big for a key file (the limit is {MAX_KEY_FILE_SIZE} bytes)")
    try:
        keystore = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise KeystoreError(f"cannot read key file: not UTF-8 text ({exc.reason})") from exc
    except (ValueError, RecursionError) as exc:
        raise KeystoreError(f"not valid JSON: {exc}") from exc
    if not isinstance(keystore, dict) or keystore.get("version") != KEYSTORE_VERSION:
        raise KeystoreError("not a version 3 key file")
    check_key_file(keystore)
    return keystore


def _aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    # The whole 16-byte iv is the initial counter block, incremented as one big-endian integer.
    return AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=iv).encrypt(data)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
