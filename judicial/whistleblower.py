"""The automatic whistleblower: an honest node turns what it sees into EVIDENCE by itself.

A node with a producer key that stores two headers one producer signed for one slot (in
gossip, in sync, as a side block: `on_equivocation`), or is given a block its producer signed
that fails validation on a canonical parent (`on_invalid_block`), signs an EVIDENCE transaction
with its key and sends it through its own mempool, like its duties. No operator acts.

Every honest node sees the same offence at about the same time, and only the first evidence
included is valid: the others would be dropped from their senders' mempools with the
transactions queued behind them (a reveal among them costs a penalty). So the nodes take turns:
each ranks the ASC members by keccak(offence id + address) and waits its rank in slots, unless
the offence is punished or evidence of it is pending in its mempool by then. The first in the
order sends at once; if it is offline, the next sends a slot later.

An offence stays queued until it is punished: evidence that leaves the mempool unincluded (a
transaction of ours before it expired, and took it along) is sent again, `MAX_ATTEMPTS` times at
most. Each offence is handled once (`max_remembered` kept), at most `max_queued` wait at a time,
and a node never accuses its own key (a Twins node sees its twin's blocks as its own equivocation).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from judicial.evidence import Evidence, find_offence, offence_id
from judicial.slashes import OFFENCE_NAMES
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import to_checksum_address
from porchain.duties import sign_duty
from porchain.errors import (
    BlockAlreadyKnown,
    ConflictsWithFinalized,
    DecodeError,
    FutureBlock,
    InvalidBlock,
    InvalidTransaction,
    SideBlocksFull,
    UnknownParent,
)
from porchain.plugins import NodePlugin
from porchain.state.state import State
from porchain.types.transactions import TxKind

if TYPE_CHECKING:
    from porchain.equivocations import Equivocation
    from porchain.node import Node
    from porchain.types.blocks import Block

log = logging.getLogger(__name__)

MAX_REMEMBERED = 1024  # offences already handled (sent, or found not worth sending)
MAX_QUEUED = 64  # offences waiting for this node's turn, or for its evidence to be included
MAX_ATTEMPTS = 3  # times one offence's evidence is sent
# refusals that say nothing about the block's validity
NOT_ABOUT_THE_BLOCK = (
    BlockAlreadyKnown,
    UnknownParent,
    FutureBlock,
    ConflictsWithFinalized,
    SideBlocksFull,
)


@dataclass(slots=True)
class Pending:
    producer: bytes
    slot: int
    evidence: Evidence
    seen_slot: int = 0  # when this node learned of it: its turn counts from there
    attempts: int = 0  # evidence sent; it leaves the mempool unincluded when a transaction
    # of ours before it does (a commit whose window passed): then it is sent again


def turn(offence: bytes, members: list[bytes], me: bytes) -> int:
    """This node's place in the order in which the ASC members send evidence of `offence`."""
    order = sorted(members, key=lambda member: keccak(offence + member))
    return order.index(me) if me in order else len(order)


class Whistleblower(NodePlugin):
    name = "judicial-whistleblower"

    def __init__(
        self, node: Node, *, max_remembered: int = MAX_REMEMBERED, max_queued: int = MAX_QUEUED
    ) -> None:
        super().__init__(node)
        self.max_remembered, self.max_queued = max_remembered, max_queued
        self.handled: OrderedDict[bytes, None] = OrderedDict()
        self.queued: OrderedDict[bytes, Pending] = OrderedDict()
        try:
            self.handler = node.chain.rules.handler(TxKind.EVIDENCE)
        except InvalidTransaction:  # rules without the judicial-evidence module
            self.handler = None

    # -- what the node saw -------------------------------------------------------------------

    def on_equivocation(self, found: Equivocation) -> None:
        try:
            a, b = found.headers()
        except DecodeError:
            return
        self.queue(Pending(found.producer, found.slot, Evidence.equivocation(a, b)))

    def on_invalid_block(self, block: Block, error: InvalidBlock) -> None:
        """Evidence of `block` if its producer signed it and it was refused on its own merits
        on a canonical parent (the evidence rules re-check all of it before it is sent)."""
        if isinstance(error, NOT_ABOUT_THE_BLOCK):
            return
        header = block.header
        try:
            if header.recover_producer() != header.producer:
                return
        except InvalidBlock:
            return
        chain = self.node.chain
        parent = chain.get_block(header.parent_hash)
        if parent is None or chain.get_canonical_hash(parent.number) != parent.hash:
            return
        evidence = Evidence.invalid_block(block, parent.number)
        self.queue(Pending(header.producer, header.slot, evidence))

    def queue(self, pending: Pending) -> None:
        me = self.node.address
        if me is None or self.handler is None or pending.producer == me:
            return
        offence = offence_id(pending.producer, pending.slot)
        if offence in self.handled or offence in self.queued:
            return
        if len(self.queued) >= self.max_queued:
            log.debug("evidence queue full: slot %d not reported", pending.slot)
            return
        pending.seen_slot = self.node.clock.current_slot()
        self.queued[offence] = pending

    # -- sending -----------------------------------------------------------------------------

    def on_new_head(self, head: Block) -> None:
        self.send_due()

    def on_slot(self, slot: int) -> None:
        self.send_due()

    def send_due(self) -> None:
        """Send what is our turn to send; forget what is punished, or sent too often."""
        if not self.queued or self.node.key is None:
            return
        state = self.node.pending_state()
        members = state.asc_members.addresses
        now = self.node.clock.current_slot()
        for offence, pending in list(self.queued.items()):
            if find_offence(state, pending.producer, pending.slot) is not None:
                self.done(offence)
            elif self.in_mempool(pending):
                continue
            elif pending.attempts >= MAX_ATTEMPTS:
                self.done(offence)
            elif now >= pending.seen_slot + turn(offence, members, self.node.key.address):
                pending.attempts += 1
                if not self.send(state, pending):
                    self.done(offence)

    def in_mempool(self, pending: Pending) -> bool:
        """Whether evidence of the offence (ours or a peer's) waits in our mempool."""
        assert self.handler is not None
        for tx in self.node.mempool.candidates():
            if tx.kind != TxKind.EVIDENCE:
                continue
            try:
                proof = self.handler.decode(tx.payload)
            except InvalidTransaction:
                continue
            if (proof.producer, proof.slot) == (pending.producer, pending.slot):
                return True
        return False

    def send(self, state: State, pending: Pending) -> bool:
        node = self.node
        assert node.key is not None
        nonce = state.account(node.key.address).nonce + node.mempool.pending_count(node.key.address)
        tx = sign_duty(node.key, state, nonce, TxKind.EVIDENCE, pending.evidence.to_rlp())
        what = OFFENCE_NAMES[pending.evidence.kind]
        producer = to_checksum_address(pending.producer)
        try:
            node.receive_transaction(tx)
        except InvalidTransaction as exc:
            log.info("no evidence of %s by %s at slot %d: %s", what, producer, pending.slot, exc)
            return False
        log.warning(
            "sent evidence of %s by %s at slot %d tx=0x%s",
            what,
            producer,
            pending.slot,
            tx.hash.hex()[:16],
        )
        return True

    def done(self, offence: bytes) -> None:
        self.queued.pop(offence, None)
        self.handled[offence] = None
        while len(self.handled) > self.max_remembered:
            self.handled.popitem(last=False)
