"""The `por_` namespace: chain, blocks, accounts and transactions.

Methods run off the event loop on a chain snapshot, except those marked `@on_loop`: they read
the mempool, or are trivial, and leave any reading of blocks and state to an `Offload`.
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Any

from porchain import __version__
from porchain.backfill import lowest_held
from porchain.crypto.keys import to_checksum_address
from porchain.equivocations import kept_equivocations
from porchain.pbs.record import BUILDER, RELAY, SourceRecord
from porchain.rpc import params
from porchain.rpc.errors import STATE_UNAVAILABLE, RPCError
from porchain.rpc.format import account_json, block_json, equivocation_json, hex0x, tx_json
from porchain.rpc.view import Offload, on_loop
from porchain.state.past import StateUnavailable, state_at
from porchain.types.blocks import Block
from porchain.verdicts import read_verdict, verdict_json

if TYPE_CHECKING:
    from porchain.chain import Chain
    from porchain.node import Node


def snapshot_info(chain: Chain) -> dict[str, int] | None:
    """For a node bootstrapped from a snapshot: its block (below which the node holds headers
    only), and the lowest header it holds while it fetches them back to genesis (0 when done)."""
    if not chain.anchor:
        return None
    return {"block": chain.anchor, "headers_from": lowest_held(chain)}


class PorApi:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.chain = node.chain

    def _block_json(self, block: Block | None, full: Any) -> dict[str, Any] | None:
        full = params.boolean(full, "full_transactions")
        if block is None:
            return None
        state = self.chain.state()
        out = block_json(
            block, self.chain.rules, state.chain.genesis_time_ms, state.params.slot_ms, full=full
        )
        out["pool_id"] = state.block_pool_id(block.number) or None
        out["finalized"] = self.chain.is_finalized(block)
        return out

    @on_loop
    def por_chainId(self) -> int:
        return self.chain.state().chain.chain_id

    @on_loop
    def por_blockNumber(self) -> int:
        return self.chain.head.number

    def _block_tags(self) -> dict[str, int]:
        return {
            "latest": self.chain.head.number,
            "finalized": self.chain.state().chain.finalized,
            "earliest": 0,
        }

    def por_getBlockByNumber(self, block: Any = "latest", full: Any = False) -> dict | None:
        number = params.block_number(block, self._block_tags())
        return self._block_json(self.chain.get_block_by_number(number), full)

    def por_getBlockByHash(self, block_hash: Any, full: Any = False) -> dict | None:
        block_hash = params.hex_bytes(block_hash, "block hash", 32)
        return self._block_json(self.chain.get_block(block_hash), full)

    def por_getBlockVerdict(self, block: Any = "latest") -> dict[str, Any] | None:
        """What this node judged about a block it made its head, and why (porchain.verdicts);
        null for a block it did not judge, or judged more than `VERDICT_BLOCKS` ago."""
        ref = params.block_ref(block, self._block_tags())
        if isinstance(ref, int):
            number, block_hash = ref, self.chain.get_canonical_hash(ref)
        else:
            found = self.chain.get_block(ref)
            number, block_hash = (found.number, ref) if found else (0, None)
        verdict = None if block_hash is None else read_verdict(self.chain.db, number, block_hash)
        return None if verdict is None else verdict_json(verdict)

    def por_getEquivocations(self, producer: Any = None, limit: Any = 50) -> list[dict[str, Any]]:
        """The equivocations this node has seen and keeps as evidence (porchain.equivocations),
        highest slot first, of `producer` only if given."""
        who = None if producer is None else params.address(producer, "producer")
        kept = kept_equivocations(self.chain.db, who, params.limit(limit))
        state = self.chain.state()
        genesis_time_ms, slot_ms = state.chain.genesis_time_ms, state.params.slot_ms
        return [equivocation_json(e, genesis_time_ms, slot_ms) for e in kept]

    @on_loop
    def por_getAccount(self, address: Any, block: Any = "latest") -> Offload:
        """The account after `block` (the head by default; `next_nonce` counts the pending
        transactions only at the head)."""
        raw = params.address(address)
        number = params.block_number(block, self._block_tags())
        at_head = number == self.chain.head.number
        pending = self.node.mempool.pending_count(raw) if at_head else 0

        def finish(chain: Chain) -> dict[str, Any]:  # the snapshot's head is the head read here
            try:
                state = chain.state() if at_head else state_at(chain, number)
            except StateUnavailable as exc:
                raise RPCError(STATE_UNAVAILABLE, str(exc)) from None
            return {"block": number, **account_json(state, raw, state.account(raw), pending)}

        return Offload(finish)

    @on_loop
    def por_sendRawTransaction(self, raw: Any, replace: Any = True) -> str:
        """Admit a signed transaction; with `replace` false, refuse it (NONCE_TAKEN) rather
        than replace a pending one of the same nonce."""
        replace = params.boolean(replace, "replace")
        tx = self.node.submit_transaction(params.hex_bytes(raw, "raw transaction"), replace=replace)
        return hex0x(tx.hash)

    @on_loop
    def por_getTransaction(self, tx_hash: Any) -> Offload:
        tx_hash = params.hex_bytes(tx_hash, "transaction hash", 32)
        pending = self.node.mempool.get(tx_hash)

        def finish(chain: Chain) -> dict[str, Any] | None:
            location = chain.get_tx_location(tx_hash)
            if location is not None:
                block = chain.get_block(location.block_hash)
                assert block is not None
                out = tx_json(block.transactions[location.index], chain.rules)
                out.update(
                    status="included",
                    block_hash=hex0x(block.hash),
                    block_number=block.number,
                    index=location.index,
                )
                return out
            if pending is None:
                return None
            out = tx_json(pending, chain.rules)
            out.update(status="pending", block_hash=None, block_number=None, index=None)
            return out

        return Offload(finish)

    @on_loop
    def por_pendingTransactions(self, limit: Any = params.MAX_LIST) -> Offload:
        """The first `limit` mempool transactions, in the order the builder takes them."""
        txs = list(islice(self.node.mempool.candidates(), params.limit(limit)))
        return Offload(lambda chain: [tx_json(tx, chain.rules) for tx in txs])

    def por_getSupply(self) -> dict[str, Any]:
        """Token totals: what accounts own, what pools hold, minted and burned, the reserve."""
        state = self.chain.state()
        supply, salary = state.supply, state.salary
        out = {name: str(getattr(supply, name)) for name in supply.__dataclass_fields__}
        out["salary_reserve"] = str(salary.reserve)
        return out

    def por_getParams(self) -> dict[str, Any]:
        state = self.chain.state()
        return {"wsc_id": state.wsc_id, "params": state.params.to_dict()}

    @on_loop
    def por_getRelays(self, blocks: Any = 32) -> dict[str, Any]:
        """This producer's record of the relays it asks and the builders whose bids it was
        offered, and where its last `blocks` blocks came from (porchain.pbs.producer); empty
        when it asks no relay."""
        count = params.limit(blocks)
        sourcing = self.node.sourcing
        if sourcing is None:
            return {"relays": [], "builders": [], "blocks": []}
        records = sourcing.book.records
        return {
            "relays": [
                {
                    **records.get((RELAY, r.address), SourceRecord(RELAY, r.address)).to_json(),
                    "url": str(r),
                }
                for r in sourcing.relays
            ],
            "builders": [r.to_json() for r in sourcing.book.of_role(BUILDER)],
            "blocks": [entry.to_json() for entry in sourcing.produced.recent(count)],
        }

    @on_loop
    def por_nodeInfo(self) -> Offload:
        current_slot, mempool_size = self.node.clock.current_slot(), len(self.node.mempool)
        producer = to_checksum_address(self.node.address) if self.node.address else None
        behaviour = self.node.behaviour.info()

        def finish(chain: Chain) -> dict[str, Any]:
            head, finalized = chain.head, chain.finalized
            state = chain.state()
            return {
                "version": __version__,
                "chain_id": state.chain.chain_id,
                "genesis_hash": hex0x(chain.genesis_hash),
                "genesis_time_ms": state.chain.genesis_time_ms,
                "head": {"number": head.number, "hash": hex0x(head.hash), "slot": head.slot},
                "finalized": {"number": finalized.number, "hash": hex0x(finalized.hash)},
                "current_slot": current_slot,
                "wsc_id": state.wsc_id,
                "producer": producer,
                "mempool_size": mempool_size,
                "rpc": self.node.rpc_url,
                "behaviour": behaviour,
                "snapshot": snapshot_info(chain),
            }

        return Offload(finish)
