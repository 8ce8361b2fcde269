"""Automatic jurors (PROTOCOL section 11): a node drawn onto a jury votes by itself.

After each new head, for every open case its key sits on, the node sends its JURY_COMMIT in the
commit phase and its JURY_REVEAL in the reveal phase, through its own mempool like its other
duties. It votes GUILTY iff, by its own first-seen log, every accused transaction met the
censorship rule of section 9 for the accused block: first from the verdict it recorded when
that block became its head (porchain.verdicts), else by judging the block again now on the
block's post-state, with the transactions it can still find (mempool, or a later block).

The vote and salt are chosen when committing and written to the node's database before the
commitment is sent, so a restart between commit and reveal reveals the same ballot.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from judicial import cases as c
from judicial.court import JuryBallot, JuryCommitment
from porchain.censorship import censored_transactions
from porchain.db import schema
from porchain.plugins import NodePlugin
from porchain.state.past import StateUnavailable, state_at
from porchain.state.state import State
from porchain.types.blocks import Block
from porchain.types.codec import encode_uint
from porchain.types.transactions import Transaction, TxKind
from porchain.verdicts import read_verdict

if TYPE_CHECKING:
    from porchain.node import Node

log = logging.getLogger(__name__)

MAX_BALLOTS_READ = 64  # stored ballots looked at per head: more than the open cases we can sit on


class AutomaticJuror(NodePlugin):
    name = "judicial-jurors"

    def __init__(self, node: Node, new_salt: Callable[[int], bytes] | None = None) -> None:
        super().__init__(node)
        # A fresh secret per case; a simulation may pass a seeded one so its runs repeat.
        self.new_salt = new_salt or (lambda case_id: secrets.token_bytes(32))

    def on_new_head(self, head: Block) -> None:
        key = self.node.key
        if key is None:
            return
        state = self.node.chain.state()
        pending = self.node.mempool.pending_from(key.address)
        for case_id in c.court(state).open_cases:
            the_case = c.case(state, case_id)
            juror = c.juror_of(the_case, key.address)
            if juror is None or awaiting(pending, case_id):
                continue
            if the_case.phase == c.COMMIT and not juror.commitment:
                vote, salt = self.ballot(the_case)
                commitment = c.ballot_commitment(vote, salt, key.address, case_id)
                log.info("juror on case #%d sends its commitment at #%d", case_id, head.number)
                self.node._send_duty(
                    TxKind.JURY_COMMIT, JuryCommitment(case_id, commitment).to_rlp()
                )
            elif the_case.phase == c.REVEAL and juror.commitment and juror.vote == c.NO_VOTE:
                stored = self.stored_ballot(case_id)
                if stored is None:
                    log.warning("case #%d: no stored ballot to reveal (database lost?)", case_id)
                    continue
                log.info("juror on case #%d reveals its ballot at #%d", case_id, head.number)
                self.node._send_duty(TxKind.JURY_REVEAL, JuryBallot(case_id, *stored).to_rlp())
        self.forget_closed(state)

    def forget_closed(self, state: State) -> None:
        """Drop the stored ballots of closed cases: one per case we sit on, while it is open."""
        db = self.node.chain.db
        stored = list(itertools.islice(db.iterate(schema.JURY_BALLOT_PREFIX), MAX_BALLOTS_READ))
        for key, _ in stored:
            case_id, _juror = schema.split_jury_ballot_key(key)
            if c.case(state, case_id).phase == c.CLOSED:
                db.delete(key)

    def ballot(self, the_case: c.Case) -> tuple[int, bytes]:
        """The vote and salt for `the_case`: stored ones, else decided now and stored."""
        stored = self.stored_ballot(the_case.id)
        if stored is not None:
            return stored
        vote = judge_case(self.node, the_case)
        salt = self.new_salt(the_case.id)
        assert self.node.key is not None
        self.node.chain.db.put(
            schema.jury_ballot_key(the_case.id, self.node.key.address), bytes([vote]) + salt
        )
        log.info(
            "juror on case #%d votes %s (block #%d, %d transaction(s))",
            the_case.id,
            c.VOTE_NAMES[vote],
            the_case.block_number,
            len(the_case.txs),
        )
        return vote, salt

    def stored_ballot(self, case_id: int) -> tuple[int, bytes] | None:
        assert self.node.key is not None
        raw = self.node.chain.db.get(schema.jury_ballot_key(case_id, self.node.key.address))
        return None if raw is None else (raw[0], raw[1:])


def awaiting(pending: list[Transaction], case_id: int) -> bool:
    """Whether a ballot of ours for the case is already waiting in the mempool."""
    kinds = (TxKind.JURY_COMMIT, TxKind.JURY_REVEAL)
    return any(
        tx.kind in kinds and tx.payload and tx.payload[0] == encode_uint(case_id) for tx in pending
    )


def judge_case(node: Node, the_case: c.Case) -> int:
    """GUILTY iff every accused transaction was censored by the block, by our own log."""
    block = node.chain.get_block(the_case.block_hash)
    if block is None:
        return c.NOT_GUILTY
    censored = censored_by_our_log(node, block, the_case.txs)
    return c.GUILTY if all(h in censored for h in the_case.txs) else c.NOT_GUILTY


def censored_by_our_log(node: Node, block: Block, tx_hashes: list[bytes]) -> set[bytes]:
    """Which of `tx_hashes` `block` censored: from our verdict on it, else judged again."""
    verdict = read_verdict(node.chain.db, block.number, block.hash)
    found = {entry.tx_hash for entry in verdict.censored} if verdict is not None else set()
    missing = [h for h in tx_hashes if h not in found]
    if missing:
        found |= judged_again(node, block, missing)
    return found


def judged_again(node: Node, block: Block, tx_hashes: list[bytes]) -> set[bytes]:
    """The censorship rule applied now to `block` (canonical, its post-state still served) and
    the named transactions we can still find; what we cannot check is not censored."""
    if node.chain.get_canonical_hash(block.number) != block.hash:
        return set()
    try:
        state_at(node.chain, block.number)
    except StateUnavailable:
        return set()
    txs = [tx for h in tx_hashes if (tx := find_transaction(node, h)) is not None]
    censored = censored_transactions(
        block,
        lambda: state_at(node.chain, block.number),
        txs,
        node.first_seen.get,
        node.clock.slot_start_ms(block.slot),
        node.chain.rules,
    )
    return {tx.hash for tx in censored}


def find_transaction(node: Node, tx_hash: bytes) -> Transaction | None:
    pending = node.mempool.get(tx_hash)
    if pending is not None:
        return pending
    location = node.chain.get_tx_location(tx_hash)
    if location is None:
        return None
    block = node.chain.get_block(location.block_hash)
    return None if block is None else block.transactions[location.index]
