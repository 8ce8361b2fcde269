"""What a node does for its own key, automatically: executive governance (PROTOCOL section 9).

- After each block it imports, it votes on the block's validation pool, staking
  `auto_vote_stake_ppm` of the REP it owns (capped by what is not already staked): AGAINST when
  the block censored a transaction by its own first-seen log, else FOR.
- In the first half of each epoch it commits to a fresh random salt (kept in its database, so a
  restart does not lose it), and in the second half it reveals it.
- At the start of each epoch it encumbers the free REP it earned, so its availability grows with
  its work (the seed's "REP used to run the client grows automatically") and REP released for
  missed slots returns to the ASC once unbonded.

The transactions go through the node's own mempool like any other, so the builder includes them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from porchain.consensus.beacon import EpochValue, commit_window, commitment_for, reveal_window
from porchain.consensus.modules import Rules
from porchain.consensus.pool_codes import AGAINST, FOR
from porchain.consensus.pools import Vote
from porchain.constants import PPM
from porchain.crypto.keys import PrivateKey
from porchain.db import schema
from porchain.db.abc import Database
from porchain.state.state import State
from porchain.types.codec import RLPItem
from porchain.types.transactions import Transaction, TxKind
from porchain.verdicts import ALREADY_VOTED, NO_POOL, NO_STAKE, POOL_CLOSED
from porchain.wallet import sign_transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoteDecision:
    pool_id: int
    side: int
    stake: int
    censored: tuple[Transaction, ...] = ()


def auto_vote_stake(state: State, address: bytes, already_pending: int) -> int:
    """`auto_vote_stake_ppm` of the REP the account owns, capped by what it can still stake."""
    account = state.account(address)
    owned = account.rep + account.rep_encumbered + account.rep_staked
    available = account.rep + account.rep_encumbered - already_pending
    return max(0, min(owned * state.params.auto_vote_stake_ppm // PPM, available))


def decide_vote(
    state: State, address: bytes, number: int, censored: list[Transaction], pending_stake: int
) -> VoteDecision | None:
    """How to vote on block `number`'s pool, seen from the head `state`; None: no vote."""
    if why_no_vote(state, address, number, pending_stake) is not None:
        return None
    stake = auto_vote_stake(state, address, pending_stake)
    side = AGAINST if censored else FOR
    return VoteDecision(state.block_pool_id(number), side, stake, tuple(censored))


def why_no_vote(state: State, address: bytes, number: int, pending_stake: int) -> str | None:
    """Why the key sends no vote on block `number`'s pool (None: it votes)."""
    pool_id = state.block_pool_id(number)
    if pool_id == 0:
        return NO_POOL
    pool = state.pool(pool_id)
    if state.chain.number >= pool.closes_at:  # a vote could no longer be included in time
        return POOL_CLOSED
    if any(s.voter == address and not s.bond for s in pool.stakes):
        return ALREADY_VOTED
    if auto_vote_stake(state, address, pending_stake) == 0:
        return NO_STAKE
    return None


def pending_vote_stake(pending: list[Transaction], rules: Rules) -> int:
    """REP already promised by the key's votes waiting in the mempool."""
    handler = rules.handler(TxKind.VOTE)
    return sum(handler.decode(tx.payload).stake for tx in pending if tx.kind == TxKind.VOTE)


class BeaconDuty:
    """Commit once per epoch in the commit window, reveal in the reveal window."""

    def __init__(
        self, db: Database, key: PrivateKey, new_salt: Callable[[int], bytes] | None = None
    ) -> None:
        self.db = db
        self.key = key
        # A fresh secret per epoch; a simulation passes a seeded one so its runs repeat.
        self.new_salt = new_salt or (lambda epoch: secrets.token_bytes(32))

    def salt(self, epoch: int) -> bytes:
        """The salt for `epoch`, created and stored (durably) on first use."""
        key = schema.beacon_salt_key(epoch)
        salt = self.db.get(key)
        if salt is None:
            salt = self.new_salt(epoch)
            self.db.put(key, salt)
        return salt

    def due(self, state: State, slot: int, pending: list[Transaction]) -> tuple[int, list] | None:
        """(kind, payload) of the beacon transaction due at `slot`, if any."""
        if state.account(self.key.address).asc_weight == 0:
            return None
        if any(tx.kind in (TxKind.COMMIT, TxKind.REVEAL) for tx in pending):
            return None
        epoch = slot // state.params.epoch_slots
        record = state.epoch_record(epoch)
        committed = any(c.address == self.key.address for c in record.commits)
        if slot in commit_window(state, epoch) and not committed:
            commitment = commitment_for(self.salt(epoch), self.key.address, epoch)
            return TxKind.COMMIT, EpochValue(epoch, commitment).to_rlp()
        revealed = any(r.address == self.key.address for r in record.reveals)
        if slot in reveal_window(state, epoch) and committed and not revealed:
            return TxKind.REVEAL, EpochValue(epoch, self.salt(epoch)).to_rlp()
        return None


MIN_ENCUMBER = 10**9  # 1 REP: smaller rewards wait for the next epoch


def encumber_due(
    state: State, address: bytes, slot: int, pending: list[Transaction], rules: Rules
) -> int:
    """Free REP to encumber at `slot` (0: nothing to do). Votes still pending take their stakes
    from free REP first, so what they will take is left free."""
    if slot % state.params.epoch_slots or any(tx.kind == TxKind.ENCUMBER for tx in pending):
        return 0
    free = state.account(address).rep - pending_vote_stake(pending, rules)
    return free if free >= MIN_ENCUMBER else 0


def sign_duty(
    key: PrivateKey, state: State, nonce: int, kind: int, payload: list[RLPItem]
) -> Transaction:
    return sign_transaction(
        key,
        chain_id=state.chain.chain_id,
        nonce=nonce,
        kind=kind,
        payload=payload,
        params=state.params,
    )


def vote_payload(decision: VoteDecision) -> list[RLPItem]:
    return Vote(decision.pool_id, decision.side, decision.stake).to_rlp()
