"""The `por_` methods of consensus: the producer schedule, the beacon epochs, validation pools.

All run off the event loop on a chain snapshot (`porchain.rpc.view`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from porchain.consensus.beacon import commit_window, reveal_window
from porchain.consensus.pool_codes import BLOCK_POOL, STATUS_NAMES
from porchain.consensus.selection import get_slot_producer
from porchain.consensus.slots import advance_to_slot
from porchain.crypto.keys import to_checksum_address
from porchain.rpc import params
from porchain.rpc.errors import STATE_UNAVAILABLE, InvalidParams, RPCError
from porchain.rpc.format import hex0x, pool_json
from porchain.state.objects import Pool
from porchain.state.past import StateUnavailable, state_at
from porchain.types.blocks import Block
from porchain.verdicts import read_verdict, verdict_json

MAX_BLOCK_RECORDS = 64  # blocks one por_getBlockRecords call describes at most

if TYPE_CHECKING:
    from porchain.chain import Chain
    from porchain.node import Node


class ConsensusApi:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.chain = node.chain

    def por_getSchedule(self, count: Any = 16) -> list[dict[str, Any]]:
        """The next `count` slots and their producers, as far as they are drawn (this epoch
        and the next), assuming no block comes before each."""
        count = params.integer(count, "count", 1, params.MAX_LIST)
        first = max(self.node.clock.current_slot(), self.chain.head.slot + 1)
        state = advance_to_slot(self.chain.state(), first, self.chain.rules)
        slot_ms, genesis_ms = state.params.slot_ms, state.chain.genesis_time_ms
        out = []
        for slot in range(first, first + count):
            producer = get_slot_producer(state, slot)
            if producer is None:
                break
            out.append(
                {
                    "slot": slot,
                    "epoch": slot // state.params.epoch_slots,
                    "start_ms": genesis_ms + slot * slot_ms,
                    "producer": to_checksum_address(producer),
                }
            )
        return out

    def por_getEpoch(self, epoch: Any = None) -> dict[str, Any]:
        """An epoch of the commit-reveal beacon: windows, commits, reveals, penalties, mixes."""
        state = self.chain.state()
        current = state.beacon.epoch
        epoch = current if epoch is None else params.integer(epoch, "epoch", 0, 2**63)
        record = state.epoch_record(epoch)
        if epoch == current:
            mix: bytes | None = state.beacon.mix
        else:
            mix = state.epoch_record(epoch - 1).next_mix if epoch else None
        commits, reveals = commit_window(state, epoch), reveal_window(state, epoch)
        return {
            "epoch": epoch,
            "current": epoch == current,
            "commit_slots": [commits.start, commits.stop - 1],
            "reveal_slots": [reveals.start, reveals.stop - 1],
            "mix": hex0x(mix) if mix else None,
            "next_mix": hex0x(record.next_mix) if record.next_mix else None,
            "commits": [
                {"address": to_checksum_address(c.address), "commitment": hex0x(c.commitment)}
                for c in record.commits
            ],
            "reveals": [
                {"address": to_checksum_address(r.address), "salt": hex0x(r.salt)}
                for r in record.reveals
            ],
            "penalties": [
                {"address": to_checksum_address(p.address), "amount": str(p.amount)}
                for p in record.penalties
            ],
        }

    def por_getPool(self, pool_id: Any) -> dict[str, Any] | None:
        pool = self.chain.state().pool(params.integer(pool_id, "pool id", 1, 2**63))
        return None if pool.is_empty() else self._pool_json(pool)

    def por_listPools(
        self, status: Any = None, limit: Any = 50, before: Any = None
    ) -> list[dict[str, Any]]:
        """Pools, newest first, below pool id `before` if given (the next page: the id of the
        last pool of this one), optionally only those with `status`; at most MAX_SCAN ids are
        examined."""
        if status is not None and status not in STATUS_NAMES.values():
            raise InvalidParams(f"status must be one of {', '.join(STATUS_NAMES.values())}")
        limit = params.limit(limit)
        state = self.chain.state()
        out = []
        for pool_id in params.scan_range(before, state.open_pools.next_id):
            pool = state.pool(pool_id)
            if pool.is_empty():
                continue
            if status is None or STATUS_NAMES[pool.status] == status:
                out.append(self._pool_json(pool))
                if len(out) == limit:
                    break
        return out

    def _pool_json(self, pool: Pool) -> dict[str, Any]:
        block_hash = None
        if pool.kind == BLOCK_POOL:
            block_hash = self.chain.get_canonical_hash(int.from_bytes(pool.target, "big"))
        return pool_json(pool, block_hash)

    def por_getBlockRecords(self, first: Any = 1, count: Any = MAX_BLOCK_RECORDS) -> dict:
        """What a run report needs of canonical blocks `first` .. `first + count - 1`: each
        block's producer, slot and time, the slots missed just before it (scheduled, no block)
        and this node's verdict on it. `next` is the block to ask for next (None: past the
        head). Missed slots are those consensus counts (a gap of more than an epoch is an
        outage, not counted: `outage` true); `missed` is None when the block is too old for
        this node's past state (`PAST_STATE_BLOCKS`)."""
        first = params.integer(first, "first", 1, params.MAX_ID)
        count = params.integer(count, "count", 1, MAX_BLOCK_RECORDS)
        head = self.chain.head.number
        state = self.chain.state()
        genesis_ms, slot_ms = state.chain.genesis_time_ms, state.params.slot_ms
        records = []
        for number in range(first, min(first + count, head + 1)):
            block = self.chain.get_block_by_number(number)
            parent = self.chain.get_block_by_number(number - 1)
            if block is None or parent is None:
                raise RPCError(STATE_UNAVAILABLE, f"block #{number} is not stored on this node")
            records.append(self._block_record(block, parent, genesis_ms, slot_ms))
        return {
            "head": head,
            "records": records,
            "next": first + count if first + count <= head else None,
        }

    def _block_record(self, block: Block, parent: Block, genesis_ms: int, slot_ms: int) -> dict:
        verdict = read_verdict(self.chain.db, block.number, block.hash)
        gap = block.slot - parent.slot - 1
        outage = gap > self.chain.state().params.epoch_slots
        return {
            "number": block.number,
            "hash": hex0x(block.hash),
            "slot": block.slot,
            "timestamp_ms": genesis_ms + block.slot * slot_ms,
            "producer": to_checksum_address(block.header.producer),
            "tx_count": len(block.transactions),
            "missed": [] if gap <= 0 or outage else _missed_before(self.chain, block, parent),
            "outage": outage,
            "verdict": None if verdict is None else verdict_json(verdict),
        }


def _missed_before(chain: Chain, block: Block, parent: Block) -> list[dict[str, Any]] | None:
    """The slots between `parent` and `block` and who was scheduled in each, on the state
    after `parent` (None if this node no longer serves it)."""
    try:
        state = state_at(chain, parent.number)
    except StateUnavailable:
        return None
    missed = []
    for slot in range(parent.slot + 1, block.slot):
        producer = get_slot_producer(advance_to_slot(state, slot, chain.rules), slot)
        if producer is not None:
            missed.append({"slot": slot, "producer": to_checksum_address(producer)})
    return missed
