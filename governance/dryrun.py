"""`gov_dryRun`: what a signed POST would cost and do, without admitting it anywhere.

The transaction is checked as the mempool would check it on the node's pending state (so a
sender with transactions already pending can dry-run the next one). Its effects are then
played on a scratch copy of that state, never committed: the POST is applied by its own
handler (which opens its pool and mints the post's gREP), and the author share flows through
the citation graph as it would if members vote the post in. The answer lists each move of
that flow and what every author involved gains or loses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from governance import objects as o
from governance.forum import PostPayload
from governance.references import flow_value
from governance.views import params_diff, title_of
from porchain.consensus.modules import BlockContext, Rules, TxHandler
from porchain.consensus.transition import check_funds, check_nonce, validate_transaction_form
from porchain.crypto.keys import to_checksum_address
from porchain.rpc.errors import InvalidParams
from porchain.rpc.params import hex0x
from porchain.state.state import State
from porchain.types.blocks import Header
from porchain.types.transactions import Transaction, TxKind, kind_name

if TYPE_CHECKING:
    from porchain.node import Node

ZERO32 = b"\x00" * 32


def validate_pending(node: Node, state: State, tx: Transaction) -> tuple[TxHandler[Any], Any]:
    """`validate_transaction`, with the sender's pending transactions counted in: the nonce
    after them (or one of theirs, as a replacement) and the funds they already spend."""
    rules = node.chain.rules
    handler, payload = validate_transaction_form(state, tx, rules)
    account_nonce = state.account(tx.sender).nonce
    pending = [p for p in node.mempool.pending_from(tx.sender) if p.nonce != tx.nonce]
    if not account_nonce <= tx.nonce < account_nonce + len(pending) + 1:
        check_nonce(account_nonce + len(pending), tx.nonce)
    needed = tx.fee + handler.spends(state, payload)
    needed += sum(p.fee + _spends(rules, state, p) for p in pending)
    check_funds(state, tx.sender, needed, pending=len(pending))
    handler.validate(state, tx, payload)
    return handler, payload


def _spends(rules: Rules, state: State, tx: Transaction) -> int:
    handler = rules.handler(tx.kind)
    return handler.spends(state, handler.decode(tx.payload))


def dry_run(node: Node, raw: bytes) -> dict[str, Any]:
    tx = Transaction.decode(raw)
    if tx.kind != TxKind.POST:
        raise InvalidParams(f"gov_dryRun takes a signed POST transaction, not {kind_name(tx.kind)}")
    state = node.pending_state()
    handler, payload = validate_pending(node, state, tx)
    params = state.params
    changes = payload.changes()
    result: dict[str, Any] = {
        "hash": hex0x(tx.hash),
        "sender": to_checksum_address(tx.sender),
        "nonce": tx.nonce,
        "kind": o.KIND_NAMES[payload.kind],
        "title": payload.title.decode(),
        "fee": {
            "transaction": str(tx.fee),
            "post": str(params.post_fee),
            "total": str(tx.fee + params.post_fee),
        },
        "wsc_params": changes or None,
        "diff": params_diff(params, changes),
    }
    result["effects"] = simulate_acceptance(state, tx, handler, payload)
    return result


def reachable(state: State, payload: PostPayload, hops: int) -> set[bytes]:
    """The posts a flow from a new post with these citations can touch."""
    seen: set[bytes] = set()
    frontier = [c.post for c in payload.citations]
    for _ in range(hops):
        next_frontier = []
        for post_id in frontier:
            if post_id in seen or post_id == o.INCINERATOR_POST:
                continue
            seen.add(post_id)
            next_frontier += [c.post for c in o.post(state, post_id).citations]
        frontier = next_frontier
    return seen


def simulate_acceptance(
    state: State, tx: Transaction, handler: TxHandler[Any], payload: PostPayload
) -> dict[str, Any]:
    """Apply the POST to the scratch `state` and flow its author share as if accepted."""
    touched = reachable(state, payload, state.params.reference_chain_limit)
    authors = {a.address for a in payload.authors}
    for post_id in touched:
        authors |= {a.address for a in o.post(state, post_id).authors}
    grep_before = {address: state.account(address).grep for address in authors}
    value_before = {post_id: o.post(state, post_id).value for post_id in touched}
    ctx = BlockContext(Header(ZERO32, state.chain.number + 1, 0, b"", ZERO32, ZERO32, 0))
    handler.apply(state, tx, payload, ctx)
    created = o.post(state, tx.hash)
    pool = state.pool(created.pool_id)
    flow = flow_value(state, tx.hash, pool.author_minted)
    value_before = {tx.hash: 0, **dict(sorted(value_before.items()))}
    return {
        "minted": str(pool.author_minted + pool.unassigned_minted),
        "author_share": str(pool.author_minted),
        "voters_share": str(pool.unassigned_minted),
        "moves": [
            {
                "post": hex0x(move.post),
                "title": title_of(state, move.post),
                "depth": move.depth,
                "kind": move.kind,
                "amount": str(move.amount),
            }
            for move in flow.moves
        ],
        "accounts": [
            {
                "address": to_checksum_address(address),
                "grep_before": str(before),
                "grep_after": str(state.account(address).grep),
                "change": str(state.account(address).grep - before),
            }
            for address, before in sorted(grep_before.items())
            if state.account(address).grep != before
        ],
        "posts": [
            {
                "post": hex0x(post_id),
                "title": title_of(state, post_id),
                "value_before": str(before),
                "value_after": str(o.post(state, post_id).value),
                "change": str(o.post(state, post_id).value - before),
            }
            for post_id, before in value_before.items()
            if o.post(state, post_id).value != before
        ],
        "burned": str(flow.total("burned")),
    }
