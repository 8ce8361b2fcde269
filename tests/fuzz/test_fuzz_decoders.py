"""Every decoder, fed arbitrary bytes and mutated valid encodings: only its documented error
escapes, whatever the input, and every valid encoding round-trips (issue 10, the harness)."""

from __future__ import annotations

import io
import json
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.forum import PROPOSAL, PostPayload, check_wsc_params
from porchain.chain import Checkpoint
from porchain.composition import default_rules
from porchain.crypto.keyfile import check_key_file
from porchain.crypto.keystore import encrypt_key, read_key_file
from porchain.db import schema
from porchain.db.memory import MemoryDB
from porchain.errors import (
    DecodeError,
    InvalidParameters,
    InvalidTransaction,
    KeystoreError,
)
from porchain.history import MAGIC, HistoryError, read_blocks
from porchain.net import messages as m
from porchain.params import WSCParams
from porchain.snapshot.check import verify
from porchain.snapshot.format import SnapshotError
from porchain.snapshot.make import write_snapshot
from porchain.snapshot.sign import add_signature
from porchain.snapshot.trustnet import TrustNet, TrustNetError
from porchain.state.state import decode_journal, encode_journal
from porchain.txjournal import TxJournal
from porchain.types.blocks import Block, Header
from porchain.types.records import Record
from porchain.types.transactions import Transaction
from tests.factories import extend, key, make_genesis, new_chain, transfer
from tests.fuzz.strategies import (
    RLP_ITEMS,
    blocks,
    fuzz_settings,
    fuzzed,
    headers,
    mutated,
    record_classes,
    records,
    transactions,
)

RECORDS = record_classes()


def test_every_record_type_is_found() -> None:
    names = {cls.__name__ for cls in RECORDS}
    assert {"Hello", "Peers", "Account", "Pool", "Schedule", "Post", "PostPayload"} <= names
    assert len(RECORDS) >= 40


def only(errors: type[Exception] | tuple[type[Exception], ...], decode: Any, data: Any) -> Any:
    """`decode(data)`, or None when it raised one of `errors` (anything else fails the test)."""
    try:
        return decode(data)
    except errors:
        return None


# -- wire messages and records -----------------------------------------------------------------

MESSAGES = st.one_of([records(cls) for cls in m.PAYLOADS.values()])


@fuzz_settings(80)
@given(fuzzed(MESSAGES.map(m.encode_message)))
def test_decode_message_raises_only_decode_error(frame: bytes) -> None:
    only(DecodeError, m.decode_message, frame)


@fuzz_settings(80)
@given(MESSAGES)
def test_every_message_round_trips(message: Record) -> None:
    assert m.decode_message(m.encode_message(message)) == message


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
@fuzz_settings(15)
@given(data=st.data())
def test_every_record_type_raises_only_decode_error_and_round_trips(
    cls: type[Record], data: st.DataObject
) -> None:
    record = data.draw(records(cls))
    assert cls.decode(record.encode()) == record
    only(DecodeError, cls.decode, data.draw(fuzzed(records(cls).map(Record.encode))))


# -- transactions and blocks -------------------------------------------------------------------


@fuzz_settings(100)
@given(fuzzed(transactions().map(lambda tx: tx.encoded)))
def test_transaction_decode_raises_only_decode_error(raw: bytes) -> None:
    tx = only(DecodeError, Transaction.decode, raw)
    if tx is not None:
        assert tx.encoded == raw
        only(InvalidTransaction, lambda t: t.sender, tx)  # a forged signature is refused


@fuzz_settings(100)
@given(transactions())
def test_transaction_round_trips(tx: Transaction) -> None:
    decoded = Transaction.decode(tx.encoded)
    fields = ("chain_id", "nonce", "kind", "payload", "fee", "signature")
    assert [getattr(decoded, f) for f in fields] == [getattr(tx, f) for f in fields]


@fuzz_settings(100)
@given(fuzzed(blocks().map(Block.encode)))
def test_block_decode_raises_only_decode_error(raw: bytes) -> None:
    block = only(DecodeError, Block.decode, raw)
    if block is not None:
        assert block.encode() == raw


@fuzz_settings(80)
@given(blocks())
def test_block_round_trips(block: Block) -> None:
    decoded = Block.decode(block.encode())
    assert decoded.header == block.header
    assert decoded.transactions == block.transactions


@fuzz_settings(80)
@given(st.one_of(headers().map(lambda h: (h, None)), fuzzed(headers().map(Header.encode))))
def test_header_decode_raises_only_decode_error_and_round_trips(case: Any) -> None:
    if isinstance(case, tuple):
        header, _ = case
        assert Header.decode(header.encode()) == header
    else:
        only(DecodeError, Header.decode, case)


RULES = default_rules()
KINDS = sorted(RULES._handlers)


@fuzz_settings(100)
@given(st.sampled_from(KINDS), st.lists(RLP_ITEMS, max_size=8))
def test_every_payload_decoder_raises_only_invalid_transaction(kind: int, payload: list) -> None:
    only(InvalidTransaction, RULES.handler(kind).decode, payload)


# -- state and database decoders ---------------------------------------------------------------

CHECKPOINTS = st.builds(Checkpoint, st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32))
JOURNALS = st.lists(
    st.tuples(st.binary(max_size=40), st.none() | st.binary(min_size=1, max_size=40))
)


@fuzz_settings(100)
@given(CHECKPOINTS, fuzzed(CHECKPOINTS.map(Checkpoint.encode)))
def test_checkpoint_decode(checkpoint: Checkpoint, raw: bytes) -> None:
    assert Checkpoint.decode(checkpoint.encode()) == checkpoint
    only(DecodeError, Checkpoint.decode, raw)


@fuzz_settings(100)
@given(JOURNALS, fuzzed(JOURNALS.map(encode_journal)))
def test_journal_decode(journal: list, raw: bytes) -> None:
    assert decode_journal(encode_journal(journal)) == journal
    only(DecodeError, decode_journal, raw)


@fuzz_settings(40)
@given(st.lists(fuzzed(st.just(transfer(key(1), key(2).address, 1, nonce=0).encoded)), max_size=3))
def test_a_damaged_transaction_journal_loads_what_is_intact(entries: list[bytes]) -> None:
    db = MemoryDB()
    for i, raw in enumerate(entries):
        db.put(schema.local_tx_key(i.to_bytes(32, "big")), raw)
    loaded = TxJournal(db).load()
    assert all(tx.encoded in entries for tx in loaded)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
PARAMS = WSCParams.preset("minimal")


PARAMS_JSON = st.one_of(
    JSON,
    st.dictionaries(st.sampled_from(sorted(PARAMS.to_dict())), JSON, max_size=3).map(
        lambda changes: {**PARAMS.to_dict(), **changes}
    ),
).map(lambda value: json.dumps(value).encode())


@fuzz_settings(100)
@given(st.one_of(fuzzed(st.just(PARAMS.encode())), PARAMS_JSON))
def test_wsc_params_decode_raises_only_invalid_parameters(raw: bytes) -> None:
    assert WSCParams.decode(PARAMS.encode()) == PARAMS
    only((InvalidParameters, ValueError), WSCParams.decode, raw)  # ValueError: not JSON


PROPOSAL_STATE = new_chain(make_genesis()).state()


@fuzz_settings(100)
@given(st.one_of(PARAMS_JSON, fuzzed(st.just(b'{"min_fee":3}'))))
def test_a_proposal_s_parameters_raise_only_invalid_transaction(raw: bytes) -> None:
    payload = PostPayload(kind=PROPOSAL, title=b"t", wsc_params=raw)
    only(InvalidTransaction, lambda p: check_wsc_params(PROPOSAL_STATE, p), payload)


# -- the history file `porchain db import` reads -----------------------------------------------

GENESIS_HASH = b"\x42" * 32


def history_file(chain: list[Block]) -> bytes:
    frames = b"".join(len(b.encode()).to_bytes(4, "big") + b.encode() for b in chain)
    return MAGIC + GENESIS_HASH + frames


@fuzz_settings(80)
@given(st.lists(blocks(), max_size=3), st.data())
def test_history_reader_raises_only_history_error_and_round_trips(
    chain: list[Block], data: st.DataObject
) -> None:
    read = list(read_blocks(io.BytesIO(history_file(chain)), GENESIS_HASH))
    assert [b.encode() for b in read] == [b.encode() for b in chain]
    damaged = data.draw(fuzzed(st.just(history_file(chain))))
    only(HistoryError, lambda raw: list(read_blocks(io.BytesIO(raw), GENESIS_HASH)), damaged)


# -- the snapshot file `node run --snapshot` reads --------------------------------------------


def snapshot_file() -> bytes:
    """A real snapshot (of a short chain's finalized block), signed by one authority."""
    chain = new_chain(make_genesis(), rules=default_rules())
    while chain.checkpoint.number == 0:
        extend(chain)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "s.porsnap"
        write_snapshot(chain, path)
        add_signature(path, key(20))
        return path.read_bytes()


SNAPSHOT = snapshot_file()
SNAPSHOT_TRUST = TrustNet(1, {key(20).address: "alice"})


@fuzz_settings(80)
@given(fuzzed(st.just(SNAPSHOT)))
def test_snapshot_reader_raises_only_snapshot_error(raw: bytes) -> None:
    checked = only(SnapshotError, lambda r: verify(io.BytesIO(r), trust=SNAPSHOT_TRUST), raw)
    if checked is not None:
        assert checked.signatures.trusted == ["alice"]


def test_the_fuzzed_snapshot_is_valid() -> None:
    assert verify(io.BytesIO(SNAPSHOT), trust=SNAPSHOT_TRUST).header.entry_count > 0


# -- key files ---------------------------------------------------------------------------------

KEY_FILE = encrypt_key(key(1), "password", scrypt_n=2)


@st.composite
def damaged_key_files(draw: st.DrawFn) -> Any:
    """The key file with some of its fields (at any depth) replaced by arbitrary JSON or
    removed, or an arbitrary JSON value."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    keystore = json.loads(json.dumps(KEY_FILE))
    for _ in range(draw(st.integers(1, 3))):
        if not keystore:
            break
        section = keystore
        while True:
            name = draw(st.sampled_from(sorted(section)))
            inner = section[name]
            if not (isinstance(inner, dict) and inner) or draw(st.booleans()):
                break
            section = inner
        if draw(st.booleans()):
            del section[name]
        else:
            section[name] = draw(JSON)
    return keystore


@fuzz_settings(80)
@given(damaged_key_files())
def test_key_file_check_raises_only_keystore_error(keystore: Any) -> None:
    only(KeystoreError, check_key_file, keystore)


@fuzz_settings(80)
@given(
    st.one_of(
        mutated(st.just(json.dumps(KEY_FILE).encode())),
        damaged_key_files().map(lambda k: json.dumps(k).encode()),
    )
)
def test_key_file_reader_raises_only_keystore_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "key.json"
        path.write_bytes(raw)
        only(KeystoreError, read_key_file, path)


# -- the trust-net file `node run --trustnet` reads ----------------------------------------------

TRUST_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
AUTHORITY = st.fixed_dictionaries(
    {
        "name": st.text(max_size=8) | st.sampled_from(['a"b', "a\\b", "é", "x\x7f"]),
        "address": st.sampled_from(["0x" + "ab" * 20, "0x" + "cd" * 20, "0x12", "x"]),
    }
)


@fuzz_settings(100)
@given(
    st.one_of(
        st.dictionaries(st.sampled_from(["k", "authority", "m"]), TRUST_VALUES, max_size=3),
        st.fixed_dictionaries(
            {"k": st.integers(-2, 4), "authority": st.lists(AUTHORITY | TRUST_VALUES, max_size=4)}
        ),
    )
)
def test_a_trust_net_raises_only_trust_net_error(data: dict[str, Any]) -> None:
    trust = only(TrustNetError, TrustNet.from_dict, data)
    if trust is not None:
        assert 1 <= trust.k <= len(trust.authorities)
        assert TrustNet.from_dict(tomllib.loads(trust.to_toml())) == trust
