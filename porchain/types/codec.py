"""RLP: a strict codec for nested lists of byte strings, and typed field decoders.

pyrlp infers sedes for every item and is several times slower than this small codec on the hot
path of block import; `tests/test_codec.py` checks the two agree on every input. Decoding is
strict as consensus needs: canonical lengths only, no trailing bytes, bounded nesting. The field
helpers turn decoded items into typed values (canonical integers, exact lengths) or raise
DecodeError.
"""

from __future__ import annotations

from typing import Any

from porchain.errors import DecodeError

RLPItem = bytes | list[Any]

MAX_DEPTH = 16


def rlp_encode(item: RLPItem) -> bytes:
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


def list_payload_start(encoded: bytes) -> int:
    """Offset of the first item inside an RLP list encoding."""
    first = encoded[0]
    return 1 if first < 0xF8 else 1 + first - 0xF7


def encode_list_payload(payload: bytes) -> bytes:
    """An RLP list around already-encoded items."""
    return _length_prefix(len(payload), 0xC0) + payload


def rlp_decode(data: bytes, what: str) -> RLPItem:
    """Decode one RLP item that spans all of `data`; raise DecodeError on anything else."""
    if not isinstance(data, bytes):
        raise DecodeError(f"{what} must be bytes")
    try:
        item, end = _decode(data, 0, len(data), 0)
    except _Malformed as exc:
        raise DecodeError(f"{what} is not valid RLP: {exc}") from None
    if end != len(data):
        raise DecodeError(f"{what} is not valid RLP: {len(data) - end} trailing bytes")
    return item


class _Malformed(Exception):
    pass


def _decode(data: bytes, pos: int, end: int, depth: int) -> tuple[RLPItem, int]:
    if pos >= end:
        raise _Malformed("truncated")
    first = data[pos]
    if first < 0x80:
        return data[pos : pos + 1], pos + 1
    if first < 0xC0:
        start, length = _read_length(data, pos, end, first - 0x80, 0xB7)
        if length == 1 and data[start] < 0x80:
            raise _Malformed("single byte below 0x80 must encode as itself")
        return data[start : start + length], start + length
    if depth >= MAX_DEPTH:
        raise _Malformed(f"nested deeper than {MAX_DEPTH} lists")
    start, length = _read_length(data, pos, end, first - 0xC0, 0xF7)
    items = []
    cursor, stop = start, start + length
    while cursor < stop:
        item, cursor = _decode(data, cursor, stop, depth + 1)
        items.append(item)
    return items, stop


def _read_length(data: bytes, pos: int, end: int, short: int, long_base: int) -> tuple[int, int]:
    """(start of payload, payload length) of the item whose prefix byte is at `pos`."""
    if short < 56:
        start, length = pos + 1, short
    else:
        size = data[pos] - long_base
        start = pos + 1 + size
        if start > end:
            raise _Malformed("truncated length")
        if data[pos + 1] == 0:
            raise _Malformed("length has leading zeros")
        length = int.from_bytes(data[pos + 1 : start], "big")
        if length < 56:
            raise _Malformed("long form used for a short length")
    if start + length > end:
        raise _Malformed("truncated payload")
    return start, length


def encode_uint(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def encode_uint_list(values: tuple[int, ...]) -> bytes:
    """`rlp_encode([encode_uint(v) for v in values])` in one pass (account records)."""
    parts = []
    for value in values:
        if 0 < value < 0x80:
            parts.append(_SINGLE_BYTES[value])
        elif value == 0:
            parts.append(b"\x80")
        else:
            data = encode_uint(value)
            parts.append(_length_prefix(len(data), 0x80) + data)
    payload = b"".join(parts)
    return _length_prefix(len(payload), 0xC0) + payload


_SINGLE_BYTES = [bytes((i,)) for i in range(0x80)]


def decode_uint_list(data: bytes, count: int) -> list[int] | None:
    """The integers of an RLP list of `count` canonical integers of up to 55 bytes each, in
    one pass; None for anything else (the general decoder then decodes it or says why not).

    Accepts a subset of what `rlp_decode` and `decode_uint` accept, with the same result, so a
    caller that falls back to them on None decodes exactly as before (tests/test_codec.py)."""
    size = len(data)
    if not size:
        return None
    first = data[0]
    if 0xC0 <= first <= 0xF7:
        pos, length = 1, first - 0xC0
    elif first == 0xF8 and size > 1 and data[1] >= 56:
        pos, length = 2, data[1]
    else:
        return None
    if pos + length != size:
        return None
    out: list[int] = []
    while pos < size:
        prefix = data[pos]
        if prefix < 0x80:  # a one-byte integer is itself; zero is the empty string
            if not prefix:
                return None
            out.append(prefix)
            pos += 1
        elif prefix <= 0xB7:
            end = pos + 1 + prefix - 0x80
            if end > size:
                return None
            if prefix == 0x80:
                out.append(0)
            elif data[pos + 1] == 0 or (prefix == 0x81 and data[pos + 1] < 0x80):
                return None  # a leading zero, or a byte that should have encoded as itself
            else:
                out.append(int.from_bytes(data[pos + 1 : end], "big"))
            pos = end
        else:
            return None
    return out if len(out) == count else None


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
