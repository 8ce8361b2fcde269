"""JSON shapes of blocks, transactions and accounts: hex for bytes, decimal strings for amounts
(base units, 9 decimals), plain numbers for heights, slots and counts."""

from __future__ import annotations

from typing import Any

from porchain.consensus.ledger import REP
from porchain.consensus.modules import Rules
from porchain.consensus.pool_codes import BLOCK_POOL, FOR, KIND_NAMES, STATUS_NAMES
from porchain.consensus.salary import claimable_salary
from porchain.crypto.keys import to_checksum_address
from porchain.equivocations import Equivocation
from porchain.errors import InvalidTransaction
from porchain.rpc.params import hex0x
from porchain.state.objects import Account, Pool
from porchain.state.state import State
from porchain.types.blocks import Block, Header
from porchain.types.transactions import Transaction, kind_name


def header_json(header: Header, genesis_time_ms: int, slot_ms: int) -> dict[str, Any]:
    return {
        "hash": hex0x(header.hash),
        "number": header.number,
        "slot": header.slot,
        "timestamp_ms": genesis_time_ms + header.slot * slot_ms,
        "parent_hash": hex0x(header.parent_hash),
        "producer": to_checksum_address(header.producer),
        "state_root": hex0x(header.state_root),
        "tx_root": hex0x(header.tx_root),
        "wsc_id": header.wsc_id,
        "extra": hex0x(header.extra),
        "signature": hex0x(header.signature),
    }


def block_json(
    block: Block, rules: Rules, genesis_time_ms: int, slot_ms: int, *, full: bool
) -> dict[str, Any]:
    out = header_json(block.header, genesis_time_ms, slot_ms)
    out["size"] = block.size
    out["fees"] = str(sum(tx.fee for tx in block.transactions))
    out["tx_count"] = len(block.transactions)
    out["transactions"] = [
        tx_json(tx, rules) if full else hex0x(tx.hash) for tx in block.transactions
    ]
    return out


def tx_json(tx: Transaction, rules: Rules) -> dict[str, Any]:
    try:
        handler = rules.handler(tx.kind)
        payload: Any = handler.describe(handler.decode(tx.payload))
    except InvalidTransaction:
        payload = None
    return {
        "hash": hex0x(tx.hash),
        "from": to_checksum_address(tx.sender),
        "chain_id": tx.chain_id,
        "nonce": tx.nonce,
        "kind": kind_name(tx.kind),
        "payload": payload,
        "fee": str(tx.fee),
        "size": tx.size,
        "raw": hex0x(tx.encoded),
    }


def account_json(state: State, address: bytes, account: Account, pending: int) -> dict[str, Any]:
    salary = claimable_salary(state, account)
    return {
        "address": to_checksum_address(address),
        "nonce": account.nonce,
        "next_nonce": account.nonce + pending,
        "balance": str(account.balance),
        "salary_claimable": str(salary),
        "spendable": str(account.balance + salary),
        "rep": str(account.rep),
        "rep_encumbered": str(account.rep_encumbered),
        "rep_pending": str(account.rep_pending),
        "rep_staked": str(account.rep_staked),
        "rep_staked_encumbered": str(account.rep_staked_encumbered),
        "asc_weight": str(account.asc_weight),
        "grep": str(account.grep),
        "grep_staked": str(account.grep_staked),
        "missed_slots": state.asc_member(address).missed,
        "unbonding": [
            {"epoch": u.epoch, "amount": str(u.amount)}
            for u in state.unbonding.entries
            if u.address == address
        ],
    }


def pool_json(pool: Pool, block_hash: bytes | None) -> dict[str, Any]:
    return {
        "id": pool.id,
        "kind": KIND_NAMES.get(pool.kind, str(pool.kind)),
        "token": "REP" if pool.token == REP else "gREP",
        "target": hex0x(pool.target),
        "block_number": int.from_bytes(pool.target, "big") if pool.kind == BLOCK_POOL else None,
        "block_hash": hex0x(block_hash) if block_hash else None,
        "author": to_checksum_address(pool.author),
        "status": STATUS_NAMES[pool.status],
        "opened_at": pool.opened_at,
        "closes_at": pool.closes_at,
        "resolved_at": pool.resolved_at or None,
        "quorum_ppm": pool.quorum_ppm,
        "win_ratio_ppm": pool.win_ratio_ppm,
        "binding_ppm": pool.binding_ppm,
        "fee": str(pool.fee),
        "author_minted": str(pool.author_minted),
        "unassigned_minted": str(pool.unassigned_minted),
        "for_total": str(pool.for_total),
        "against_total": str(pool.against_total),
        "burned": str(pool.burned),
        "stakes": [
            {
                "voter": to_checksum_address(s.voter),
                "side": "for" if s.side == FOR else "against",
                "amount": str(s.amount),
                "from_asc": str(s.encumbered),
                "bond": bool(s.bond),
                "returned": str(s.returned),
                "reward": str(s.reward),
            }
            for s in pool.stakes
        ],
    }


def equivocation_json(record: Equivocation, genesis_time_ms: int, slot_ms: int) -> dict[str, Any]:
    """The two headers as block headers are shown, each with its `raw` signed encoding (what an
    EVIDENCE transaction will carry)."""

    def shown(header: Header) -> dict[str, Any]:
        return {**header_json(header, genesis_time_ms, slot_ms), "raw": hex0x(header.encode())}

    first, second = record.headers()
    return {
        "producer": to_checksum_address(record.producer),
        "slot": record.slot,
        "seen_at_ms": record.seen_at_ms,
        "headers": [shown(first), shown(second)],
    }
