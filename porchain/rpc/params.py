"""Parsing of RPC parameters; every failure is InvalidParams with what was expected.

A value quoted back in a message is shortened (`reprlib`), however large or deep it was.
"""

from __future__ import annotations

import reprlib
from typing import Any

from porchain.crypto.keys import parse_address
from porchain.errors import DecodeError
from porchain.rpc.errors import InvalidParams

MAX_LIST = 500  # items one list call returns at most (its `limit`)
MAX_SCAN = 10_000  # pool ids a list call examines at most, from its cursor down
MAX_ID = 2**63


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


def hex_bytes(value: Any, name: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise InvalidParams(f"{name} must be a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise InvalidParams(f"{name} is not valid hex") from None
    if size is not None and len(raw) != size:
        raise InvalidParams(f"{name} must be {size} bytes, got {len(raw)}")
    return raw


def address(value: Any, name: str = "address") -> bytes:
    if not isinstance(value, str):
        raise InvalidParams(f"{name} must be a 0x-prefixed address string")
    try:
        return parse_address(value)
    except DecodeError as exc:
        raise InvalidParams(str(exc)) from None


def block_number(
    value: Any, tags: dict[str, int], *, expected: str = "a non-negative number"
) -> int:
    """A height: a non-negative number or one of the named tags ("latest", "earliest", ...)."""
    if isinstance(value, str) and value in tags:
        return tags[value]
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    names = ", ".join(f'"{t}"' for t in tags)
    raise InvalidParams(f"block must be {expected} or one of {names}, got {reprlib.repr(value)}")


def block_ref(value: Any, tags: dict[str, int]) -> int | bytes:
    """A block by height (a number or a tag, as `block_number`) or by 32-byte 0x hash."""
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        return hex_bytes(value, "block hash", 32)
    return block_number(value, tags, expected="a non-negative number, a 0x block hash")


def boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(f"{name} must be true or false")
    return value


def integer(value: Any, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidParams(
            f"{name} must be an integer in [{low}, {high}], got {reprlib.repr(value)}"
        )
    return value


def limit(value: Any) -> int:
    return integer(value, "limit", 1, MAX_LIST)


def scan_range(before: Any, next_id: int) -> range:
    """The pool ids a list call examines, newest first: below `before` (a pool id from the
    previous page; None: from the newest), at most MAX_SCAN of them."""
    top = next_id if before is None else min(integer(before, "before", 1, MAX_ID) - 1, next_id)
    return range(top, max(0, top - MAX_SCAN), -1)
