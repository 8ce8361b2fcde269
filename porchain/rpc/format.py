"""JSON shapes of blocks, transactions and accounts: hex for bytes, decimal strings for amounts
(base units, 9 decimals), plain numbers for heights, slots and counts."""

from __future__ import annotations

from typing import Any

from porchain.consensus.modules import Rules
from porchain.consensus.salary import claimable_salary
from porchain.crypto.keys import to_checksum_address
from porchain.errors import InvalidTransaction
from porchain.state.objects import Account
from porchain.state.state import State
from porchain.types.blocks import Block, Header
from porchain.types.transactions import Transaction, kind_name


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


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
        "grep": str(account.grep),
        "grep_staked": str(account.grep_staked),
    }
