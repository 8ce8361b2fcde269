"""Wire types: round trips, cached hashes, signatures, tx_root, and decoding hostile bytes."""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from porchain import caches
from porchain.crypto.hashing import ZERO_HASH, keccak
from porchain.crypto.keys import SECP256K1_N, recover_address, recover_address_uncached
from porchain.errors import DecodeError, InvalidBlock, InvalidSignature, InvalidTransaction
from porchain.types.blocks import Block, Header, compute_tx_root
from porchain.types.codec import encode_uint
from porchain.types.transactions import CACHED_TX_BYTES, Transaction, TxKind
from tests.factories import CHAIN_ID, KEYS, PRODUCER, transfer

ALICE, BOB, CAROL = KEYS[1], KEYS[2], KEYS[3]


def sample_txs(count: int = 3) -> list[Transaction]:
    return [transfer(ALICE, BOB.address, 1000 + i, nonce=i) for i in range(count)]


def sample_block(number: int = 12, txs: list[Transaction] | None = None) -> Block:
    txs = sample_txs(2) if txs is None else txs
    header = Header(
        parent_hash=keccak(b"parent"),
        number=number,
        slot=number + 3,
        producer=PRODUCER.address,
        state_root=keccak(b"state"),
        tx_root=compute_tx_root(txs),
        wsc_id=0,
        extra=b"hello",
    )
    return Block(header.signed(PRODUCER), tuple(txs))


def high_s(signature: bytes) -> bytes:
    """The same signature with s mirrored into the upper half (and the recovery id flipped)."""
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])


# -- transactions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "digest"),
    [  # Ethereum's keccak256 (not NIST SHA3-256, whose padding differs)
        (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
        (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
    ],
)
def test_keccak_is_ethereums(data: bytes, digest: str) -> None:
    assert keccak(data).hex() == digest


def test_transaction_round_trip() -> None:
    tx = transfer(ALICE, BOB.address, 12345, nonce=7, fee=2_000_000)
    decoded = Transaction.decode(tx.encoded)
    assert decoded == tx
    assert (decoded.chain_id, decoded.nonce, decoded.kind, decoded.fee) == (
        CHAIN_ID,
        7,
        TxKind.TRANSFER,
        2_000_000,
    )
    assert decoded.payload == [BOB.address, encode_uint(12345)]
    assert decoded.signature == tx.signature
    assert decoded.hash == tx.hash == keccak(tx.encoded)
    assert decoded.signing_hash == tx.signing_hash
    assert decoded.size == len(tx.encoded)


def test_transaction_hash_is_cached() -> None:
    tx = Transaction.decode(sample_txs(1)[0].encoded)
    first = tx.hash
    assert tx.hash is first  # keccak returns a fresh object: identity means it was cached


def test_transaction_repr_is_short() -> None:
    tx = transfer(ALICE, BOB.address, 1, nonce=3)
    assert re.fullmatch(r"<Tx TRANSFER [0-9a-f]{8}\.\. nonce=3>", repr(tx))
    assert repr(tx).split()[2] == tx.hash.hex()[:8] + ".."


def test_signature_recovers_the_sender() -> None:
    tx = transfer(ALICE, BOB.address, 1, nonce=0)
    decoded = Transaction.decode(tx.encoded)  # no cached sender: it must be recovered
    assert decoded.sender == ALICE.address
    assert decoded.sender != BOB.address


def test_equal_transactions_hash_alike_and_differ_by_any_field() -> None:
    tx = transfer(ALICE, BOB.address, 1, nonce=0)
    assert {tx, Transaction.decode(tx.encoded)} == {tx}
    others = [
        transfer(ALICE, BOB.address, 2, nonce=0),
        transfer(ALICE, BOB.address, 1, nonce=1),
        transfer(ALICE, CAROL.address, 1, nonce=0),
        transfer(ALICE, BOB.address, 1, nonce=0, chain_id=CHAIN_ID + 1),
        transfer(BOB, BOB.address, 1, nonce=0),
    ]
    assert len({tx.hash, *(o.hash for o in others)}) == 1 + len(others)


def test_high_s_signature_is_rejected() -> None:
    tx = transfer(ALICE, BOB.address, 1, nonce=0)
    flipped = high_s(tx.signature)
    # The mirrored signature is mathematically valid, which is exactly the malleability at stake.
    with pytest.raises(InvalidSignature, match="lower half"):
        recover_address(tx.signing_hash, flipped)
    malleated = Transaction(tx.chain_id, tx.nonce, tx.kind, tx.payload, tx.fee, flipped).encoded
    decoded = Transaction.decode(malleated)  # decoding itself does not check signatures
    with pytest.raises(InvalidTransaction, match=r"^bad signature: .*lower half"):
        _ = decoded.sender


def test_a_signature_failing_again_after_a_good_one_still_fails() -> None:
    """Recovery answers are cached; a refusal is not, and a refused pair stays refused."""
    tx = transfer(ALICE, BOB.address, 2, nonce=0)
    assert recover_address(tx.signing_hash, tx.signature) == ALICE.address
    assert recover_address(tx.signing_hash, tx.signature) == ALICE.address
    for _ in range(2):
        with pytest.raises(InvalidSignature, match="lower half"):
            recover_address(tx.signing_hash, high_s(tx.signature))
    assert recover_address_uncached(tx.signing_hash, tx.signature) == ALICE.address


def test_equal_bytes_decode_to_one_shared_transaction() -> None:
    tx = transfer(ALICE, BOB.address, 3, nonce=0)
    first = Transaction.decode(tx.encoded)
    again = Transaction.decode(bytes(bytearray(tx.encoded)))  # equal bytes, another object
    assert again is first and again.sender == ALICE.address
    big = transfer(ALICE, BOB.address, 3, nonce=0, fee=1)
    big_payload = [*big.payload, b"x" * CACHED_TX_BYTES]
    large = Transaction(big.chain_id, 0, big.kind, big_payload, 1, big.signature).encoded
    assert Transaction.decode(large) is not Transaction.decode(large)  # too large to keep
    assert Transaction.decode(large) == Transaction.decode(large)


def test_equal_bytes_decode_to_one_shared_block() -> None:
    raw = sample_block(number=40).encode()
    assert Block.decode(bytes(bytearray(raw))) is Block.decode(raw)
    with pytest.raises(DecodeError, match="must be bytes"):
        Block.decode(bytearray(raw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (b"", "must be 65 bytes"),
        (b"\x00" * 65, "r out of range"),
        (b"\x01" * 64 + b"\x02", "recovery id"),
    ],
)
def test_malformed_signature_is_an_invalid_transaction(signature: bytes, message: str) -> None:
    tx = transfer(ALICE, BOB.address, 1, nonce=0)
    bad = Transaction.decode(
        Transaction(tx.chain_id, tx.nonce, tx.kind, tx.payload, tx.fee, signature).encoded
    )
    with pytest.raises(InvalidTransaction, match=message):
        _ = bad.sender


def raw_tx_fields(tx: Transaction) -> list:
    return [
        encode_uint(tx.chain_id),
        encode_uint(tx.nonce),
        encode_uint(tx.kind),
        tx.payload,
        encode_uint(tx.fee),
        tx.signature,
    ]


@pytest.mark.parametrize(
    ("index", "name"), [(0, "chain_id"), (1, "nonce"), (2, "kind"), (4, "fee")]
)
def test_non_canonical_integer_is_refused(index: int, name: str) -> None:
    tx = transfer(ALICE, BOB.address, 1, nonce=5)
    fields = raw_tx_fields(tx)
    fields[index] = b"\x00" + fields[index]  # same number, one leading zero byte
    with pytest.raises(DecodeError, match=f"{name} has leading zero bytes"):
        Transaction.decode(rlp.encode(fields))
    fields[index] = b"\x00"  # zero is the empty string, never a zero byte
    with pytest.raises(DecodeError, match=f"{name} has leading zero bytes"):
        Transaction.decode(rlp.encode(fields))


def test_oversized_integer_and_wrong_shape_are_refused() -> None:
    tx = transfer(ALICE, BOB.address, 1, nonce=5)
    fields = raw_tx_fields(tx)
    with pytest.raises(DecodeError, match="nonce is too large"):
        Transaction.decode(rlp.encode([fields[0], b"\x01" * 9, *fields[2:]]))
    with pytest.raises(DecodeError, match="must have 6 fields"):
        Transaction.decode(rlp.encode(fields[:5]))
    with pytest.raises(DecodeError, match="payload must be a list"):
        Transaction.decode(rlp.encode([*fields[:3], b"payload", *fields[4:]]))
    with pytest.raises(DecodeError, match="signature is 66 bytes"):
        Transaction.decode(rlp.encode([*fields[:5], b"\x01" * 66]))
    with pytest.raises(DecodeError, match="not valid RLP"):
        Transaction.decode(tx.encoded + b"\x00")  # trailing bytes


# -- blocks -------------------------------------------------------------------------------------


def test_block_round_trip() -> None:
    block = sample_block()
    decoded = Block.decode(block.encode())
    assert decoded.header == block.header
    assert decoded.transactions == block.transactions
    assert decoded.hash == block.hash == keccak(block.header.encode())
    assert decoded.encode() == block.encode()
    assert decoded.size == len(block.encode())
    assert Header.decode(block.header.encode()) == block.header
    assert decoded.header.recover_producer() == PRODUCER.address


def test_empty_block_round_trip() -> None:
    block = sample_block(number=1, txs=[])
    decoded = Block.decode(block.encode())
    assert decoded.transactions == ()
    assert decoded.header.tx_root == compute_tx_root([])
    assert decoded.hash == block.hash


def test_block_hash_and_encoding_are_cached() -> None:
    block = Block.decode(sample_block().encode())
    assert block.hash is block.hash
    assert block.header.hash is block.header.hash
    assert block.encode() is block.encode()


def test_block_and_header_reprs_are_short() -> None:
    block = sample_block(number=12)
    prefix = block.hash.hex()[:8]
    assert repr(block) == f"<Block #12 {prefix}.. txs=2>"
    assert repr(block.header) == f"<Header #12 {prefix}..>"


def test_signature_covers_every_header_field() -> None:
    header = sample_block().header
    for change in (
        {"number": 13},
        {"slot": 99},
        {"state_root": ZERO_HASH},
        {"tx_root": ZERO_HASH},
        {"extra": b""},
        {"wsc_id": 1},
    ):
        tampered = replace(header, **change)
        assert tampered.signing_hash != header.signing_hash
        assert tampered.recover_producer() != PRODUCER.address
        assert tampered.hash != header.hash


def test_garbage_header_signature_is_an_invalid_block() -> None:
    header = replace(sample_block().header, signature=b"\x00" * 65)
    with pytest.raises(InvalidBlock, match="bad block signature"):
        header.recover_producer()


def test_tx_root_depends_on_order_and_count() -> None:
    a, b, c = sample_txs(3)
    roots = {
        compute_tx_root(txs)
        for txs in ([], [a], [b], [a, b], [b, a], [a, b, c], [a, c, b], [a, b, c, a])
    }
    assert len(roots) == 8
    assert compute_tx_root([a, b]) == compute_tx_root([a, b])  # deterministic


def test_tx_root_separates_a_list_from_its_zero_padding() -> None:
    """[a, b, c] pads to [a, b, c, 0]; mixing in the count keeps the roots apart."""
    a, b, c = sample_txs(3)
    padded_level = [keccak(a.hash + b.hash), keccak(c.hash + ZERO_HASH)]
    without_count = keccak(padded_level[0] + padded_level[1])
    assert compute_tx_root([a, b, c]) == keccak(without_count + (3).to_bytes(8, "big"))
    assert compute_tx_root([a, b, c]) != keccak(without_count + (4).to_bytes(8, "big"))


def test_non_canonical_header_number_is_refused() -> None:
    fields = sample_block().header.to_rlp()
    fields[1] = b"\x00\x0c"
    with pytest.raises(DecodeError, match="number has leading zero bytes"):
        Header.decode(rlp.encode(fields))


def test_block_with_a_malformed_transaction_is_a_decode_error() -> None:
    block = sample_block()
    body = [block.transactions[0].encoded, b"\x01\x02"]
    with pytest.raises(DecodeError, match="transaction"):
        Block.decode(rlp.encode([block.header.to_rlp(), body]))


# -- hostile bytes (hypothesis) ----------------------------------------------------------------

VALID_TX = transfer(ALICE, BOB.address, 10**12, nonce=3).encoded
VALID_BLOCK = sample_block().encode()

MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
)


def mutate(data: bytes, mutations: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for op, position, value in mutations:
        index = position % (len(out) + 1)
        if op == "flip" and index < len(out):
            out[index] ^= value
        elif op == "insert":
            out.insert(index, value)
        elif op == "delete" and index < len(out):
            del out[index]
        elif op == "truncate":
            del out[index:]
    return bytes(out)


def check_transaction_bytes(data: bytes) -> None:
    """Decode fails only with DecodeError; what decodes is canonical and fails only later."""
    try:
        tx = Transaction.decode(data)
    except DecodeError:
        return
    # Canonical: a second encoding of the same transaction would be a second hash for it.
    assert rlp.encode(raw_tx_fields(tx)) == data
    assert tx.hash == keccak(data)
    assert repr(tx).startswith("<Tx ")
    with contextlib.suppress(InvalidTransaction):  # the only error a bad signature may give
        assert len(tx.sender) == 20


def check_block_bytes(data: bytes) -> None:
    try:
        block = Block.decode(data)
    except DecodeError:
        return
    assert Block(block.header, block.transactions).encode() == data
    assert repr(block).startswith("<Block #")
    with contextlib.suppress(InvalidBlock):
        assert len(block.header.recover_producer()) == 20
    for tx in block.transactions:
        check_transaction_bytes(tx.encoded)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_transaction_decode_arbitrary_bytes(data: bytes) -> None:
    check_transaction_bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(MUTATION, min_size=1, max_size=4))
def test_transaction_decode_mutated_encoding(mutations: list[tuple[str, int, int]]) -> None:
    check_transaction_bytes(mutate(VALID_TX, mutations))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_block_decode_arbitrary_bytes(data: bytes) -> None:
    check_block_bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(MUTATION, min_size=1, max_size=4))
def test_block_decode_mutated_encoding(mutations: list[tuple[str, int, int]]) -> None:
    check_block_bytes(mutate(VALID_BLOCK, mutations))


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.binary(max_size=40),
        lambda children: st.lists(children, max_size=7),
        max_leaves=20,
    )
)
def test_decode_well_formed_rlp_of_any_shape(item: object) -> None:
    """Valid RLP of the wrong shape is refused as cleanly as invalid RLP."""
    data = rlp.encode(item)
    check_transaction_bytes(data)
    check_block_bytes(data)


def test_clearing_the_caches_makes_equal_bytes_decode_anew() -> None:
    tx = transfer(ALICE, BOB.address, 5, nonce=0)
    first = Transaction.decode(tx.encoded)
    assert Transaction.decode(tx.encoded) is first
    caches.clear()
    again = Transaction.decode(tx.encoded)
    assert again is not first and again == first and again.sender == ALICE.address


def test_a_replaced_header_or_block_has_its_own_hash_and_encoding() -> None:
    block = sample_block()
    assert block.hash and block.encode()  # both cached now
    header = replace(block.header, extra=b"twin")
    twin = replace(block, header=header)
    assert header.hash != block.header.hash
    assert twin.encode() != block.encode()
    assert Block.decode(twin.encode()).hash == twin.hash == header.hash
