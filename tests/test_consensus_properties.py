"""Conservation and safety of the full core rules over random sequences of blocks.

Every example starts a chain (minimal preset, three or four producers holding encumbered and some
free REP, a few funded non-producers, maybe gREP and a WSC author) and grows it block by block:
each step jumps a random slot gap (usually a slot or two, sometimes over an epoch, sometimes a
long outage of many epochs) and fills the block, with the real builder, from random TRANSFER,
ENCUMBER, RELEASE, VOTE, COMMIT and REVEAL transactions, valid or not (wrong salt, wrong window,
wrong epoch, duplicates, unaffordable amounts): the builder leaves the invalid ones out.

After every block it checks that `$`, REP and gREP are conserved to the base unit, that salaries
owed are backed by the reserve, that every resolved pool credited and burned exactly what it held
(winners whole, losers short of `binding_ppm`), that open pools hold exactly the stakes accounts
miss and producers' bonds come from the ASC, that no field went negative, that released REP is
all in the unbonding queue, that the ASC member list covers everyone with ASC weight, that only
the current and next epochs' schedules are stored, and that finality only moves forward and stays
below the head. Finally a second chain replays the blocks from their bytes and must agree on every
state root and on the whole database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import fields

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from porchain.builder import build_block
from porchain.chain import Chain
from porchain.consensus.asc import Amount
from porchain.consensus.beacon import EpochValue, commitment_for
from porchain.consensus.pool_codes import ACCEPTED, AGAINST, FOR, OPEN, REJECTED, STATUS_NAMES
from porchain.consensus.pools import Vote
from porchain.consensus.salary import claimable_salary
from porchain.consensus.slots import scheduled_producer
from porchain.consensus.transfer import Transfer
from porchain.consensus.transition import (
    apply_transaction,
    begin_block,
    prepare_block,
    validate_transaction,
)
from porchain.constants import INCINERATOR, PPM
from porchain.crypto.hashing import ZERO_HASH, keccak
from porchain.db import schema
from porchain.errors import InvalidTransaction
from porchain.genesis import Genesis
from porchain.state.objects import Account, EpochRecord, Pool, Supply
from porchain.state.state import State, load_lthash
from porchain.types.blocks import Block, Header
from porchain.types.transactions import Transaction, TxKind
from tests.factories import KEYS, accounts, key, make_genesis, new_chain, sign_tx

PRODUCERS = KEYS[:4]
FREE_REP_HOLDER = KEYS[4]  # free REP only: may encumber and become a producer
FUNDED = KEYS[5]
POOR = KEYS[6]  # barely enough `$` for a few fees
ACTORS = KEYS[:7]
BY_ADDRESS = {k.address: k for k in ACTORS}
RECIPIENTS = [k.address for k in ACTORS] + [INCINERATOR, key(300).address]
MAX_SEARCH_SLOTS = 200  # an ASC with any weight schedules someone well within this


def genesis_for(producers: int, with_grep: bool, author: int) -> Genesis:
    encumbered = ["40", "25", "60", "15"]
    alloc: dict = {
        PRODUCERS[i]: {"balance": "100", "rep_encumbered": encumbered[i], "rep": "5"}
        for i in range(producers)
    }
    alloc[FREE_REP_HOLDER] = {"balance": "50", "rep": "20"}
    alloc[FUNDED] = {"balance": "30"}
    alloc[POOR] = {"balance": "0.05"}
    if with_grep:
        alloc[FUNDED]["grep"] = "3"
        alloc[FREE_REP_HOLDER]["grep"] = "1"
    genesis = make_genesis(alloc)
    if author == 0:
        return genesis  # no WSC author: the royalty goes to the incinerator
    data = genesis.to_json()
    data["wsc_author"] = "0x" + (POOR if author == 1 else key(301)).address.hex()
    return Genesis.from_json(data)


# -- generated plans -------------------------------------------------------------------------------

# How much of a total to use: one base unit, a part, all of it, or one unit more than all.
AMOUNT = st.tuples(st.sampled_from(["unit", "part", "all", "over"]), st.integers(1, PPM - 1))
SENDER = st.integers(0, len(ACTORS) - 1)
MEMBER = st.one_of(st.integers(0, len(PRODUCERS) - 1), SENDER)  # mostly producers

TX = st.one_of(
    st.tuples(
        st.just("transfer"),
        SENDER,
        st.integers(0, len(RECIPIENTS) - 1),
        AMOUNT,
        st.integers(0, 10**7),
    ),
    st.tuples(st.just("encumber"), SENDER, AMOUNT),
    st.tuples(st.just("release"), SENDER, AMOUNT),
    # On the pool of the block 1..4 back (1 and 2 are open), or on no pool at all (4).
    st.tuples(st.just("vote"), SENDER, st.integers(0, 4), st.sampled_from([FOR, AGAINST]), AMOUNT),
    st.tuples(st.just("vote"), SENDER, st.integers(0, 1), st.sampled_from([FOR, AGAINST]), AMOUNT),
    st.tuples(
        st.just("commit"), MEMBER, st.sampled_from(["good", "good", "bad_value", "next", "prev"])
    ),
    st.tuples(
        st.just("reveal"), MEMBER, st.sampled_from(["good", "good", "wrong_salt", "next", "prev"])
    ),
    # An honest member: commits in the first half of an epoch, reveals in the second.
    st.tuples(st.just("beacon"), MEMBER, st.just("good")),
    st.tuples(st.just("beacon"), MEMBER, st.just("good")),
)
# (gap kind, raw): mostly 1-3 slots, sometimes 4-8 (over an epoch of 4 slots), sometimes an outage.
GAP = st.tuples(st.integers(0, 19), st.integers(0, 10**6))
STEP = st.tuples(GAP, st.lists(TX, max_size=6))


def slot_gap(gap: tuple[int, int]) -> int:
    kind, raw = gap
    if kind < 14:
        return 1 + raw % 3
    if kind < 18:
        return 4 + raw % 5
    return 9 + raw % 150  # up to ~40 epochs without a block


def salt_of(address: bytes, epoch: int) -> bytes:
    return keccak(b"property salt" + address + epoch.to_bytes(8, "big"))


def amount_of(choice: tuple[str, int], total: int) -> int:
    mode, ppm = choice
    if mode == "unit":
        return 1
    if mode == "part":
        return max(1, total * ppm // PPM)
    if mode == "all":
        return total
    return total + 1


def materialize(plan: tuple, state: State, number: int) -> Transaction:
    """The transaction `plan` describes, with amounts taken from `state` (the block's state
    as the transactions before it in the block left it)."""
    kind, sender_index, *rest = plan
    signer = ACTORS[sender_index]
    slot = state.chain.slot
    epoch = slot // state.params.epoch_slots
    if kind == "beacon":  # an honest member: commit in the first half, then reveal
        if slot % state.params.epoch_slots < state.params.epoch_slots // 2:
            kind = "commit"
        else:
            kind = "reveal"
            record = state.epoch_record(epoch)
            revealed = {r.address for r in record.reveals}
            due = [c.address for c in record.commits if c.address not in revealed]
            if due:
                signer = BY_ADDRESS[due[sender_index % len(due)]]
    account = state.account(signer.address)
    nonce = account.nonce
    if kind == "transfer":
        recipient, choice, extra_fee = rest
        fee = state.params.min_tx_fee(200) + extra_fee
        spendable = account.balance + claimable_salary(state, account) - fee
        amount = amount_of(choice, max(spendable, 0))
        payload = Transfer(RECIPIENTS[recipient], amount).to_rlp()
        return sign_tx(signer, TxKind.TRANSFER, payload, nonce=nonce, fee=fee)
    if kind in ("encumber", "release"):
        (choice,) = rest
        total = account.rep if kind == "encumber" else account.rep_encumbered
        tx_kind = TxKind.ENCUMBER if kind == "encumber" else TxKind.RELEASE
        return sign_tx(signer, tx_kind, Amount(amount_of(choice, total)).to_rlp(), nonce=nonce)
    if kind == "vote":
        back, side, choice = rest
        pool_id = 999_999 if back == 4 else state.block_pool_id(max(number - 1 - back, 0))
        stake = amount_of(choice, account.rep + account.rep_encumbered)
        return sign_tx(signer, TxKind.VOTE, Vote(pool_id, side, stake).to_rlp(), nonce=nonce)
    (mode,) = rest
    for_epoch = {"next": epoch + 1, "prev": max(epoch - 1, 0) if epoch else 1}.get(mode, epoch)
    salt = salt_of(signer.address, for_epoch)
    if kind == "commit":
        value = commitment_for(salt, signer.address, for_epoch)
        if mode == "bad_value":
            value = keccak(value)  # no salt will ever open it: a certain penalty
        return sign_tx(signer, TxKind.COMMIT, EpochValue(for_epoch, value).to_rlp(), nonce=nonce)
    if mode == "wrong_salt":
        salt = keccak(salt)
    return sign_tx(signer, TxKind.REVEAL, EpochValue(for_epoch, salt).to_rlp(), nonce=nonce)


def plan_block(
    chain: Chain, slot: int, producer: bytes, plans: list[tuple]
) -> tuple[list[Transaction], list[Transaction]]:
    """Turn plans into signed transactions on a scratch copy of the block being built, applying
    the ones that are valid so that later amounts see them; return (all, expected included)."""
    state = chain.state()
    prepare_block(state, slot, chain.head.number + 1, chain.rules)
    header = Header(
        chain.head.hash, chain.head.number + 1, slot, producer, ZERO_HASH, ZERO_HASH, state.wsc_id
    )
    ctx = begin_block(state, header, chain.rules)
    txs, valid, failed = [], [], set()
    for plan in plans:
        tx = materialize(plan, state, header.number)
        sender = tx.sender
        txs.append(tx)
        if sender in failed:
            continue
        try:
            handler, payload = validate_transaction(state, tx, chain.rules)
        except InvalidTransaction:
            failed.add(sender)
            continue
        apply_transaction(state, tx, handler, payload, ctx)
        valid.append(tx)
    return txs, valid


# -- invariants ----------------------------------------------------------------------------------


def pools(chain: Chain) -> list[Pool]:
    prefix = schema.STATE_PREFIX + schema.POOL_PREFIX
    return [Pool.decode(v) for _, v in chain.db.iterate(prefix)]


def assert_no_negative(record, what: str) -> None:
    for f in fields(record):
        value = getattr(record, f.name)
        if isinstance(value, int):
            assert value >= 0, f"{what}.{f.name} = {value}"


def check_pool_resolution(pool: Pool) -> None:
    """What a pool minted plus what its losers lost is exactly what it credited plus burned."""
    minted = pool.author_minted + pool.unassigned_minted
    lost = sum(s.amount - s.returned for s in pool.stakes)
    credited = sum(s.reward for s in pool.stakes)
    if pool.status == ACCEPTED:
        credited += pool.author_minted
    assert credited + pool.burned == minted + lost, f"pool #{pool.id} {STATUS_NAMES[pool.status]}"
    # Winners (and everyone, without quorum) get their stake back; losers lose `binding_ppm`.
    winning_side = {ACCEPTED: FOR, REJECTED: AGAINST}.get(pool.status)
    for stake in pool.stakes:
        kept = stake.amount
        if winning_side is not None and stake.side != winning_side:
            kept -= stake.amount * pool.binding_ppm // PPM
        assert stake.returned == kept
        assert stake.reward == 0 or stake.side == winning_side


def check_invariants(chain: Chain, genesis: Genesis, dust_budget: int) -> None:
    state = chain.state()
    params = state.params
    supply: Supply = state.supply
    held: dict[bytes, Account] = accounts(chain.db)
    number = chain.head.number
    all_pools = pools(chain)
    open_pools = [p for p in all_pools if p.status == OPEN]

    # No negative field anywhere.
    assert_no_negative(supply, "supply")
    assert_no_negative(state.salary, "salary")
    for address, account in held.items():
        assert_no_negative(account, f"account {address.hex()}")
        assert account.rep_staked_encumbered <= account.rep_staked
        assert account.grep_staked == 0  # no governance pools in the core rules
    for pool in all_pools:
        assert_no_negative(pool, f"pool #{pool.id}")
        for stake in pool.stakes:
            assert_no_negative(stake, f"pool #{pool.id} stake")
            assert stake.encumbered <= stake.amount
            if stake.bond:  # a producer's bond comes from its encumbered REP only
                assert stake.voter == pool.author and stake.encumbered == stake.amount
    assert INCINERATOR not in held

    # `$`: only the subsidy creates it, only burns destroy it; the reserve backs salaries.
    genesis_dollars = sum(a.balance for a in genesis.alloc.values())
    assert supply.dollars == sum(a.balance for a in held.values()) + state.salary.reserve
    assert supply.dollars == genesis_dollars + params.subsidy * number - supply.dollars_burned
    owed = sum(claimable_salary(state, a) for a in held.values())
    assert 0 <= state.salary.reserve - owed <= dust_budget + len(held)

    # REP: accounts own `supply.rep`; open pools hold exactly their minted shares.
    genesis_rep = sum(a.rep + a.rep_encumbered for a in genesis.alloc.values())
    assert supply.rep == sum(a.rep_weight for a in held.values())
    assert supply.rep + supply.rep_pooled == genesis_rep + supply.rep_minted - supply.rep_burned
    assert supply.rep_pooled == sum(p.author_minted + p.unassigned_minted for p in open_pools)

    # gREP: no governance yet, so it stays exactly as allocated.
    genesis_grep = sum(a.grep for a in genesis.alloc.values())
    assert supply.grep == sum(a.grep_weight for a in held.values()) == genesis_grep
    assert (
        supply.grep + supply.grep_pooled == genesis_grep + supply.grep_minted - supply.grep_burned
    )
    assert supply.grep_minted == supply.grep_burned == supply.grep_pooled == 0

    # Pools: every resolved pool balances; open pools hold every stake accounts miss.
    for pool in all_pools:
        if pool.status != OPEN:
            check_pool_resolution(pool)
    staked: Counter[bytes] = Counter()
    staked_encumbered: Counter[bytes] = Counter()
    for pool in open_pools:
        for stake in pool.stakes:
            staked[stake.voter] += stake.amount
            staked_encumbered[stake.voter] += stake.encumbered
    for address, account in held.items():
        assert account.rep_staked == staked[address], address.hex()
        assert account.rep_staked_encumbered == staked_encumbered[address], address.hex()
    assert set(staked) <= set(held)
    due = {d.pool_id for d in state.open_pools.due}
    assert due == {p.id for p in open_pools}

    # Released REP waits in the unbonding queue until its epoch ends, and nowhere else.
    pending: Counter[bytes] = Counter()
    for entry in state.unbonding.entries:
        assert entry.epoch >= state.beacon.epoch and entry.amount > 0
        pending[entry.address] += entry.amount
    assert pending == Counter({a: acc.rep_pending for a, acc in held.items() if acc.rep_pending})

    # Everyone with ASC weight is a member (members left with none are dropped lazily).
    members = state.asc_members.addresses
    assert members == sorted(set(members))
    assert {a for a, account in held.items() if account.asc_weight} <= set(members)

    # The beacon is at the head's epoch, and only its schedule and the next are stored: every
    # schedule of an epoch that passed, with blocks or in an outage, is spent and dropped.
    epoch = chain.head.slot // params.epoch_slots
    assert state.beacon.epoch == epoch
    prefix = schema.state_db_key(b"sched/")
    stored = {int.from_bytes(k[len(prefix) :], "big") for k, _ in chain.db.iterate(prefix)}
    assert stored <= {epoch, epoch + 1}, (epoch, sorted(stored))

    # Finality is below the head.
    assert state.chain.finalized < number


# -- the property ----------------------------------------------------------------------------------


def next_scheduled(chain: Chain, slot: int) -> tuple[int, bytes] | None:
    """The first slot from `slot` with a scheduled producer whose key we hold."""
    for candidate in range(slot, slot + MAX_SEARCH_SLOTS):
        producer = scheduled_producer(chain.state(), candidate, chain.rules)
        if producer is not None:
            assert producer in BY_ADDRESS  # every REP holder is one of ours
            return candidate, producer
    return None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    producers=st.integers(3, 4),
    with_grep=st.booleans(),
    author=st.integers(0, 2),
    steps=st.lists(STEP, min_size=15, max_size=40),
)
def test_random_blocks_conserve_tokens_and_replay_identically(
    producers: int, with_grep: bool, author: int, steps: list
) -> None:
    genesis = genesis_for(producers, with_grep, author)
    chain = new_chain(genesis)
    imported: list[Block] = []
    roots: list[bytes] = []
    finalized = 0
    dust_budget = 0
    seen: Counter[str] = Counter()
    for gap, plans in steps:
        found = next_scheduled(chain, chain.head.slot + slot_gap(gap))
        if found is None:
            event("the ASC emptied: no producer left")
            break
        slot, producer = found
        seen["long outage" if slot - chain.head.slot > 8 else "gap"] += 1
        txs, expected = plan_block(chain, slot, producer, plans)
        built = build_block(chain.state(), chain.head, slot, BY_ADDRESS[producer], txs, chain.rules)
        block = built.block
        assert list(block.transactions) == expected
        assert len(block.transactions) + len(built.rejected) == len(txs)
        assert chain.import_block(Block.decode(block.encode())).status == "head"
        imported.append(block)
        roots.append(load_lthash(chain.db).root())
        assert roots[-1] == block.header.state_root

        state = chain.state()
        resolved = [p for p in pools(chain) if p.resolved_at == block.number and p.status != OPEN]
        for pool in resolved:
            seen[STATUS_NAMES[pool.status]] += 1
        for tx in block.transactions:
            seen[TxKind(tx.kind).name] += 1
        # Salary settlements (each may leave a base unit of dust in the reserve): every
        # transaction's sender, every stake returned or rewarded, every author paid, the WSC
        # royalty, reveal penalties; plus the rounding of the block's index increment.
        dust_budget += (
            len(block.transactions) + sum(2 * len(p.stakes) + 1 for p in resolved) + len(ACTORS) + 2
        )
        check_invariants(chain, genesis, dust_budget)
        assert state.chain.finalized >= finalized
        finalized = state.chain.finalized
    penalties = sum(
        len(EpochRecord.decode(v).penalties)
        for _, v in chain.db.iterate(schema.state_db_key(b"epoch/"))
    )
    if penalties:
        seen["reveal penalty"] += penalties
    for name in sorted(seen):
        event(name)
    event(f"finalized above genesis: {finalized > 0}")

    replay = new_chain(genesis)
    for block, root in zip(imported, roots, strict=True):
        replay.import_block(Block.decode(block.encode()))
        assert load_lthash(replay.db).root() == root == block.header.state_root
    assert replay.head == chain.head
    assert list(replay.db.iterate()) == list(chain.db.iterate())
