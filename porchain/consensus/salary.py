"""REP and gREP salaries in O(1) per block (PROTOCOL sections 2 and 7).

A block's fees and subsidy raise two global indexes ("`$` per REP unit", "`$` per gREP unit")
instead of paying every holder. An account's salary is its weight times the index growth since
its last settlement, and is settled into its `$` balance whenever its weight changes or it
transacts. Rounding down leaves dust in the salary reserve, so `$` is conserved exactly:
    supply.dollars == sum(account balances) + salary.reserve
"""

from __future__ import annotations

from porchain.constants import PPM, SALARY_INDEX_SCALE
from porchain.state.objects import Account
from porchain.state.state import State


def claimable_salary(state: State, account: Account) -> int:
    salary = state.salary
    return (
        account.rep_weight * (salary.rep_index - account.rep_index)
        + account.grep_weight * (salary.grep_index - account.grep_index)
    ) // SALARY_INDEX_SCALE


def spendable_balance(state: State, account: Account) -> int:
    return account.balance + claimable_salary(state, account)


def settle_salary(state: State, account: Account) -> None:
    """Move the account's accrued salary into its balance; call before its weight changes."""
    owed = claimable_salary(state, account)
    salary = state.salary
    if owed:
        account.balance += owed
        salary.reserve -= owed
    account.rep_index = salary.rep_index
    account.grep_index = salary.grep_index


def pay_rep_salary(state: State, amount: int) -> None:
    """Pay `amount` `$` (already in the supply) to REP holders; with none, it is burned."""
    state.salary.rep_index += _reserve_for_holders(state, amount, state.supply.rep)


def pay_grep_salary(state: State, amount: int) -> None:
    state.salary.grep_index += _reserve_for_holders(state, amount, state.supply.grep)


def _reserve_for_holders(state: State, amount: int, total_weight: int) -> int:
    """Move `amount` into the salary reserve and return the index increment it pays for."""
    if total_weight == 0:
        burn_dollars(state, amount)
        return 0
    state.salary.reserve += amount
    return amount * SALARY_INDEX_SCALE // total_weight


def burn_dollars(state: State, amount: int) -> None:
    state.supply.dollars -= amount
    state.supply.dollars_burned += amount


def distribute_block_fees(state: State, fees: int) -> None:
    """Fees plus subsidy: `dev_budget_ppm` to gREP holders, the rest to REP holders."""
    dev_budget = fees * state.params.dev_budget_ppm // PPM
    pay_grep_salary(state, dev_budget)
    pay_rep_salary(state, fees - dev_budget)
