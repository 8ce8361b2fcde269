"""The RLP codec agrees with pyrlp, the reference implementation, on every input."""

from __future__ import annotations

import pytest
import rlp
from hypothesis import given
from hypothesis import strategies as st
from rlp.exceptions import DecodingError

from porchain.errors import DecodeError
from porchain.types.codec import (
    MAX_DEPTH,
    decode_uint,
    decode_uint_list,
    encode_uint,
    encode_uint_list,
    rlp_decode,
    rlp_encode,
)

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


# -- the one-pass integer lists (account records) -----------------------------------------


def general_uint_list(data: bytes, count: int) -> list[int] | None:
    """What the general decoder makes of `data` as `count` integers, None if it refuses."""
    try:
        items = rlp_decode(data, "item")
        if not isinstance(items, list) or len(items) != count:
            return None
        return [decode_uint(item, "field", 64) for item in items]
    except DecodeError:
        return None


uint_lists = st.lists(st.integers(min_value=0, max_value=2**512 - 1), max_size=14)


@given(uint_lists)
def test_uint_list_encoding_matches_the_general_encoder(values: list[int]) -> None:
    assert encode_uint_list(tuple(values)) == rlp_encode([encode_uint(v) for v in values])


@given(uint_lists, st.integers(min_value=0, max_value=14))
def test_uint_list_decoding_agrees_on_encodings(values: list[int], count: int) -> None:
    encoded = encode_uint_list(tuple(values))
    fast = decode_uint_list(encoded, count)
    assert fast is None or fast == general_uint_list(encoded, count)
    if count == len(values) and all(v < 2**440 for v in values):  # short-form integers
        assert fast == values


@given(st.binary(max_size=120), st.integers(min_value=0, max_value=12))
def test_uint_list_decoding_never_accepts_what_the_general_decoder_refuses(
    data: bytes, count: int
) -> None:
    fast = decode_uint_list(data, count)
    assert fast is None or fast == general_uint_list(data, count)


@pytest.mark.parametrize(
    "data",
    [
        bytes([0xC1, 0x00]),  # zero as a 0x00 byte
        bytes([0xC2, 0x81, 0x05]),  # a byte below 0x80 with a length prefix
        bytes([0xC3, 0x82, 0x00, 0x01]),  # a leading zero
        bytes([0xC2, 0x80]),  # the list is longer than its bytes
        bytes([0xC1, 0x80, 0x80]),  # trailing bytes
        bytes([0xF8, 0x02, 0x80, 0x80]),  # a long list form for a short list
        bytes([0xC1, 0xC0]),  # a nested list
    ],
)
def test_uint_list_decoding_leaves_malformed_input_to_the_general_decoder(data: bytes) -> None:
    assert decode_uint_list(data, 1) is None
    assert general_uint_list(data, 1) is None
