"""Checking a v3 key file before anything is derived from it.

A key file is input, possibly hostile: its KDF parameters decide how long unlocking runs and how
much memory it takes. Every field is checked here against a bound, with an error naming the field
and the bound, so that what runs afterwards costs a known, small amount.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import PBKDF2, scrypt

from porchain.crypto.keys import parse_address
from porchain.errors import DecodeError, KeystoreError

KEYSTORE_VERSION = 3
CIPHER = "aes-128-ctr"
DKLEN = 32  # 16 bytes of AES-128 key, then 16 bytes of MAC key: any other length is malformed
IV_SIZE = 16
SECRET_SIZE = 32  # the ciphertext of a secp256k1 secret
MAC_SIZE = 32  # a keccak256 digest
PBKDF2_PRF = "hmac-sha256"
# A key file is input. Every parameter that sets how long the KDF runs or how much it allocates
# is bounded, and checked before the KDF runs, so a hostile file is refused at once instead of
# holding the CLI for hours. The bounds are what geth and eth-account write (scrypt n=2^18 r=8
# p=1, geth's light n=2^12 p=6, pbkdf2 c=10^6) with fourfold headroom.
MAX_KEY_FILE_SIZE = 64 * 1024  # a key file is about 500 bytes
SALT_SIZE_RANGE = (8, 64)
SCRYPT_N_RANGE = (2, 2**20)
SCRYPT_R_RANGE = (1, 16)
SCRYPT_P_RANGE = (1, 16)
MAX_SCRYPT_WORK = 2**23  # n * r * p: scrypt's time, and 128 * n * r bytes (at most 1 GiB)
PBKDF2_C_RANGE = (1, 4_000_000)


@dataclass(frozen=True)
class SealedKey:
    """A key file's fields, every one checked: running `derive` costs a bounded amount."""

    iv: bytes
    ciphertext: bytes
    mac: bytes
    derive: Callable[[bytes], bytes]
    address: bytes | None


def check_key_file(keystore: Mapping[str, Any]) -> SealedKey:
    """Every field of a v3 key file, checked against its bound; KeystoreError naming the first
    field that is missing, malformed or out of bounds. Needs no password and runs no KDF."""
    crypto = _crypto_section(keystore)
    version = keystore.get("version")
    if version != KEYSTORE_VERSION:
        raise KeystoreError(f"unsupported key file version {_show(version)} (only 3 is supported)")
    cipher = _field(crypto, "cipher", str, "crypto")
    if cipher != CIPHER:
        raise KeystoreError(f"unsupported cipher {_show(cipher)} (only {CIPHER} is supported)")
    cipherparams = _field(crypto, "cipherparams", dict, "crypto")
    return SealedKey(
        iv=_hex_field(cipherparams, "iv", "crypto.cipherparams", size=IV_SIZE),
        ciphertext=_hex_field(crypto, "ciphertext", "crypto", size=SECRET_SIZE),
        mac=_hex_field(crypto, "mac", "crypto", size=MAC_SIZE),
        derive=_bounded_kdf(crypto),
        address=parse_address_field(keystore) if "address" in keystore else None,
    )


def _bounded_kdf(crypto: Mapping[str, Any]) -> Callable[[bytes], bytes]:
    """The key derivation a key file asks for, its parameters checked against their bounds."""
    kdf = _field(crypto, "kdf", str, "crypto")
    if kdf not in ("scrypt", "pbkdf2"):
        raise KeystoreError(f"unsupported kdf {_show(kdf)} (supported: scrypt, pbkdf2)")
    params = _field(crypto, "kdfparams", dict, "crypto")
    where = "crypto.kdfparams"
    salt = _hex_field(params, "salt", where)
    _check_range(f"{where}.salt", len(salt), SALT_SIZE_RANGE, unit=" bytes")
    _int_field(params, "dklen", where, (DKLEN, DKLEN))
    if kdf == "scrypt":
        n = _int_field(params, "n", where, SCRYPT_N_RANGE)
        if n & (n - 1):
            raise KeystoreError(f"malformed key file: {where}.n must be a power of two, got {n}")
        r = _int_field(params, "r", where, SCRYPT_R_RANGE)
        p = _int_field(params, "p", where, SCRYPT_P_RANGE)
        if n * r * p > MAX_SCRYPT_WORK:
            raise KeystoreError(
                f"key file scrypt work n*r*p = {n}*{r}*{p} = {n * r * p} is over the bound "
                f"{MAX_SCRYPT_WORK} (geth's standard key: 262144*8*1 = 2097152)"
            )
        return functools.partial(scrypt, salt=salt, key_len=DKLEN, N=n, r=r, p=p)
    prf = _field(params, "prf", str, where)
    if prf != PBKDF2_PRF:
        raise KeystoreError(f"unsupported pbkdf2 prf {_show(prf)} (only {PBKDF2_PRF} is supported)")
    count = _int_field(params, "c", where, PBKDF2_C_RANGE)
    return functools.partial(PBKDF2, salt=salt, dkLen=DKLEN, count=count, hmac_hash_module=SHA256)


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


def _int_field(section: Mapping[str, Any], name: str, where: str, bounds: tuple[int, int]) -> int:
    value = _field(section, name, int, where)
    _check_range(f"{where}.{name}", value, bounds)
    return value


def _check_range(what: str, value: int, bounds: tuple[int, int], *, unit: str = "") -> None:
    low, high = bounds
    if low <= value <= high:
        return
    allowed = f"{low}{unit}" if low == high else f"from {low} to {high}{unit}"
    raise KeystoreError(
        f"key file {what} is {_show(value)}{unit}, out of bounds: it must be {allowed}"
    )


def _hex_field(section: Mapping[str, Any], name: str, where: str, *, size: int = 0) -> bytes:
    text = _field(section, name, str, where)
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise KeystoreError(f"malformed key file: {where}.{name} is not hex") from exc
    if size and len(value) != size:
        raise KeystoreError(
            f"malformed key file: {where}.{name} must be {size} bytes, got {len(value)}"
        )
    return value


def _show(value: object) -> str:
    """A value from a key file, short enough for an error message."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit number"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_address_field(keystore: Mapping[str, Any]) -> bytes:
    value = keystore["address"]
    if not isinstance(value, str):
        raise KeystoreError("malformed key file: address is not a string")
    try:
        return parse_address(value)
    except DecodeError as exc:
        raise KeystoreError(f"malformed key file: {exc}") from exc
