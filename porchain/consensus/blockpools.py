"""Executive governance: every block opens a validation pool, and accepted pools finalize.

At the end of each block, a pool opens on it: it mints REP for the block's fees plus subsidy,
sets aside the WSC royalty, and takes the producer's bond from the ASC as a
FOR stake (PROTOCOL section 8). At the start of each block, pools whose duration has passed
resolve; a block pool accepted with quorum makes its block, and every ancestor, final.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from porchain.consensus.ledger import REP, mint_rep
from porchain.consensus.modules import BlockContext, Module, TxHandler
from porchain.consensus.pool_codes import ACCEPTED, BLOCK_POOL, FOR
from porchain.consensus.pools import PoolTerms, VoteHandler, add_stake, open_pool
from porchain.constants import INCINERATOR, PPM
from porchain.db.schema import block_pool_state_key
from porchain.state.objects import Pool, PoolRef
from porchain.state.state import State


def block_pool_terms(state: State) -> PoolTerms:
    params = state.params
    return PoolTerms(
        duration=params.block_pool_duration,
        quorum_ppm=params.block_quorum_ppm,
        win_ratio_ppm=params.block_win_ratio_ppm,
        binding_ppm=params.block_binding_ppm,
        author_share_ppm=params.author_share_ppm,
    )


def wsc_author(state: State) -> bytes:
    return state.wsc(state.wsc_id).author or INCINERATOR


def pay_royalty(state: State, amount: int, modules: Iterable[Module]) -> None:
    """Mint the WSC royalty: through the module that routes it (governance sends it down the
    citation graph of the active WSC's post), else to the WSC's author (burned if none)."""
    if not any(module.route_royalty(state, amount) for module in modules):
        mint_rep(state, wsc_author(state), amount)


def open_block_pool(state: State, ctx: BlockContext) -> None:
    params = state.params
    header = ctx.header
    fees = ctx.fees + params.subsidy
    minted = fees * params.mint_ratio
    royalty = minted * params.wsc_royalty_ppm // PPM
    ctx.royalty += royalty
    pool = open_pool(
        state,
        kind=BLOCK_POOL,
        token=REP,
        target=header.number.to_bytes(8, "big"),
        author=header.producer,
        fee=fees,
        minted=minted - royalty,
        terms=block_pool_terms(state),
        opened_at=header.number,
    )
    bond = state.account(header.producer).rep_encumbered * params.producer_bond_ppm // PPM
    if bond:
        add_stake(state, pool, header.producer, FOR, bond, bond=True)
    state.set(block_pool_state_key(header.number), PoolRef(pool.id))


def finalizing_weight(state: State, pool: Pool) -> int:
    """The REP owned by the accounts that staked FOR on the pool (each counted once)."""
    voters = {s.voter for s in pool.stakes if s.side == FOR}
    return sum(state.account(voter).rep_weight for voter in voters)


def finalize_accepted_block(state: State, pool: Pool) -> None:
    """A block pool accepted with quorum, whose FOR voters own `finality_ppm` of all REP, makes
    its block final, and every ancestor with it."""
    if pool.kind != BLOCK_POOL or pool.status != ACCEPTED:
        return
    if finalizing_weight(state, pool) * PPM < state.params.finality_ppm * state.supply.rep:
        return
    state.chain.finalized = max(state.chain.finalized, int.from_bytes(pool.target, "big"))


class BlockPoolsModule(Module):
    name = "pools"

    def handlers(self) -> list[TxHandler[Any]]:
        return [VoteHandler()]

    def pool_resolved(self, state: State, pool: Pool) -> None:
        finalize_accepted_block(state, pool)

    def end_block(self, state: State, ctx: BlockContext) -> None:
        open_block_pool(state, ctx)
