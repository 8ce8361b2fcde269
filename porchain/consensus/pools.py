"""Validation pools (VPSC, PROTOCOL section 8): generic over the token they mint and weigh.

A pool is opened on a target with a `$` fee; it mints `fee * mint_ratio` of its token, stakes the
author's share FOR in the author's name and the rest AGAINST, unassigned. Members stake with VOTE
while it is open. At the first block past its duration it resolves: quorum, win ratio, then the
losers' stakes (their `binding_ppm` part) and the minted shares are redistributed pro rata to the
winners. Rounding remainders and shares with nobody to take them go to the incinerator, so that
what a pool mints is always exactly what it credits plus what it burns.

Governance cannot die (the revival rule): once no gREP pool has reached quorum for
`gov_revival_blocks` blocks, a post pool that misses quorum is `revived` instead of burning its
mint: every stake comes back and the whole mint goes to the post, so whoever pays a post fee
holds gREP again, even when the supply fell to 0 or every holder lost its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from porchain.consensus.ledger import GREP, LEDGERS, Ledger
from porchain.consensus.modules import BlockContext, TxHandler
from porchain.consensus.pool_codes import (
    ACCEPTED,
    AGAINST,
    FOR,
    NO_QUORUM,
    OPEN,
    POST_POOL,
    REJECTED,
    REVIVED,
)
from porchain.constants import PPM
from porchain.crypto.keys import to_checksum_address
from porchain.db.schema import pool_state_key
from porchain.errors import DecodeError, InvalidTransaction
from porchain.state.objects import Pool, PoolDue, Stake
from porchain.state.state import State
from porchain.types.codec import RLPItem, decode_list, decode_uint, encode_uint
from porchain.types.transactions import Transaction, TxKind
from porchain.units import format_amount


@dataclass(frozen=True, slots=True)
class PoolTerms:
    duration: int
    quorum_ppm: int
    win_ratio_ppm: int
    binding_ppm: int
    author_share_ppm: int


def open_pool(
    state: State,
    *,
    kind: int,
    token: int,
    target: bytes,
    author: bytes,
    fee: int,
    minted: int,
    terms: PoolTerms,
    opened_at: int,
) -> Pool:
    """Open a pool holding `minted` new tokens: the author's share FOR, the rest AGAINST."""
    open_pools = state.open_pools
    open_pools.next_id += 1
    author_minted = minted * terms.author_share_ppm // PPM
    pool = Pool(
        id=open_pools.next_id,
        kind=kind,
        token=token,
        target=target,
        author=author,
        opened_at=opened_at,
        closes_at=opened_at + terms.duration,
        quorum_ppm=terms.quorum_ppm,
        win_ratio_ppm=terms.win_ratio_ppm,
        binding_ppm=terms.binding_ppm,
        fee=fee,
        author_minted=author_minted,
        unassigned_minted=minted - author_minted,
    )
    LEDGERS[token].mint_to_pool(state, minted)
    state.set(pool_state_key(pool.id), pool)
    open_pools.due.append(PoolDue(pool.closes_at, pool.id))
    open_pools.due.sort(key=lambda d: (d.closes_at, d.pool_id))
    return pool


def add_stake(
    state: State, pool: Pool, voter: bytes, side: int, amount: int, *, bond: bool = False
):
    encumbered = LEDGERS[pool.token].stake(state, voter, amount, bond=bond)
    pool.stakes.append(Stake(voter, side, amount, encumbered, int(bond)))


def pool_outcome(pool: Pool, supply: int) -> int:
    """ACCEPTED, REJECTED or NO_QUORUM, from the stakes and the token's supply."""
    members = sum(s.amount for s in pool.stakes)
    if supply == 0 or members * PPM < pool.quorum_ppm * supply:
        return NO_QUORUM
    for_total = pool.author_minted + sum(s.amount for s in pool.stakes if s.side == FOR)
    against_total = pool.unassigned_minted + sum(s.amount for s in pool.stakes if s.side == AGAINST)
    if for_total * PPM >= pool.win_ratio_ppm * (for_total + against_total):
        return ACCEPTED
    return REJECTED


def is_governance_dormant(state: State, number: int) -> bool:
    """No gREP pool has reached quorum in the `gov_revival_blocks` blocks before `number`.

    On-chain, "the gREP that can still vote is too little to ever make quorum" (the supply is 0,
    or its holders lost their keys) cannot be told from "nobody cared for a while"; both look
    like this, and both are ended by the revival rule.
    """
    return number - state.grep_quorum.height > state.params.gov_revival_blocks


def resolution_outcome(state: State, pool: Pool, number: int) -> int:
    """The outcome of `pool` resolving at block `number`: `pool_outcome`, with revival."""
    outcome = pool_outcome(pool, LEDGERS[pool.token].total(state))
    if outcome == NO_QUORUM and pool.kind == POST_POOL and is_governance_dormant(state, number):
        return REVIVED
    return outcome


def return_stakes(state: State, ledger: Ledger, pool: Pool) -> None:
    for stake in pool.stakes:
        stake.returned = stake.amount
        ledger.unstake(state, stake.voter, stake.amount, stake.encumbered, stake.amount)


def resolve_pool(state: State, pool: Pool, number: int) -> None:
    """Settle every stake and minted share of `pool` at block `number`."""
    ledger = LEDGERS[pool.token]
    outcome = resolution_outcome(state, pool, number)
    pool.status, pool.resolved_at = outcome, number
    if pool.token == GREP and outcome in (ACCEPTED, REJECTED):
        state.grep_quorum.height = number
    pool.for_total = pool.author_minted + sum(s.amount for s in pool.stakes if s.side == FOR)
    pool.against_total = pool.unassigned_minted + sum(
        s.amount for s in pool.stakes if s.side == AGAINST
    )
    minted = pool.author_minted + pool.unassigned_minted
    if outcome == NO_QUORUM:
        return_stakes(state, ledger, pool)
        ledger.burn_from_pool(state, minted)
        pool.burned = minted
        return
    if outcome == REVIVED:  # the whole mint stays pooled, for the module that opened the pool
        return_stakes(state, ledger, pool)
        return
    winning_side = FOR if outcome == ACCEPTED else AGAINST
    pot = pool.unassigned_minted
    if outcome == ACCEPTED:
        if pool.author:  # a pool without an author leaves this to the module that opened it
            ledger.pay_from_pool(state, pool.author, pool.author_minted)
    else:
        pot += pool.author_minted
    for stake in pool.stakes:
        lost = 0 if stake.side == winning_side else stake.amount * pool.binding_ppm // PPM
        stake.returned = stake.amount - lost
        ledger.unstake(state, stake.voter, stake.amount, stake.encumbered, stake.returned)
        pot += lost
    winners = [s for s in pool.stakes if s.side == winning_side]
    winning_stake = sum(s.amount for s in winners)
    paid = 0
    for stake in winners:  # winning stakes a slash took to nothing share nothing: the pot burns
        stake.reward = pot * stake.amount // winning_stake if winning_stake else 0
        ledger.pay_from_pool(state, stake.voter, stake.reward)
        paid += stake.reward
    ledger.burn_from_pool(state, pot - paid)
    pool.burned = pot - paid


def process_due_pools(state: State, number: int) -> list[Pool]:
    """Resolve every open pool whose duration has passed at block `number`; return them."""
    open_pools = state.open_pools
    due = [d for d in open_pools.due if d.closes_at < number]
    open_pools.due = [d for d in open_pools.due if d.closes_at >= number]
    resolved = []
    for entry in due:
        pool = state.pool(entry.pool_id)
        resolve_pool(state, pool, number)
        resolved.append(pool)
    return resolved


# -- VOTE ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vote:
    pool_id: int
    side: int
    stake: int

    def to_rlp(self) -> list[RLPItem]:
        return [encode_uint(self.pool_id), encode_uint(self.side), encode_uint(self.stake)]


class VoteHandler(TxHandler[Vote]):
    kind = TxKind.VOTE

    def decode(self, payload: list[RLPItem]) -> Vote:
        try:
            items = decode_list(payload, 3, "VOTE payload")
            vote = Vote(
                decode_uint(items[0], "pool_id", 8),
                decode_uint(items[1], "side", 1),
                decode_uint(items[2], "stake", 16),
            )
        except DecodeError as exc:
            raise InvalidTransaction(f"malformed VOTE: {exc}") from None
        if vote.side not in (FOR, AGAINST):
            raise InvalidTransaction("VOTE side must be 1 (for) or 0 (against)")
        if vote.stake == 0:
            raise InvalidTransaction("VOTE stake must be positive")
        return vote

    def validate(self, state: State, tx: Transaction, payload: Vote) -> None:
        pool = state.pool(payload.pool_id)
        if pool.is_empty():
            raise InvalidTransaction(f"no pool #{payload.pool_id}")
        if pool.status != OPEN or state.chain.number > pool.closes_at:
            raise InvalidTransaction(
                f"pool #{pool.id} closed at block #{pool.closes_at} (now #{state.chain.number})"
            )
        if any(s.voter == tx.sender and not s.bond for s in pool.stakes):
            raise InvalidTransaction(f"already voted on pool #{pool.id}")
        ledger = LEDGERS[pool.token]
        available = ledger.available(state, tx.sender)
        if available < payload.stake:
            raise InvalidTransaction(
                f"cannot stake {format_amount(payload.stake)} {ledger.name}: "
                f"{to_checksum_address(tx.sender)} has {format_amount(available)} available"
            )

    def apply(self, state: State, tx: Transaction, payload: Vote, ctx: BlockContext) -> None:
        pool = state.pool(payload.pool_id)
        add_stake(state, pool, tx.sender, payload.side, payload.stake)

    def describe(self, payload: Vote) -> dict[str, Any]:
        side = "for" if payload.side == FOR else "against"
        return {"pool_id": payload.pool_id, "side": side, "stake": str(payload.stake)}
