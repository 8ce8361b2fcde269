"""The RLP codec agrees with pyrlp, the reference implementation, on every input."""

from __future__ import annotations

import pytest
import rlp
from hypothesis import given
from hypothesis import strategies as st
from rlp.exceptions import DecodingError

from porchain.errors import DecodeError
from porchain.types.codec import MAX_DEPTH, decode_uint, encode_uint, rlp_decode, rlp_encode

items = st.recursive(
    st.binary(max_size=80), lambda children: st.lists(children, max_size=6), max_leaves=30
)


def nested(levels: int) -> list:
    item: list = []
    for _ in range(levels - 1):
        item = [item]
    return item


def depth(item: object) -> int:
    return 1 + max(map(depth, item), default=0) if isinstance(item, list) else 0


@given(items)
def test_encoding_matches_pyrlp_and_round_trips(item: object) -> None:
    encoded = rlp_encode(item)
    assert encoded == rlp.encode(item)
    assert rlp_decode(encoded, "item") == item


@given(st.binary(max_size=200))
def test_decoding_arbitrary_bytes_matches_pyrlp(data: bytes) -> None:
    try:
        expected = rlp.decode(data, strict=True)
    except DecodingError:
        with pytest.raises(DecodeError):
            rlp_decode(data, "data")
        return
    if depth(expected) > MAX_DEPTH:
        with pytest.raises(DecodeError, match="nested deeper"):
            rlp_decode(data, "data")
        return
    assert rlp_decode(data, "data") == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated"),
        (b"\x81\x05", "single byte below 0x80"),
        (b"\xb8\x05hello", "long form used for a short length"),
        (b"\xb9\x00\x38" + b"x" * 56, "leading zeros"),
        (b"\x83ab", "truncated payload"),
        (b"\xc2\x01", "truncated"),
        (b"\x01\x02", "1 trailing bytes"),
        (rlp.encode(nested(MAX_DEPTH + 1)), "nested deeper"),
    ],
)
def test_malformed_encodings_name_their_defect(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        rlp_decode(data, "data")


@given(st.integers(min_value=0, max_value=2**256 - 1))
def test_integers_round_trip_canonically(value: int) -> None:
    assert decode_uint(encode_uint(value), "value") == value
    assert encode_uint(value) == rlp.sedes.big_endian_int.serialize(value)
