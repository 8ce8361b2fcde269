"""The objects the state map holds.

Every state value is a `Record` read through `State`, changed in place by the rules (as the
consensus specs do) and re-encoded when the block commits. A record whose fields are all zero or
empty is absent from the state: its entry is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from porchain.types.records import Record

ZERO_MIX = b"\x00" * 32

# -- accounts and totals ------------------------------------------------------------------------


@dataclass(slots=True)
class Account(Record):
    """An account: `$`, the REP it owns wherever it sits, gREP, and salary bookkeeping.

    `rep_staked` is REP held by open pools on the account's behalf; `rep_staked_encumbered` is
    the part of it that came from the ASC and still counts as availability (it returns there).
    `rep_index` and `grep_index` are the salary indexes at the account's last settlement
    (the "reward per token paid" of staking contracts).
    """

    nonce: int = 0
    balance: int = 0
    rep: int = 0
    rep_encumbered: int = 0
    rep_pending: int = 0
    rep_staked: int = 0
    rep_staked_encumbered: int = 0
    grep: int = 0
    grep_staked: int = 0
    rep_index: int = 0
    grep_index: int = 0

    IGNORED_FOR_EMPTINESS: ClassVar[frozenset[str]] = frozenset({"rep_index", "grep_index"})

    @property
    def rep_weight(self) -> int:
        """All REP the account owns: free, encumbered, pending release and staked."""
        return self.rep + self.rep_encumbered + self.rep_pending + self.rep_staked

    @property
    def asc_weight(self) -> int:
        """Encumbered REP, including the part staked in open pools (still at risk)."""
        return self.rep_encumbered + self.rep_staked_encumbered

    @property
    def grep_weight(self) -> int:
        return self.grep + self.grep_staked


@dataclass(slots=True)
class Supply(Record):
    """Token totals. `rep`/`grep` is what accounts own (the salary weight); `*_pooled` is what
    validation pools hold for nobody yet (minted shares, lost stakes before payout)."""

    dollars: int = 0
    rep: int = 0
    grep: int = 0
    dollars_burned: int = 0
    rep_burned: int = 0
    grep_burned: int = 0
    rep_minted: int = 0
    grep_minted: int = 0
    rep_pooled: int = 0
    grep_pooled: int = 0


@dataclass(slots=True)
class Salary(Record):
    """Cumulative `$` paid per unit of REP and of gREP (scaled), and the `$` reserved for them."""

    rep_index: int = 0
    grep_index: int = 0
    reserve: int = 0


@dataclass(slots=True)
class ChainInfo(Record):
    """Chain identity, the position of the latest block applied to this state, and the
    highest block whose validation pool accepted it (final, with all its ancestors)."""

    chain_id: int = 0
    genesis_time_ms: int = 0
    number: int = 0
    slot: int = 0
    finalized: int = 0


# -- the WSC -------------------------------------------------------------------------------------


@dataclass(slots=True)
class ActiveWsc(Record):
    wsc_id: int = 0


@dataclass(slots=True)
class WscRecord(Record):
    """A WSC: its parameters (canonical JSON), the height it became active at, its author, and
    the forum post that proposed it (empty for WSC #0)."""

    params_json: bytes = b""
    activated_at: int = 0
    author: bytes = b""
    post: bytes = b""


# -- the ASC -------------------------------------------------------------------------------------


@dataclass(slots=True)
class AscMember(Record):
    """A producer's liveness record."""

    missed: int = 0  # scheduled slots missed in a row


@dataclass(slots=True)
class AddressList(Record):
    """A sorted list of addresses (the ASC members)."""

    addresses: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class Unbonding(Record):
    epoch: int = 0  # the pending REP becomes free at the end of this epoch
    address: bytes = b""
    amount: int = 0


@dataclass(slots=True)
class UnbondingQueue(Record):
    """Released REP on its way out of the ASC, by due epoch."""

    entries: list[Unbonding] = field(default_factory=list)


# -- the beacon and the schedule -------------------------------------------------------------


@dataclass(slots=True)
class Beacon(Record):
    """The current epoch, its mix, and (for the `cycle` policy) who was drawn this cycle."""

    epoch: int = 0
    mix: bytes = ZERO_MIX
    cycle_drawn: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class Commit(Record):
    address: bytes = b""
    commitment: bytes = b""


@dataclass(slots=True)
class Reveal(Record):
    address: bytes = b""
    salt: bytes = b""


@dataclass(slots=True)
class Penalty(Record):
    address: bytes = b""
    amount: int = 0


@dataclass(slots=True)
class EpochRecord(Record):
    """One epoch of the commit-reveal: commits, reveals, the penalties and mix it produced."""

    commits: list[Commit] = field(default_factory=list)
    reveals: list[Reveal] = field(default_factory=list)
    penalties: list[Penalty] = field(default_factory=list)
    next_mix: bytes = b""


@dataclass(slots=True)
class Weight(Record):
    address: bytes = b""
    weight: int = 0


@dataclass(slots=True)
class Schedule(Record):
    """The producers of one epoch's slots, drawn from `mix` and the ASC `snapshot`."""

    mix: bytes = b""
    snapshot: list[Weight] = field(default_factory=list)
    producers: list[bytes] = field(default_factory=list)


# -- validation pools ----------------------------------------------------------------------------


@dataclass(slots=True)
class Stake(Record):
    voter: bytes = b""
    side: int = 0  # 1 FOR, 0 AGAINST
    amount: int = 0
    encumbered: int = 0  # the part taken from the ASC (REP pools)
    bond: int = 0  # 1 for a producer's bond
    returned: int = 0  # filled at resolution
    reward: int = 0


@dataclass(slots=True)
class Pool(Record):
    """A validation pool: its terms, its stakes and, once resolved, its outcome."""

    id: int = 0
    kind: int = 0
    token: int = 0
    target: bytes = b""
    author: bytes = b""
    opened_at: int = 0
    closes_at: int = 0
    quorum_ppm: int = 0
    win_ratio_ppm: int = 0
    binding_ppm: int = 0
    fee: int = 0
    author_minted: int = 0
    unassigned_minted: int = 0
    stakes: list[Stake] = field(default_factory=list)
    status: int = 0
    resolved_at: int = 0
    for_total: int = 0
    against_total: int = 0
    burned: int = 0


@dataclass(slots=True)
class PoolDue(Record):
    closes_at: int = 0
    pool_id: int = 0


@dataclass(slots=True)
class OpenPools(Record):
    """Open pools by closing height, and the next pool id."""

    due: list[PoolDue] = field(default_factory=list)
    next_id: int = 0


@dataclass(slots=True)
class GrepQuorum(Record):
    """The last block at which a gREP pool reached quorum (0: never since genesis). The
    revival rule measures how long governance has been dormant from it."""

    height: int = 0


@dataclass(slots=True)
class PoolRef(Record):
    pool_id: int = 0
