"""Small builders shared by the tests: keys, genesis files, chains, signed transactions, blocks.

Everything is deterministic (keys come from fixed seeds, the genesis time is fixed), so a failing
hypothesis example replays exactly. Blocks are built with the real builder and signed by the key
the real producer selection schedules for the slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from porchain.builder import BuiltBlock, build_block
from porchain.chain import Chain
from porchain.composition import core_modules
from porchain.consensus.modules import Rules
from porchain.consensus.slots import scheduled_producer
from porchain.consensus.transfer import Transfer
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.db import Database, MemoryDB, schema
from porchain.genesis import Genesis
from porchain.net.messages import Hello
from porchain.net.peer import new_hello
from porchain.params import WSCParams
from porchain.state.objects import Account
from porchain.types.blocks import Block, compute_tx_root
from porchain.types.codec import RLPItem
from porchain.types.transactions import Transaction, TxKind
from porchain.units import parse_amount
from porchain.wallet import sign_transaction

CHAIN_ID = 1337
GENESIS_TIME_MS = 1_767_225_600_000


def key(index: int) -> PrivateKey:
    """The test key number `index` (the same key in every test run)."""
    return PrivateKey(keccak(b"porchain test key" + index.to_bytes(4, "big")))


KEYS = tuple(key(i) for i in range(8))
PRODUCER = KEYS[0]


def peer_hello(index: int = 1) -> Hello:
    """A HELLO from the node of `key(index)` on an empty chain 1: a peer to build by hand."""
    zero = b"\x00" * 32
    return new_hello(
        chain_id=1,
        genesis_hash=zero,
        head_number=0,
        head_hash=zero,
        finalized=0,
        node_id=key(index).address,
    )


def dollars(amount: int | str) -> int:
    """Human `$` to base units: dollars(2) == dollars("2") == 2 * UNIT."""
    return parse_amount(str(amount))


def default_alloc() -> dict[PrivateKey, dict[str, str]]:
    """One producer with encumbered REP; every test key funded with 1000 `$`."""
    alloc: dict[PrivateKey, dict[str, str]] = {k: {"balance": "1000"} for k in KEYS}
    alloc[PRODUCER] = {"balance": "1000", "rep_encumbered": "100"}
    return alloc


def make_genesis(
    alloc: Mapping[PrivateKey | bytes, Mapping[str, str]] | None = None,
    *,
    preset: str = "minimal",
    wsc: Mapping[str, Any] | None = None,
    chain_id: int = CHAIN_ID,
    genesis_time: int = GENESIS_TIME_MS,
) -> Genesis:
    """A genesis through the real file format (`Genesis.from_json`)."""
    alloc = default_alloc() if alloc is None else alloc
    return Genesis.from_json(
        {
            "chain_id": chain_id,
            "genesis_time": genesis_time,
            "preset": preset,
            "wsc": dict(wsc or {}),
            "alloc": {
                to_checksum_address(k.address if isinstance(k, PrivateKey) else k): dict(v)
                for k, v in alloc.items()
            },
        }
    )


def core_rules() -> Rules:
    """The core rule set only, so plugged-in modules cannot change what core tests see."""
    return Rules(core_modules())


def new_chain(
    genesis: Genesis | None = None, db: Database | None = None, rules: Rules | None = None
) -> Chain:
    return Chain.initialize(
        db if db is not None else MemoryDB(),
        genesis if genesis is not None else make_genesis(),
        rules if rules is not None else core_rules(),
    )


# -- transactions -------------------------------------------------------------------------------


def sign_tx(
    signer: PrivateKey,
    kind: int,
    payload: list[RLPItem],
    *,
    nonce: int,
    fee: int | None = None,
    chain_id: int = CHAIN_ID,
    params: WSCParams | None = None,
) -> Transaction:
    """A signed transaction; with no `fee`, the least fee `params` accept for its size."""
    params = params if params is not None else WSCParams.preset("minimal")
    return sign_transaction(
        signer, chain_id=chain_id, nonce=nonce, kind=kind, payload=payload, params=params, fee=fee
    )


def transfer(
    signer: PrivateKey, to: bytes, amount: int, *, nonce: int, **kwargs: Any
) -> Transaction:
    return sign_tx(signer, TxKind.TRANSFER, Transfer(to, amount).to_rlp(), nonce=nonce, **kwargs)


# -- blocks -------------------------------------------------------------------------------------


def keys_by_address(keys: Iterable[PrivateKey] = KEYS) -> dict[bytes, PrivateKey]:
    return {k.address: k for k in keys}


def next_slot(
    chain: Chain, after: int, keys: Iterable[PrivateKey] = KEYS
) -> tuple[int, PrivateKey]:
    """The first slot after `after` whose producer, on the chain's head, is one of `keys`."""
    known = keys_by_address(keys)
    for slot in range(after + 1, after + 1_000):
        producer = scheduled_producer(chain.state(), slot, chain.rules)
        if producer in known:
            return slot, known[producer]
    raise AssertionError("none of the keys is scheduled in the next 1000 slots")


def build_on_head(
    chain: Chain,
    txs: Sequence[Transaction] = (),
    *,
    slot: int | None = None,
    keys: Iterable[PrivateKey] = KEYS,
    extra: bytes = b"",
) -> BuiltBlock:
    """Build (without importing) the next block on the chain's head, signed by its producer."""
    keys = tuple(keys)
    if slot is None:
        slot, signer = next_slot(chain, chain.head.slot, keys)
    else:
        signer = keys_by_address(keys)[scheduled_producer(chain.state(), slot, chain.rules)]
    return build_block(chain.state(), chain.head, slot, signer, txs, chain.rules, extra=extra)


def extend(chain: Chain, txs: Sequence[Transaction] = (), **kwargs: Any) -> Block:
    """Build the next block with every transaction and import it; fail if one is left out."""
    built = build_on_head(chain, txs, **kwargs)
    assert not built.rejected, built.rejected
    chain.import_block(built.block)
    return built.block


def resign(
    block: Block,
    signer: PrivateKey,
    *,
    transactions: Sequence[Transaction] | None = None,
    **header_changes: Any,
) -> Block:
    """`block` with header fields (and maybe its body) changed, signed again by `signer`.

    With new `transactions` and no explicit `tx_root`, the tx_root is recomputed, so the only
    defect of the result is the one a test put there on purpose.
    """
    txs = block.transactions if transactions is None else tuple(transactions)
    if transactions is not None:
        header_changes.setdefault("tx_root", compute_tx_root(txs))
    header = replace(block.header, **header_changes)
    return Block(header.signed(signer), txs)


# -- state reads --------------------------------------------------------------------------------


def accounts(db: Database) -> dict[bytes, Account]:
    """Every account in the committed state, by address."""
    prefix = schema.state_db_key(schema.account_state_key(b""))
    return {k[len(prefix) :]: Account.decode(v) for k, v in db.iterate(prefix)}


def state_entries(db: Database) -> list[tuple[bytes, bytes]]:
    """The committed state as (state key, value) pairs, in key order."""
    return [(k[len(schema.STATE_PREFIX) :], v) for k, v in db.iterate(schema.STATE_PREFIX)]
