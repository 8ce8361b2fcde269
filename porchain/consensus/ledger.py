"""REP and gREP bookkeeping: the only functions that change who owns how much reputation.

Every change of an account's salary weight settles its salary first and keeps the supply totals
exact: `supply.rep` is the sum of every account's REP weight, `supply.rep_pooled` what pools hold
for nobody yet, and `supply.rep + supply.rep_pooled == genesis REP + minted - burned`.
Likewise for gREP. A `Ledger` gives validation pools one interface over both tokens.
"""

from __future__ import annotations

from porchain.consensus.salary import settle_salary
from porchain.constants import INCINERATOR
from porchain.params import PPM
from porchain.state.state import State

REP = 0
GREP = 1


class Ledger:
    """One token's stakes, payouts, mints and burns, as validation pools use them."""

    token = REP
    name = "REP"

    def total(self, state: State) -> int:
        """The supply that quorums are measured against: what accounts own."""
        return state.supply.rep

    def available(self, state: State, address: bytes) -> int:
        """What the account can stake now."""
        account = state.account(address)
        return account.rep + account.rep_encumbered

    def stake(self, state: State, address: bytes, amount: int, *, bond: bool = False) -> int:
        """Move `amount` into a pool stake, free REP first (a producer's bond: all from the
        ASC); return the part taken from the ASC.

        The account still owns a stake, so its salary weight does not change.
        """
        account = state.account(address)
        from_free = 0 if bond else min(account.rep, amount)
        from_asc = amount - from_free
        account.rep -= from_free
        account.rep_encumbered -= from_asc
        account.rep_staked += amount
        account.rep_staked_encumbered += from_asc
        return from_asc

    def unstake(self, state: State, address: bytes, amount: int, encumbered: int, returned: int):
        """End a stake of `amount`; `returned` of it comes back, to free REP and to the ASC in
        the proportions it was taken. What is not returned passes to the pool."""
        account = state.account(address)
        settle_salary(state, account)
        back_to_asc = encumbered * returned // amount if amount else 0
        account.rep_staked -= amount
        account.rep_staked_encumbered -= encumbered
        account.rep_encumbered += back_to_asc
        account.rep += returned - back_to_asc
        lost = amount - returned
        state.supply.rep -= lost
        state.supply.rep_pooled += lost
        if back_to_asc:
            join_asc(state, address)

    def mint_to_pool(self, state: State, amount: int) -> None:
        state.supply.rep_minted += amount
        state.supply.rep_pooled += amount

    def pay_from_pool(self, state: State, address: bytes, amount: int) -> None:
        """Credit pool-held REP to an account as free REP (the incinerator burns it)."""
        state.supply.rep_pooled -= amount
        if address == INCINERATOR:
            state.supply.rep_burned += amount
            return
        account = state.account(address)
        settle_salary(state, account)
        account.rep += amount
        state.supply.rep += amount

    def burn_from_pool(self, state: State, amount: int) -> None:
        state.supply.rep_pooled -= amount
        state.supply.rep_burned += amount


class GrepLedger(Ledger):
    token = GREP
    name = "gREP"

    def total(self, state: State) -> int:
        return state.supply.grep

    def available(self, state: State, address: bytes) -> int:
        return state.account(address).grep

    def stake(self, state: State, address: bytes, amount: int, *, bond: bool = False) -> int:
        account = state.account(address)
        account.grep -= amount
        account.grep_staked += amount
        return 0

    def unstake(self, state: State, address: bytes, amount: int, encumbered: int, returned: int):
        account = state.account(address)
        settle_salary(state, account)
        account.grep_staked -= amount
        account.grep += returned
        state.supply.grep -= amount - returned
        state.supply.grep_pooled += amount - returned

    def mint_to_pool(self, state: State, amount: int) -> None:
        state.supply.grep_minted += amount
        state.supply.grep_pooled += amount

    def pay_from_pool(self, state: State, address: bytes, amount: int) -> None:
        state.supply.grep_pooled -= amount
        if address == INCINERATOR:
            state.supply.grep_burned += amount
            return
        account = state.account(address)
        settle_salary(state, account)
        account.grep += amount
        state.supply.grep += amount

    def burn_from_pool(self, state: State, amount: int) -> None:
        state.supply.grep_pooled -= amount
        state.supply.grep_burned += amount


LEDGERS: dict[int, Ledger] = {REP: Ledger(), GREP: GrepLedger()}


def mint_rep(state: State, address: bytes, amount: int) -> None:
    """Mint free REP straight to an account (the WSC royalty)."""
    ledger = LEDGERS[REP]
    ledger.mint_to_pool(state, amount)
    ledger.pay_from_pool(state, address, amount)


def burn_encumbered_rep(state: State, address: bytes, amount: int) -> None:
    """Destroy `amount` of an account's (unstaked) encumbered REP: a penalty."""
    account = state.account(address)
    settle_salary(state, account)
    account.rep_encumbered -= amount
    state.supply.rep -= amount
    state.supply.rep_burned += amount


def slash_rep(state: State, address: bytes, ppm: int) -> int:
    """Take `ppm` of all the REP `address` owns, wherever it sits (free, encumbered, pending
    release, staked in open pools), into pool-held REP, and return the amount. The caller pays
    it out (`pay_from_pool`) or burns it (`burn_from_pool`).

    Each place loses the same share, rounded down. A stake shrinks in its pool, the part from
    the ASC in proportion, so the pool resolves on what is left of it.
    """
    account = state.account(address)
    settle_salary(state, account)
    free, encumbered = account.rep * ppm // PPM, account.rep_encumbered * ppm // PPM
    account.rep -= free
    account.rep_encumbered -= encumbered
    taken = free + encumbered
    queue = state.unbonding
    for entry in queue.entries:
        if entry.address == address:
            cut = entry.amount * ppm // PPM
            entry.amount -= cut
            account.rep_pending -= cut
            taken += cut
    queue.entries = [u for u in queue.entries if u.amount]
    for due in state.open_pools.due:
        pool = state.pool(due.pool_id)
        if pool.token != REP:
            continue
        for stake in pool.stakes:
            if stake.voter == address and stake.amount:
                cut = stake.amount * ppm // PPM
                cut_encumbered = stake.encumbered * ppm // PPM
                stake.amount -= cut
                stake.encumbered -= cut_encumbered
                account.rep_staked -= cut
                account.rep_staked_encumbered -= cut_encumbered
                taken += cut
    state.supply.rep -= taken
    state.supply.rep_pooled += taken
    return taken


def join_asc(state: State, address: bytes) -> None:
    members = state.asc_members.addresses
    if address not in members:
        members.append(address)
        members.sort()
