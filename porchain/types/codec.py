"""Field codecs for RLP items: each either returns a clean value or raises DecodeError.

pyrlp decodes bytes into nested lists of byte strings; these helpers turn those items into
typed values with the strictness consensus needs (canonical integers, exact lengths).
"""

from __future__ import annotations

from typing import Any

import rlp
from rlp.exceptions import DecodingError

from porchain.errors import DecodeError

RLPItem = bytes | list[Any]


def rlp_decode(data: bytes, what: str) -> RLPItem:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"{what} must be bytes")
    try:
        return rlp.decode(bytes(data), strict=True)
    except (DecodingError, ValueError, TypeError, IndexError, RecursionError) as exc:
        raise DecodeError(f"{what} is not valid RLP: {exc}") from None


def rlp_encode(item: RLPItem) -> bytes:
    """RLP of nested lists of byte strings (pyrlp's encoder infers sedes and is ~10x slower)."""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_prefix(len(item), 0x80) + item
    payload = b"".join([rlp_encode(child) for child in item])
    return _length_prefix(len(payload), 0xC0) + payload


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes((offset + length,))
    encoded_length = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(encoded_length),)) + encoded_length


def encode_uint(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def decode_uint(item: RLPItem, name: str, max_bytes: int = 32) -> int:
    if not isinstance(item, bytes):
        raise DecodeError(f"{name} must be an integer, got a list")
    if len(item) > max_bytes:
        raise DecodeError(f"{name} is too large ({len(item)} bytes, at most {max_bytes})")
    if item[:1] == b"\x00":
        raise DecodeError(f"{name} has leading zero bytes (non-canonical integer)")
    return int.from_bytes(item, "big")


def decode_fixed(item: RLPItem, size: int, name: str) -> bytes:
    if not isinstance(item, bytes) or len(item) != size:
        got = f"{len(item)} bytes" if isinstance(item, bytes) else "a list"
        raise DecodeError(f"{name} must be {size} bytes, got {got}")
    return item


def decode_bytes(item: RLPItem, name: str, max_size: int) -> bytes:
    if not isinstance(item, bytes):
        raise DecodeError(f"{name} must be a byte string, got a list")
    if len(item) > max_size:
        raise DecodeError(f"{name} is {len(item)} bytes, at most {max_size}")
    return item


def decode_list(item: RLPItem, length: int | None, name: str) -> list[Any]:
    if not isinstance(item, list):
        raise DecodeError(f"{name} must be a list, got a byte string")
    if length is not None and len(item) != length:
        raise DecodeError(f"{name} must have {length} fields, got {len(item)}")
    return item
