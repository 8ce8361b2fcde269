"""A scenario's load: `transfers_per_slot` transfers each slot, early in the slot (SEND_AT),
each from a sender drawn from `senders` to another dev account, sent to a node drawn per
transfer (as a user picks an RPC endpoint). Draws come from the run's seed. A transfer the node
refuses (its sender's queue is full for now) is counted as refused, not retried: the next slot
draws again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import trio

from porchain.consensus.transfer import Transfer
from porchain.crypto.keys import PrivateKey
from porchain.errors import InvalidTransaction
from porchain.node import Node
from porchain.sim import seeds
from porchain.sim.scenario import LoadModel
from porchain.types.transactions import TxKind
from porchain.wallet import sign_transaction

SEND_AT = 0.2  # of a slot: early, so peers have seen them by the censor grace of the next


@dataclass
class LoadCounts:
    sent: int = 0
    refused: int = 0


async def send_load(
    model: LoadModel,
    accounts: dict[str, PrivateKey],
    nodes: Callable[[], list[Node]],
    seed: int,
    counts: LoadCounts,
) -> None:
    """Send the load from slot 1 on, to the nodes running at each moment, until cancelled."""
    if not model.transfers_per_slot or not nodes():
        return
    draw = seeds.rng(seed, "load")
    names = list(accounts)
    params = nodes()[0].chain.state().params
    slot_s = params.slot_ms / 1000
    slot = 1
    while True:
        await trio.sleep_until((slot + SEND_AT) * slot_s)
        running = nodes()
        for _ in range(model.transfers_per_slot):
            sender = draw.choice(model.senders)
            recipient = draw.choice([n for n in names if n != sender] or names)
            node = draw.choice(running) if running else None
            if node is None:
                counts.refused += 1
                continue
            key = accounts[sender]
            state = node.pending_state()
            nonce = state.account(key.address).nonce + node.mempool.pending_count(key.address)
            tx = sign_transaction(
                key,
                chain_id=state.chain.chain_id,
                nonce=nonce,
                kind=TxKind.TRANSFER,
                payload=Transfer(accounts[recipient].address, model.amount).to_rlp(),
                params=state.params,
            )
            try:
                node.submit_transaction(tx.encoded)
            except InvalidTransaction:
                counts.refused += 1
                continue
            counts.sent += 1
        slot += 1
