"""State: O(changed entries) commits, deletion of empty objects, undo journals, salaries."""

from __future__ import annotations

import pytest

from porchain.chain import Chain
from porchain.consensus.modules import BlockContext
from porchain.consensus.salary import claimable_salary, settle_salary
from porchain.consensus.transition import process_fees
from porchain.constants import INCINERATOR, SALARY_INDEX_SCALE
from porchain.crypto.hashing import ZERO_HASH
from porchain.db import Database, MemoryDB, WriteBatch, schema
from porchain.errors import DatabaseError
from porchain.genesis import Allocation, Genesis
from porchain.params import WSCParams
from porchain.state.lthash import LtHash
from porchain.state.objects import Account, ActiveWsc, Pool, Stake, Supply
from porchain.state.state import (
    State,
    decode_journal,
    encode_journal,
    load_lthash,
    undo_journal,
)
from tests.factories import (
    CHAIN_ID,
    GENESIS_TIME_MS,
    KEYS,
    accounts,
    dollars,
    extend,
    make_genesis,
    new_chain,
    state_entries,
    transfer,
)

A, B, C, D = (k.address for k in KEYS[:4])


class RecordingBatch(WriteBatch):
    """A write batch that only records, so a test sees exactly what a commit writes."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.writes[key] if key in self.writes else self.db.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        self.writes[key] = None


def commit(state: State, db: Database) -> tuple[bytes, list]:
    with db.atomic_batch() as batch:
        return state.commit(batch)


def from_scratch_root(db: Database) -> bytes:
    return LtHash.of(state_entries(db)).root()


@pytest.fixture
def db() -> Database:
    """A database holding three accounts and a supply entry."""
    db = MemoryDB()
    state = State(db)
    for i, address in enumerate((A, B, C)):
        state.account(address).balance = 100 * (i + 1)
    state.supply.dollars = 600
    commit(state, db)
    return db


# -- commit -------------------------------------------------------------------------------------


def test_commit_writes_only_changed_entries(db: Database) -> None:
    state = State(db)
    for address in (A, B, C, D):
        state.account(address)  # read, not changed
    state.supply  # noqa: B018
    state.account(B).balance += 1
    touched = state.account(C)
    touched.balance += 5
    touched.balance -= 5  # changed and changed back: nothing to write
    batch = RecordingBatch(db)
    state.commit(batch)
    assert set(batch.writes) == {
        schema.state_db_key(schema.account_state_key(B)),
        schema.LTHASH_KEY,
    }
    assert Account.decode(batch.writes[schema.state_db_key(schema.account_state_key(B))]) == (
        Account(balance=201)
    )


def test_commit_without_changes_keeps_the_root(db: Database) -> None:
    before = load_lthash(db).root()
    state = State(db)
    state.account(A)
    state.account(D)
    assert state.changes() == []
    root, journal = commit(state, db)
    assert root == before
    assert journal == []


def test_root_is_the_commit_root_and_matches_a_full_rehash(db: Database) -> None:
    state = State(db)
    state.account(A).balance = 7
    state.account(D).nonce = 1
    state.supply.dollars_burned = 3
    preview = state.root()
    assert db.get(schema.state_db_key(schema.account_state_key(D))) is None  # root() writes nothing
    root, _ = commit(state, db)
    assert root == preview == from_scratch_root(db)
    assert root == load_lthash(db).root()


def test_empty_objects_are_deleted(db: Database) -> None:
    state = State(db)
    state.account(A).balance = 0
    state.account(D).rep_index = 123  # bookkeeping alone does not make an account exist
    root, journal = commit(state, db)
    assert db.get(schema.state_db_key(schema.account_state_key(A))) is None
    assert db.get(schema.state_db_key(schema.account_state_key(D))) is None
    assert set(accounts(db)) == {B, C}
    assert root == from_scratch_root(db)
    assert journal == [(schema.account_state_key(A), Account(balance=100).encode())]


def test_a_committed_state_keeps_going_from_its_new_base(db: Database) -> None:
    state = State(db)
    state.account(A).balance = 1
    commit(state, db)
    state.account(B).balance = 2  # the same State object, one more "block"
    batch = RecordingBatch(db)
    _, journal = state.commit(batch)
    assert set(batch.writes) == {
        schema.state_db_key(schema.account_state_key(B)),
        schema.LTHASH_KEY,
    }
    assert [key for key, _ in journal] == [schema.account_state_key(B)]
    assert State(db).account(A).balance == 1


def test_corrupt_entry_is_a_database_error(db: Database) -> None:
    db.put(schema.state_db_key(schema.account_state_key(A)), b"\x01\x02")
    with pytest.raises(DatabaseError, match="corrupt state entry"):
        State(db).account(A)


def test_reads_are_independent_copies_of_one_cached_decoding(db: Database) -> None:
    first, second = State(db), State(db)
    first.account(A).balance = 999
    assert second.account(A).balance == 100  # the first view's change is its own
    assert State(db).account(A) == Account(balance=100)


def test_record_copy_copies_nested_lists() -> None:
    pool = Pool(id=3, stakes=[Stake(voter=A, amount=5)])
    twin = pool.copy()
    twin.stakes[0].amount = 6
    twin.stakes.append(Stake(voter=B))
    assert pool == Pool(id=3, stakes=[Stake(voter=A, amount=5)])
    assert twin.stakes[0].voter is pool.stakes[0].voter  # bytes are immutable: shared


def test_a_fork_reads_its_parent_and_changes_apart(db: Database) -> None:
    parent = State(db)
    parent.account(A).balance = 1
    parent.account(B).balance = 2
    one, two = parent.fork(), parent.fork()
    one.account(A).balance += 10
    assert (one.account(A).balance, two.account(A).balance, parent.account(A).balance) == (
        11,
        1,
        1,
    )
    assert one.account(C).balance == 300  # not read by the parent: from the database
    assert two.root() == parent.root()  # changes the fork never read count too
    assert sorted(two.changes()) == sorted(parent.changes())
    root, _ = commit(one, db)
    assert root == from_scratch_root(db)
    assert State(db).account(B).balance == 2 and State(db).account(A).balance == 11


# -- undo journal -------------------------------------------------------------------------------


def test_undo_journal_restores_root_and_values(db: Database) -> None:
    before_root = load_lthash(db).root()
    before = state_entries(db)
    state = State(db)
    state.account(A).balance = 0  # deleted
    state.account(B).balance = 999  # changed
    state.account(D).balance = 5  # created
    state.supply.dollars += 304
    root, journal = commit(state, db)
    assert root != before_root
    restored = decode_journal(encode_journal(journal))
    assert restored == journal
    with db.atomic_batch() as batch:
        assert undo_journal(batch, restored) == before_root
    assert state_entries(db) == before
    assert load_lthash(db).root() == before_root == from_scratch_root(db)


def test_journal_encoding_keeps_absent_values_absent() -> None:
    journal = [(b"acct/x", None), (b"supply", Supply(dollars=5).encode())]
    assert decode_journal(encode_journal(journal)) == journal


# -- salaries -----------------------------------------------------------------------------------


def salary_chain() -> Chain:
    """A holds 300 REP (encumbered, it produces), B 100 free REP, C 5 gREP; nobody has `$`."""
    return new_chain(
        make_genesis(
            {
                KEYS[0]: {"rep_encumbered": "300"},
                KEYS[1]: {"rep": "100"},
                KEYS[2]: {"grep": "5"},
            }
        )
    )


def claims(chain: Chain, *addresses: bytes) -> list[int]:
    state = chain.state()
    return [claimable_salary(state, state.account(a)) for a in addresses]


def assert_conserved(chain: Chain) -> None:
    state = chain.state()
    balances = sum(a.balance for a in accounts(chain.db).values())
    assert state.supply.dollars == balances + state.salary.reserve
    claimable = sum(claimable_salary(state, a) for a in accounts(chain.db).values())
    assert 0 <= state.salary.reserve - claimable <= len(accounts(chain.db))


def test_fees_paid_to_rep_holders_pro_rata_and_dev_budget_to_grep() -> None:
    chain = salary_chain()
    extend(chain)  # subsidy 10 $: 1 $ to gREP, 9 $ to REP split 300:100
    state = chain.state()
    assert state.supply.dollars == dollars(10)
    assert state.salary.reserve == dollars(10)
    assert state.salary.rep_index == dollars(9) * SALARY_INDEX_SCALE // dollars(400)
    assert state.salary.grep_index == dollars(1) * SALARY_INDEX_SCALE // dollars(5)
    assert claims(chain, A, B, C, D) == [dollars("6.75"), dollars("2.25"), dollars(1), 0]
    assert_conserved(chain)

    # B spends its salary: it is settled into B's balance first, then the fee and amount leave.
    fee = dollars("0.01")
    extend(chain, [transfer(KEYS[1], D, dollars(1), nonce=0, fee=fee)])
    state = chain.state()
    assert state.account(B).balance == dollars("1.24")
    assert state.account(B).nonce == 1
    assert state.account(D).balance == dollars(1)
    # Block 2 pays out 10.01 $: 1.001 $ to gREP, 9.009 $ to REP (6.75675 and 2.25225).
    assert claims(chain, A, B, C, D) == [
        dollars("13.50675"),
        dollars("2.25225"),
        dollars("2.001"),
        0,
    ]
    assert state.supply.dollars == dollars(20)  # fees move `$`, only the subsidy mints it
    assert state.salary.reserve == dollars("17.76")
    assert state.supply.dollars_burned == 0
    assert_conserved(chain)


def test_settling_twice_pays_once() -> None:
    chain = salary_chain()
    extend(chain)
    state = chain.state()
    account = state.account(A)
    settle_salary(state, account)
    settle_salary(state, account)
    assert account.balance == dollars("6.75")
    assert state.salary.reserve == dollars("3.25")
    assert claimable_salary(state, account) == 0


def test_rounding_dust_stays_in_the_reserve() -> None:
    """7 REP base units cannot split 9 $ evenly: claims round down, the reserve keeps the rest."""
    chain = new_chain(
        make_genesis({KEYS[0]: {"rep_encumbered": "0.000000003"}, KEYS[1]: {"rep": "0.000000004"}})
    )
    for _ in range(3):
        extend(chain)
    index = chain.state().salary.rep_index
    assert index == 3 * (dollars(9) * SALARY_INDEX_SCALE // 7)
    assert claims(chain, A, B) == [3 * index // SALARY_INDEX_SCALE, 4 * index // SALARY_INDEX_SCALE]
    state = chain.state()
    assert state.salary.reserve == dollars(27)
    assert 0 < state.salary.reserve - sum(claims(chain, A, B)) <= 2
    assert state.supply.dollars_burned == dollars(3)  # nobody holds gREP: the dev budget burns
    assert_conserved(chain)


def fee_state(alloc: dict[bytes, Allocation]) -> State:
    """A state built from a genesis that skips the producer check (no REP at all is allowed)."""
    genesis = Genesis(CHAIN_ID, GENESIS_TIME_MS, WSCParams.preset("minimal"), alloc)
    state = State(MemoryDB(), LtHash())
    genesis.build_state(state)
    return state


def test_with_no_rep_holders_rep_fees_are_burned() -> None:
    state = fee_state({C: Allocation(balance=dollars(50), grep=dollars(5))})
    process_fees(state, BlockContext(make_genesis().header(ZERO_HASH), fees=dollars(2)))
    # 12 $ paid out (2 in fees already taken from balances, 10 minted): 1.2 to gREP, 10.8 burned.
    assert state.salary.rep_index == 0
    assert state.salary.grep_index == dollars("1.2") * SALARY_INDEX_SCALE // dollars(5)
    assert state.salary.reserve == dollars("1.2")
    assert state.supply.dollars_burned == dollars("10.8")
    assert state.supply.dollars == dollars(50) + dollars(10) - dollars("10.8")


def test_with_no_holders_at_all_everything_is_burned() -> None:
    state = fee_state({C: Allocation(balance=dollars(50))})
    process_fees(state, BlockContext(make_genesis().header(ZERO_HASH), fees=0))
    assert state.salary.reserve == 0
    assert state.supply.dollars_burned == dollars(10)
    assert state.supply.dollars == dollars(50)  # the subsidy was minted and burned


def test_chain_conserves_dollars_over_blocks_with_transfers_and_burns() -> None:
    chain = new_chain(
        make_genesis(
            {
                KEYS[0]: {"balance": "10", "rep_encumbered": "30"},
                KEYS[1]: {"balance": "100", "rep": "0.5", "grep": "1"},
                KEYS[2]: {"balance": "7"},
            }
        )
    )
    extend(chain, [transfer(KEYS[1], C, dollars(3), nonce=0)])
    extend(chain, [transfer(KEYS[2], INCINERATOR, dollars(2), nonce=0)])
    extend(chain, [transfer(KEYS[0], B, dollars(1), nonce=0), transfer(KEYS[1], A, 5, nonce=1)])
    state = chain.state()
    assert state.supply.dollars_burned == dollars(2)
    assert state.supply.dollars == dollars(117) + 3 * dollars(10) - dollars(2)
    assert INCINERATOR not in accounts(chain.db)
    assert_conserved(chain)


def test_params_follow_the_active_wsc_as_rules_change_it() -> None:
    """`params` is decoded once per WSC, but follows a new active WSC or a changed record."""
    state = new_chain().state()
    first = state.params
    assert state.params is first
    wider = first.replace(slot_ms=first.slot_ms * 2)
    state.wsc(state.wsc_id).params_json = wider.encode()
    assert state.params == wider
    state.wsc(state.wsc_id + 1).params_json = first.replace(slot_ms=70).encode()
    state.get(schema.ACTIVE_WSC_STATE_KEY, ActiveWsc).wsc_id += 1
    assert state.params.slot_ms == 70
    state.wsc(state.wsc_id).params_json = b""
    with pytest.raises(DatabaseError, match="state has no WSC"):
        state.params  # noqa: B018
