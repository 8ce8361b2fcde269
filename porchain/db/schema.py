"""Every database key porchain writes, built in one place (after py-evm's `eth/db/schema.py`).

Two layers of keys:
- database keys, under a version prefix, for blocks, indexes, journals and node bookkeeping;
- state keys: the logical keys of the state map. The lattice hash commits to (state key, value)
  pairs, so state keys are part of consensus; they are stored under `STATE_PREFIX` in the database.
"""

from __future__ import annotations

VERSION_PREFIX = b"p1/"

# -- database keys ---------------------------------------------------------------------------

STATE_PREFIX = VERSION_PREFIX + b"state/"
HEAD_KEY = VERSION_PREFIX + b"head"
GENESIS_KEY = VERSION_PREFIX + b"genesis"
LTHASH_KEY = VERSION_PREFIX + b"lthash"
COMMITMENT_KEY = VERSION_PREFIX + b"commitment"  # the lattice hash version the state was made by
FINALIZED_KEY = VERSION_PREFIX + b"finalized"  # [number, hash] of the highest block ever final
# A node bootstrapped from a snapshot (porchain.snapshot): the snapshot block (8-byte number, then
# its hash), below which it holds headers only; the lowest header it holds (8-byte number) while
# it fetches them back to genesis; and, during the bootstrap, the block it is bootstrapping to
# and the chain id (8 bytes: the genesis state it replaces is gone by then)
ANCHOR_KEY = VERSION_PREFIX + b"anchor"
BACKFILL_KEY = VERSION_PREFIX + b"backfill"
BOOTSTRAP_KEY = VERSION_PREFIX + b"bootstrap"


def block_key(block_hash: bytes) -> bytes:
    return VERSION_PREFIX + b"block/" + block_hash


def header_key(block_hash: bytes) -> bytes:
    """A canonical header below a snapshot's block, held without its body."""
    return VERSION_PREFIX + b"header/" + block_hash


def canonical_key(number: int) -> bytes:
    return VERSION_PREFIX + b"canon/" + number.to_bytes(8, "big")


def tx_location_key(tx_hash: bytes) -> bytes:
    return VERSION_PREFIX + b"txloc/" + tx_hash


def journal_key(block_hash: bytes) -> bytes:
    return VERSION_PREFIX + b"journal/" + block_hash


def child_key(parent_hash: bytes, child_hash: bytes) -> bytes:
    """Marks a stored block as a child of its parent, so a branch can be found (and dropped)."""
    return children_prefix(parent_hash) + child_hash


def children_prefix(parent_hash: bytes) -> bytes:
    return VERSION_PREFIX + b"child/" + parent_hash


SIDE_PREFIX = VERSION_PREFIX + b"side/"


def side_key(number: int, block_hash: bytes) -> bytes:
    """Marks a stored block that is not canonical, by height; the value is its size in bytes."""
    return side_height_prefix(number) + block_hash


def side_height_prefix(number: int) -> bytes:
    return SIDE_PREFIX + number.to_bytes(8, "big")


def state_db_key(state_key: bytes) -> bytes:
    return STATE_PREFIX + state_key


# -- state keys (inside the state commitment) ------------------------------------------------

CHAIN_STATE_KEY = b"chain"
SALARY_STATE_KEY = b"salary"
SUPPLY_STATE_KEY = b"supply"
BEACON_STATE_KEY = b"beacon"
ACTIVE_WSC_STATE_KEY = b"wsc/active"


def account_state_key(address: bytes) -> bytes:
    return b"acct/" + address


def wsc_state_key(wsc_id: int) -> bytes:
    return b"wsc/" + wsc_id.to_bytes(8, "big")


def asc_member_state_key(address: bytes) -> bytes:
    return b"ascm/" + address


ASC_MEMBERS_STATE_KEY = b"asc/members"


UNBONDING_STATE_KEY = b"asc/unbonding"


def epoch_state_key(epoch: int) -> bytes:
    return b"epoch/" + epoch.to_bytes(8, "big")


def schedule_state_key(epoch: int) -> bytes:
    return b"sched/" + epoch.to_bytes(8, "big")


POOL_PREFIX = b"pool/"
OPEN_POOLS_STATE_KEY = b"pools/open"
GREP_QUORUM_STATE_KEY = b"pools/grep-quorum"


def pool_state_key(pool_id: int) -> bytes:
    return POOL_PREFIX + pool_id.to_bytes(8, "big")


def block_pool_state_key(number: int) -> bytes:
    return b"blockpool/" + number.to_bytes(8, "big")


# -- node-local database keys (not consensus) -----------------------------------------------------


def first_seen_key(tx_hash: bytes) -> bytes:
    """When this node first saw a transaction, and the time its record is kept from
    (porchain.firstseen)."""
    return VERSION_PREFIX + b"seen/" + tx_hash


FIRST_SEEN_INDEX_PREFIX = VERSION_PREFIX + b"seenat/"


def first_seen_index_key(kept_from_ms: int, tx_hash: bytes) -> bytes:
    """A first-seen record by the time it is kept from, so the oldest are found first."""
    return FIRST_SEEN_INDEX_PREFIX + kept_from_ms.to_bytes(8, "big") + tx_hash


def split_first_seen_index_key(key: bytes) -> tuple[int, bytes]:
    rest = key[len(FIRST_SEEN_INDEX_PREFIX) :]
    return int.from_bytes(rest[:8], "big"), rest[8:]


def beacon_salt_key(epoch: int) -> bytes:
    return VERSION_PREFIX + b"salt/" + epoch.to_bytes(8, "big")


VERDICT_PREFIX = VERSION_PREFIX + b"verdict/"


def verdict_key(number: int, block_hash: bytes) -> bytes:
    """What this node judged about a block it made its head (porchain.verdicts), by height, so
    the oldest are found first."""
    return VERDICT_PREFIX + number.to_bytes(8, "big") + block_hash


def split_verdict_key(key: bytes) -> tuple[int, bytes]:
    rest = key[len(VERDICT_PREFIX) :]
    return int.from_bytes(rest[:8], "big"), rest[8:]


EQUIVOCATION_PREFIX = VERSION_PREFIX + b"equiv/"


def equivocation_key(slot: int, producer: bytes) -> bytes:
    """Two headers one producer signed for one slot (porchain.equivocations), by slot, so the
    oldest are found first."""
    return EQUIVOCATION_PREFIX + slot.to_bytes(8, "big") + producer


LOCAL_TX_PREFIX = VERSION_PREFIX + b"localtx/"


def local_tx_key(tx_hash: bytes) -> bytes:
    """A transaction sent through this node's RPC and not yet included (porchain.txjournal)."""
    return LOCAL_TX_PREFIX + tx_hash


# -- legislative governance (state keys; the `governance` package owns the rules) -----------------

POST_PREFIX = b"post/"
GOV_AGENDA_STATE_KEY = b"gov/agenda"


def post_state_key(post_id: bytes) -> bytes:
    return POST_PREFIX + post_id


# -- judicial governance (state keys; the `judicial` package owns the rules) ---------------------


def slash_history_state_key(address: bytes) -> bytes:
    return b"jud/slashes/" + address


PUNISHED_OFFENCES_STATE_KEY = b"jud/offences"  # offences evidence punished, within the window
COURT_STATE_KEY = b"jud/court"  # open cases, protections, the next case id


def case_state_key(case_id: int) -> bytes:
    return b"jud/case/" + case_id.to_bytes(8, "big")


def accusable_block_state_key(number: int) -> bytes:
    """A recent canonical block: its hash and producer, while it can be accused."""
    return b"jud/blk/" + number.to_bytes(8, "big")


def accusable_hash_state_key(block_hash: bytes) -> bytes:
    """The number of a recent canonical block, by its hash."""
    return b"jud/blkh/" + block_hash


# -- judicial governance (node-local database keys) ----------------------------------------------


JURY_BALLOT_PREFIX = VERSION_PREFIX + b"ballot/"


def jury_ballot_key(case_id: int, juror: bytes) -> bytes:
    """A juror's vote and salt, chosen when it commits and needed when it reveals
    (judicial.jurors): kept durably so a restart between the two does not lose it."""
    return JURY_BALLOT_PREFIX + case_id.to_bytes(8, "big") + juror


def split_jury_ballot_key(key: bytes) -> tuple[int, bytes]:
    rest = key[len(JURY_BALLOT_PREFIX) :]
    return int.from_bytes(rest[:8], "big"), rest[8:]


SOURCE_RECORD_PREFIX = VERSION_PREFIX + b"pbsrec/"


def source_record_key(role: bytes, address: bytes) -> bytes:
    """A producer's record of a relay or a builder it took bids from (porchain.pbs.record)."""
    return SOURCE_RECORD_PREFIX + role + b"/" + address


PRODUCED_PREFIX = VERSION_PREFIX + b"pbsblk/"


def produced_key(slot: int) -> bytes:
    """Where a producer's block for `slot` came from (porchain.pbs.produced), in slot order."""
    return PRODUCED_PREFIX + slot.to_bytes(8, "big")
