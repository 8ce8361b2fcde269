"""The lattice hash: a commitment to a set of entries that updates in O(changed entries)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porchain.state.lthash import VECTOR_BYTES, LtHash

ENTRIES = st.dictionaries(st.binary(min_size=1, max_size=12), st.binary(max_size=24), max_size=12)


def test_empty_is_zero_and_roundtrips() -> None:
    empty = LtHash()
    assert empty.to_bytes() == b"\x00" * VECTOR_BYTES
    assert LtHash.of([]) == empty
    assert LtHash.from_bytes(empty.to_bytes()).root() == empty.root()
    with pytest.raises(ValueError, match="lattice hash is"):
        LtHash.from_bytes(b"\x00" * 10)


@settings(max_examples=50, deadline=None)
@given(ENTRIES, st.data())
def test_order_independence(entries: dict[bytes, bytes], data: st.DataObject) -> None:
    items = list(entries.items())
    shuffled = data.draw(st.permutations(items))
    one_by_one = LtHash()
    for item in shuffled:
        one_by_one.update(added=[item], removed=[])
    assert LtHash.of(items) == LtHash.of(shuffled) == one_by_one
    assert LtHash.of(items).root() == one_by_one.root()


@settings(max_examples=50, deadline=None)
@given(ENTRIES)
def test_add_then_remove_returns_to_zero(entries: dict[bytes, bytes]) -> None:
    lthash = LtHash()
    lthash.update(added=entries.items(), removed=[])
    if entries:
        assert lthash != LtHash()
    lthash.update(added=[], removed=list(entries.items())[::-1])
    assert lthash == LtHash()
    assert lthash.root() == LtHash().root()


@settings(max_examples=50, deadline=None)
@given(ENTRIES, ENTRIES)
def test_incremental_equals_from_scratch(
    before: dict[bytes, bytes], writes: dict[bytes, bytes]
) -> None:
    """Apply `writes` (an empty value means delete) to a map, as a block commit does."""
    after = dict(before)
    added, removed = [], []
    for key, value in writes.items():
        if key in after:
            removed.append((key, after.pop(key)))
        if value:
            added.append((key, value))
            after[key] = value
    incremental = LtHash.of(before.items())
    incremental.update(added=added, removed=removed)
    assert incremental == LtHash.of(after.items())
    assert incremental.root() == LtHash.of(after.items()).root()


def test_copy_is_independent() -> None:
    original = LtHash.of([(b"k", b"v")])
    copy = original.copy()
    copy.update(added=[(b"k2", b"v2")], removed=[])
    assert original == LtHash.of([(b"k", b"v")])
    assert copy != original


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ([(b"k", b"v1")], [(b"k", b"v2")]),  # different value
        ([(b"k1", b"v")], [(b"k2", b"v")]),  # different key
        ([(b"ab", b"c")], [(b"a", b"bc")]),  # same concatenation, different split
        ([(b"k", b"v")], [(b"k", b"v"), (b"k", b"v")]),  # an entry counted twice
        ([(b"k", b"v")], []),
    ],
)
def test_different_contents_give_different_roots(first: list, second: list) -> None:
    assert LtHash.of(first).root() != LtHash.of(second).root()


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=8), st.binary(max_size=8), st.binary(max_size=8))
def test_different_values_give_different_roots(key: bytes, value: bytes, other: bytes) -> None:
    if value == other:
        assert LtHash.of([(key, value)]).root() == LtHash.of([(key, other)]).root()
    else:
        assert LtHash.of([(key, value)]).root() != LtHash.of([(key, other)]).root()
