"""Legislative governance on a chain (PROTOCOL section 10), block by block, minimal preset.

KEYS[0] produces; KEYS[1..3] hold 100 gREP each and vote; KEYS[4..6] write posts and proposals;
KEYS[7] cannot afford a post. Every figure is stated to the base unit: the post pool mints
`post_fee * mint_ratio` = 1 gREP, half of it the authors' share that flows through the reference
mechanism when the pool accepts. Heights follow from the preset's governance durations: a
proposal posted at block n opens its sentiment vote at n + 5, its binding vote 11 blocks later,
is accepted 11 blocks after that and becomes active 3 blocks later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from governance.forum import PostPayload
from governance.module import GovernanceModule
from governance.objects import (
    ACCEPTED,
    ACTIVE,
    BINDING,
    COMMENT,
    FAILED,
    INCINERATOR_POST,
    NO_QUORUM,
    NOT_APPLIED,
    PASSED,
    PENDING,
    PROPOSAL,
    REJECTED,
    SENTIMENT,
    Author,
    Citation,
    Post,
    agenda,
    post,
)
from porchain.chain import Chain
from porchain.composition import core_modules
from porchain.consensus.ledger import GREP
from porchain.consensus.modules import Rules
from porchain.consensus.pool_codes import ACCEPTED as POOL_ACCEPTED
from porchain.consensus.pools import AGAINST, FOR, OPEN, Vote
from porchain.consensus.pools import REJECTED as POOL_REJECTED
from porchain.consensus.transition import validate_transaction
from porchain.constants import PPM, SALARY_INDEX_SCALE
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.db import schema
from porchain.errors import InvalidBlock, InvalidTransaction
from porchain.params import WSCParams
from porchain.state.objects import Pool
from porchain.state.state import State
from porchain.types.codec import RLPItem, encode_uint
from porchain.types.transactions import Transaction, TxKind
from porchain.units import UNIT
from tests.factories import (
    KEYS,
    accounts,
    build_on_head,
    extend,
    key,
    keys_by_address,
    make_genesis,
    new_chain,
    resign,
    sign_tx,
)

PRODUCER = KEYS[0]
VOTER1, VOTER2, VOTER3 = KEYS[1:4]
AUTHOR1, AUTHOR2, AUTHOR3 = KEYS[4:7]
POOR = KEYS[7]

PARAMS = WSCParams.preset("minimal")
MINTED = PARAMS.post_fee * PARAMS.mint_ratio  # gREP a post pool mints
SHARE = MINTED * PARAMS.author_share_ppm // PPM  # the authors' part, flowing on acceptance


def governance_rules() -> Rules:
    return Rules([*core_modules(), GovernanceModule()])


def stage_heights(posted_at: int) -> tuple[int, int, int]:
    """The blocks that open a proposal's sentiment and binding pools, and that activate it."""
    sentiment_opens = posted_at + PARAMS.gov_discussion_blocks
    binding_opens = sentiment_opens + PARAMS.gov_sentiment_blocks + 1  # resolved past duration
    accepted_at = binding_opens + PARAMS.gov_binding_blocks + 1
    return sentiment_opens, binding_opens, accepted_at + PARAMS.activation_delay


class Forum:
    """A governance chain and the few moves the tests make on it."""

    def __init__(
        self,
        *,
        grep: Mapping[PrivateKey, str] | None = None,
        wsc: Mapping[str, Any] | None = None,
    ) -> None:
        """`grep`: the genesis gREP holders (default: the three voters, 100 each); `wsc`:
        changes to the minimal preset."""
        alloc: dict[PrivateKey, dict[str, str]] = {k: {"balance": "1000"} for k in KEYS}
        alloc[PRODUCER] = {"balance": "1000", "rep_encumbered": "100"}
        if grep is None:
            grep = dict.fromkeys((VOTER1, VOTER2, VOTER3), "100")
        for holder, amount in grep.items():
            alloc[holder]["grep"] = amount
        alloc[POOR] = {"balance": "0.5"}
        self.genesis = make_genesis(alloc, wsc=wsc)
        self.chain: Chain = new_chain(self.genesis, rules=governance_rules())

    def state(self) -> State:
        return self.chain.state()

    def account(self, key: PrivateKey):
        return self.state().account(key.address)

    def post_of(self, tx: Transaction) -> Post:
        return post(self.state(), tx.hash)

    def post(
        self,
        key: PrivateKey,
        title: str = "a post",
        *,
        kind: int = COMMENT,
        authors: Sequence[tuple[PrivateKey, int]] | None = None,
        cites: Sequence[tuple[bytes, int]] = (),
        wsc: dict | bytes | None = None,
    ) -> Transaction:
        authors = authors if authors is not None else [(key, PPM)]
        payload = PostPayload(
            kind=kind,
            authors=[Author(k.address, w) for k, w in authors],
            title=title.encode(),
            body=b"why: " + title.encode(),
            citations=[Citation(target, abs(w), int(w < 0)) for target, w in cites],
            wsc_params=json.dumps(wsc).encode() if isinstance(wsc, dict) else (wsc or b""),
        )
        return self.sign(key, TxKind.POST, payload.to_rlp())

    def sign(self, key: PrivateKey, kind: int, payload: list[RLPItem]) -> Transaction:
        """Signed with the sender's next nonce: one transaction per sender and block."""
        return sign_tx(key, kind, payload, nonce=self.account(key).nonce)

    def vote(self, key: PrivateKey, pool_id: int, side: int, grep: int) -> Transaction:
        return self.sign(key, TxKind.VOTE, Vote(pool_id, side, grep * UNIT).to_rlp())

    def stage_votes(self, tx: Transaction, votes: Sequence[tuple[PrivateKey, int, int]]):
        """Votes on the proposal's open stage pool: (voter, side, whole gREP)."""
        pool_id = self.post_of(tx).stage_pool_id
        return [self.vote(key, pool_id, side, grep) for key, side, grep in votes]

    def block(self, *txs: Transaction):
        return extend(self.chain, txs)

    def run(self, until: int, at: dict[int, Callable[[], list[Transaction]]] | None = None):
        """Extend to block `until`; block n carries the transactions `at[n]()` makes then."""
        at = at or {}
        while self.chain.head.number < until:
            make = at.get(self.chain.head.number + 1)
            self.block(*(make() if make else ()))


def gov_pools(chain: Chain) -> list[Pool]:
    prefix = schema.STATE_PREFIX + schema.POOL_PREFIX
    return [p for p in (Pool.decode(v) for _, v in chain.db.iterate(prefix)) if p.token == GREP]


def assert_supply_exact(forum: Forum) -> None:
    """Tokens are conserved to the base unit: accounts own `supply.grep`, open pools hold exactly
    their minted shares, genesis + minted == owned + pooled + burned; `$` is in balances or in
    the salary reserve."""
    state = forum.state()
    supply = state.supply
    held = accounts(forum.chain.db)
    assert supply.dollars == sum(a.balance for a in held.values()) + state.salary.reserve
    assert supply.grep == sum(a.grep_weight for a in held.values())
    genesis = sum(a.grep for a in forum.genesis.alloc.values())
    assert supply.grep + supply.grep_pooled + supply.grep_burned == genesis + supply.grep_minted
    open_pools = [p for p in gov_pools(forum.chain) if p.status == OPEN]
    assert supply.grep_pooled == sum(p.author_minted + p.unassigned_minted for p in open_pools)
    staked = sum(s.amount for p in open_pools for s in p.stakes)
    assert staked == sum(a.grep_staked for a in held.values())


def resolution_height(forum: Forum, pool_id: int) -> int:
    return forum.state().pool(pool_id).closes_at + 1


# -- posts and their pools ----------------------------------------------------------------------


def test_accepted_post_pays_its_authors_through_the_references() -> None:
    forum = Forum()
    first = forum.post(AUTHOR1, "first")
    forum.block(first)
    second = forum.post(
        AUTHOR2,
        "second",
        authors=[(AUTHOR2, 700_000), (AUTHOR3, 300_000)],
        cites=[(first.hash, 400_000), (INCINERATOR_POST, 100_000)],
    )
    forum.block(forum.vote(VOTER1, forum.post_of(first).pool_id, FOR, 40), second)
    forum.block(forum.vote(VOTER2, forum.post_of(second).pool_id, FOR, 40))
    first_resolves = resolution_height(forum, forum.post_of(first).pool_id)
    second_resolves = resolution_height(forum, forum.post_of(second).pool_id)
    assert (first_resolves, second_resolves) == (12, 13)

    forum.run(first_resolves - 1)
    assert forum.post_of(first).status == PENDING
    assert forum.account(AUTHOR1).grep == 0
    assert_supply_exact(forum)

    forum.run(first_resolves)
    assert forum.post_of(first).status == ACCEPTED
    assert forum.post_of(first).value == SHARE == 500_000_000
    assert forum.account(AUTHOR1).grep == SHARE
    assert forum.account(VOTER1).grep == 100 * UNIT + (MINTED - SHARE)  # the unassigned share
    assert_supply_exact(forum)

    forum.run(second_resolves)
    # 500_000_000 flows into `second`: 40% to `first`, 10% burned, 50% kept (70/30 split)
    assert forum.post_of(second).status == ACCEPTED
    assert forum.post_of(second).value == 250_000_000
    assert forum.post_of(first).value == 500_000_000 + 200_000_000
    assert forum.account(AUTHOR1).grep == 700_000_000
    assert forum.account(AUTHOR2).grep == 175_000_000
    assert forum.account(AUTHOR3).grep == 75_000_000
    assert forum.account(VOTER2).grep == 100 * UNIT + (MINTED - SHARE)
    supply = forum.state().supply
    assert supply.grep_minted == 2 * MINTED
    assert supply.grep_burned == 50_000_000
    assert supply.grep_pooled == 0
    assert supply.grep == 300 * UNIT + 2 * MINTED - 50_000_000
    assert_supply_exact(forum)


def test_rejected_post_gives_its_share_to_the_against_voters() -> None:
    forum = Forum()
    rejected = forum.post(AUTHOR1, "a bad idea")
    forum.block(rejected)
    pool_id = forum.post_of(rejected).pool_id
    forum.block(forum.vote(VOTER1, pool_id, AGAINST, 40), forum.vote(VOTER2, pool_id, FOR, 10))
    forum.run(resolution_height(forum, pool_id))

    assert forum.post_of(rejected).status == REJECTED
    assert forum.post_of(rejected).value == 0
    assert forum.account(AUTHOR1).grep == 0
    # AGAINST wins everything minted plus binding_ppm (50%) of the FOR stakes
    assert forum.account(VOTER1).grep == 100 * UNIT + MINTED + 5 * UNIT
    assert forum.account(VOTER2).grep == 95 * UNIT
    supply = forum.state().supply
    assert (supply.grep_minted, supply.grep_burned) == (MINTED, 0)
    assert supply.grep == 300 * UNIT + MINTED
    assert_supply_exact(forum)


def test_post_without_quorum_burns_its_minted_grep() -> None:
    forum = Forum()
    ignored = forum.post(AUTHOR1, "nobody reads this")
    forum.block(ignored)
    pool_id = forum.post_of(ignored).pool_id
    forum.block(forum.vote(VOTER1, pool_id, FOR, 29))  # under 10% of 300 gREP
    forum.run(resolution_height(forum, pool_id))

    assert forum.post_of(ignored).status == NO_QUORUM
    assert forum.account(AUTHOR1).grep == 0
    assert forum.account(VOTER1).grep == 100 * UNIT
    assert forum.state().supply.grep_burned == MINTED
    assert_supply_exact(forum)


# -- refusals -------------------------------------------------------------------------------------


def raw_post(*fields: RLPItem) -> Callable[[Forum, bytes], Transaction]:
    return lambda forum, _: forum.sign(AUTHOR1, TxKind.POST, list(fields))


def author_rlp(key: PrivateKey, weight: int) -> list[RLPItem]:
    return [key.address, encode_uint(weight)]


def post_citing(*, weight: int, negative: int) -> Callable[[Forum, bytes], Transaction]:
    """A comment citing the existing post with raw citation fields."""
    citation = [encode_uint(weight), encode_uint(negative)]
    return lambda forum, first: forum.sign(
        AUTHOR1,
        TxKind.POST,
        [encode_uint(0), [author_rlp(AUTHOR1, PPM)], b"t", b"", [[first, *citation]], b""],
    )


# Unterminated and deeper than the recursion limit: json raises RecursionError, not ValueError.
NESTED = b"[" * 15_000

REFUSALS = [
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, cites=[(keccak(b"nothing"), 100_000)]),
        rf"^cites a post that does not exist: 0x{keccak(b'nothing').hex()}$",
        id="cites-missing-post",
    ),
    pytest.param(
        lambda forum, first: forum.post(
            AUTHOR1, cites=[(first, 600_000), (INCINERATOR_POST, -400_001)]
        ),
        r"^citation weights sum to 1,000,001 ppm in magnitude, over the limit of 1,000,000$",
        id="citation-weights-over-1e6",
    ),
    pytest.param(
        lambda forum, first: forum.post(AUTHOR1, cites=[(first, 100_000), (first, -100_000)]),
        r"^a post cites each post at most once$",
        id="duplicate-citation",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, authors=[(AUTHOR1, 600_000), (AUTHOR2, 300_000)]),
        r"^author weights must be positive and sum to 1,000,000 ppm$",
        id="author-weights-not-1e6",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, authors=[(AUTHOR1, 1_000_000), (AUTHOR2, 0)]),
        r"^author weights must be positive and sum to 1,000,000 ppm$",
        id="author-weight-zero",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, authors=[(AUTHOR1, 500_000), (AUTHOR1, 500_000)]),
        r"^authors must be distinct 20-byte addresses$",
        id="duplicate-author",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, authors=[(AUTHOR2, 1_000_000)]),
        r"^the sender must be one of the post's authors$",
        id="sender-not-author",
    ),
    pytest.param(
        lambda forum, _: forum.post(
            AUTHOR1, authors=[(AUTHOR1, 111_112)] + [(key(20 + i), 111_111) for i in range(8)]
        ),
        r"^a post has 1 to 8 authors, got 9$",
        id="too-many-authors",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=PROPOSAL, wsc={"block_time": 5}),
        r"^invalid WSC parameters: unknown WSC parameter\(s\): block_time$",
        id="wsc-unknown-key",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=PROPOSAL, wsc={"dev_budget_ppm": 1_000_001}),
        r"^invalid WSC parameters: dev_budget_ppm must be in \[0, 1000000\], got 1000001$",
        id="wsc-out-of-range",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=PROPOSAL, wsc={"subsidy": True}),
        r"^invalid WSC parameters: subsidy must be an integer, got True$",
        id="wsc-not-an-integer",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=PROPOSAL, wsc={"max_tx_bytes": 300_000}),
        r"^invalid WSC parameters: max_tx_bytes must not exceed max_block_bytes$",
        id="wsc-inconsistent",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=PROPOSAL, wsc={"juror_reward": 20 * 10**9}),
        r"^invalid WSC parameters: flag_stake \(\d+\) must be at least jury_size \* juror_reward",
        id="wsc-jurors-paid-more-than-the-flag-stake",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=PROPOSAL, wsc={"slot_ms": 200}),
        r"^invalid WSC parameters: slot_ms cannot change after genesis$",
        id="wsc-changes-slot-ms",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=PROPOSAL, wsc=b"{}"),
        r"^wsc_params must be a non-empty JSON object$",
        id="wsc-empty-json",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=PROPOSAL, wsc=b"[1]"),
        r"^wsc_params must be a non-empty JSON object$",
        id="wsc-not-an-object",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=PROPOSAL, wsc=b"{oops"),
        r"^wsc_params must be a JSON object$",
        id="wsc-not-json",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=PROPOSAL, wsc=NESTED),
        r"^wsc_params must be a JSON object$",
        id="wsc-nested-too-deep",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, kind=COMMENT, wsc={"subsidy": 1}),
        r"^only proposals carry WSC parameter changes$",
        id="wsc-on-a-comment",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, ""),
        r"^a title is 1 to 200 bytes$",
        id="empty-title",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, "   "),
        r"^a title is 1 to 200 bytes$",
        id="blank-title",
    ),
    pytest.param(
        lambda forum, _: forum.post(AUTHOR1, "x" * 201),
        r"^a title is 1 to 200 bytes$",
        id="long-title",
    ),
    pytest.param(
        raw_post(encode_uint(0), [author_rlp(AUTHOR1, PPM)], b"\xff", b"", [], b""),
        r"^title and body must be UTF-8 text$",
        id="title-not-utf8",
    ),
    pytest.param(
        raw_post(encode_uint(2), [author_rlp(AUTHOR1, PPM)], b"t", b"", [], b""),
        r"^post kind must be 0 \(comment\) or 1 \(proposal\)$",
        id="unknown-kind",
    ),
    pytest.param(
        raw_post(encode_uint(0), [author_rlp(AUTHOR1, PPM)], b"t", b""),
        r"^malformed POST: PostPayload must have 6 fields, got 4$",
        id="malformed-shape",
    ),
    pytest.param(
        raw_post(encode_uint(0), AUTHOR1.address, b"t", b"", [], b""),
        r"^malformed POST: authors must be a list, got a byte string$",
        id="malformed-authors",
    ),
    pytest.param(
        raw_post(encode_uint(0), [author_rlp(AUTHOR1, PPM)], [b"t"], b"", [], b""),
        r"^malformed POST: title must be a byte string",
        id="malformed-title",
    ),
    pytest.param(
        raw_post(b"\x00", [author_rlp(AUTHOR1, PPM)], b"t", b"", [], b""),
        r"^malformed POST: kind",
        id="malformed-kind",
    ),
    pytest.param(
        post_citing(weight=1, negative=2),
        r"^citation weights are 1 to 1,000,000 ppm, FOR or AGAINST$",
        id="citation-side-2",
    ),
    pytest.param(
        post_citing(weight=0, negative=0),
        r"^citation weights are 1 to 1,000,000 ppm, FOR or AGAINST$",
        id="citation-weight-0",
    ),
    pytest.param(
        lambda forum, _: forum.post(POOR),
        rf"^insufficient funds: {to_checksum_address(POOR.address)} has 0\.5 \$, "
        r"needs 1\.00\d+ \$$",
        id="cannot-pay-the-post-fee",
    ),
]


@pytest.fixture(scope="module")
def forum_with_a_post() -> tuple[Forum, bytes]:
    forum = Forum()
    first = forum.post(AUTHOR3, "already here")
    forum.block(first)
    return forum, first.hash


@pytest.mark.parametrize(("make_tx", "message"), REFUSALS)
def test_invalid_post_is_refused_without_taking_a_fee(
    forum_with_a_post: tuple[Forum, bytes],
    make_tx: Callable[[Forum, bytes], Transaction],
    message: str,
) -> None:
    forum, first = forum_with_a_post
    chain = forum.chain
    tx = make_tx(forum, first)
    before = list(chain.db.iterate())
    sender = forum.state().account(tx.sender)

    state = chain.state()
    with pytest.raises(InvalidTransaction, match=message):
        validate_transaction(state, tx, chain.rules)
    assert state.changes() == []

    built = build_on_head(chain, [tx])  # the builder leaves it out, with the reason
    assert built.block.transactions == ()
    assert len(built.rejected) == 1
    assert re.search(message, built.rejected[0][1])

    forced = resign(built.block, keys_by_address()[built.block.header.producer], transactions=[tx])
    with pytest.raises(InvalidBlock, match=rf"^transaction 0 \({tx.hash.hex()[:16]}\.\.\): "):
        chain.import_block(forced)
    assert list(chain.db.iterate()) == before  # nothing changed: no fee, no nonce, no post
    assert forum.state().account(tx.sender) == sender
    assert post(chain.state(), tx.hash).is_empty()


# -- proposals ------------------------------------------------------------------------------------

NEW_SUBSIDY = 2 * PARAMS.subsidy
NEW_DEV_BUDGET_PPM = 2 * PARAMS.dev_budget_ppm


def totals(forum: Forum) -> tuple[int, int, int]:
    """`$` in existence and the REP and gREP salary indexes, at the head."""
    state = forum.state()
    return state.supply.dollars, state.salary.rep_index, state.salary.grep_index


def block_minting(forum: Forum, before: tuple[int, int, int]) -> tuple[int, int, int]:
    """What the head block minted in `$`, and the growth of the REP and gREP salary indexes."""
    return tuple(a - b for a, b in zip(totals(forum), before, strict=True))  # type: ignore


def expected_minting(state: State, subsidy: int, dev_budget_ppm: int) -> tuple[int, int, int]:
    """An empty block's `$` subsidy and its split between the salary indexes, on `state`."""
    dev_budget = subsidy * dev_budget_ppm // PPM
    return (
        subsidy,
        (subsidy - dev_budget) * SALARY_INDEX_SCALE // state.supply.rep,
        dev_budget * SALARY_INDEX_SCALE // state.supply.grep,
    )


def rep_of(forum: Forum, *keys: PrivateKey) -> list[int]:
    state = forum.state()
    return [state.account(k.address).rep for k in keys]


def test_proposal_passing_both_stages_becomes_the_active_wsc() -> None:
    forum = Forum()
    liked, disliked = forum.post(AUTHOR2, "liked"), forum.post(AUTHOR3, "disliked")
    forum.block(liked, disliked)
    proposal = forum.post(
        AUTHOR1,
        "double the subsidy and the dev budget",
        kind=PROPOSAL,
        cites=[(liked.hash, 300_000), (disliked.hash, -200_000)],
        wsc={"subsidy": NEW_SUBSIDY, "dev_budget_ppm": NEW_DEV_BUDGET_PPM},
    )
    forum.block(proposal)
    sentiment_opens, binding_opens, active_at = stage_heights(2)
    assert (sentiment_opens, binding_opens, active_at) == (7, 18, 32)

    forum.run(sentiment_opens)
    assert forum.post_of(proposal).stage == SENTIMENT
    forum.run(
        active_at - 2,
        at={
            sentiment_opens + 1: lambda: forum.stage_votes(
                proposal, [(VOTER1, FOR, 50), (VOTER2, AGAINST, 20)]
            ),
            binding_opens + 1: lambda: forum.stage_votes(
                proposal, [(VOTER1, FOR, 70), (VOTER2, AGAINST, 10)]
            ),
        },
    )
    passed = forum.post_of(proposal)
    assert passed.stage == PASSED and passed.stage_ends == active_at
    assert forum.state().wsc_id == 0 and forum.chain.head.wsc_id == 0
    # Under WSC #0 the royalty has no post to flow from: it burns, the authors get no REP.
    assert rep_of(forum, AUTHOR1, AUTHOR2, AUTHOR3) == [0, 0, 0]

    before = totals(forum)
    last = forum.block()  # the last block under WSC #0
    assert (last.number, last.header.wsc_id) == (active_at - 1, 0)
    assert block_minting(forum, before) == expected_minting(
        forum.state(), PARAMS.subsidy, PARAMS.dev_budget_ppm
    )
    assert rep_of(forum, AUTHOR1, AUTHOR2, AUTHOR3) == [0, 0, 0]

    before = totals(forum)
    activation = forum.block()
    assert activation.number == active_at
    assert activation.header.wsc_id == 1
    state = forum.state()
    assert state.wsc_id == 1
    assert state.params == PARAMS.replace(subsidy=NEW_SUBSIDY, dev_budget_ppm=NEW_DEV_BUDGET_PPM)
    record = state.wsc(1)
    assert (record.activated_at, record.author, record.post) == (
        active_at,
        AUTHOR1.address,
        proposal.hash,
    )
    assert WSCParams.decode(state.wsc(0).params_json) == PARAMS  # WSC #0 is still there
    assert state.wsc(0).activated_at == 0 and state.wsc(0).post == b""
    assert forum.post_of(proposal).stage == ACTIVE and forum.post_of(proposal).wsc_id == 1
    # The activation block already follows the new WSC: subsidy, dev budget, block pool.
    assert block_minting(forum, before) == expected_minting(state, NEW_SUBSIDY, NEW_DEV_BUDGET_PPM)
    royalty = NEW_SUBSIDY * PARAMS.wsc_royalty_ppm // PPM
    block_pool = state.pool(state.block_pool_id(active_at))
    assert block_pool.author_minted + block_pool.unassigned_minted == NEW_SUBSIDY - royalty
    # The royalty flows as REP: 30% to the liked post's author, nothing down the negative
    # citation, the remaining 70% to the proposal's author.
    assert royalty == 1_000_000_000
    assert rep_of(forum, AUTHOR1, AUTHOR2, AUTHOR3) == [700_000_000, 300_000_000, 0]

    before = totals(forum)
    after_activation = forum.block()
    assert after_activation.header.wsc_id == 1
    assert block_minting(forum, before) == expected_minting(
        forum.state(), NEW_SUBSIDY, NEW_DEV_BUDGET_PPM
    )
    assert rep_of(forum, AUTHOR1, AUTHOR2, AUTHOR3) == [1_400_000_000, 600_000_000, 0]
    assert forum.post_of(liked).value == forum.post_of(disliked).value == 0  # REP only
    assert_supply_exact(forum)


def test_sentiment_vote_is_non_binding_and_binding_vote_is_binding() -> None:
    forum = Forum()
    proposal = forum.post(AUTHOR1, "a proposal", kind=PROPOSAL, wsc={"subsidy": NEW_SUBSIDY})
    forum.block(proposal)
    sentiment_opens, binding_opens, _ = stage_heights(1)

    forum.run(
        binding_opens - 1,
        at={
            sentiment_opens + 1: lambda: forum.stage_votes(
                proposal, [(VOTER1, FOR, 50), (VOTER2, AGAINST, 20)]
            )
        },
    )
    sentiment = forum.state().pool(forum.post_of(proposal).sentiment_pool_id)
    assert sentiment.status == OPEN and sentiment.binding_ppm == 0
    assert forum.account(VOTER2).grep_staked == 20 * UNIT

    forum.block()  # the sentiment pool resolves: accepted, and the binding pool opens
    state = forum.state()
    sentiment = state.pool(sentiment.id)
    assert sentiment.status == POOL_ACCEPTED
    assert [(s.returned, s.reward) for s in sentiment.stakes] == [(50 * UNIT, 0), (20 * UNIT, 0)]
    assert forum.account(VOTER1).grep == forum.account(VOTER2).grep == 100 * UNIT
    assert forum.post_of(proposal).stage == BINDING

    forum.run(
        binding_opens + PARAMS.gov_binding_blocks + 1,
        at={
            binding_opens + 1: lambda: forum.stage_votes(
                proposal, [(VOTER1, FOR, 80), (VOTER3, AGAINST, 20)]
            )
        },
    )
    binding = forum.state().pool(forum.post_of(proposal).binding_pool_id)
    assert binding.status == POOL_ACCEPTED and binding.binding_ppm == PPM
    assert binding.author_minted == binding.unassigned_minted == 0  # stage pools mint nothing
    # The AGAINST voter loses its whole stake, to the FOR voter.
    assert forum.account(VOTER3).grep == 80 * UNIT
    assert forum.account(VOTER1).grep == 120 * UNIT
    assert forum.account(VOTER2).grep == 100 * UNIT
    assert forum.post_of(proposal).stage == PASSED
    assert_supply_exact(forum)


def assert_nothing_changed(forum: Forum) -> None:
    state = forum.state()
    assert state.wsc_id == 0 and forum.chain.head.wsc_id == 0
    assert state.params == PARAMS
    assert state.wsc(1).is_empty()
    assert agenda(state).items == []  # nothing waits to activate


def test_proposal_rejected_at_the_sentiment_stage_changes_nothing() -> None:
    forum = Forum()
    proposal = forum.post(AUTHOR1, "a proposal", kind=PROPOSAL, wsc={"subsidy": NEW_SUBSIDY})
    forum.block(proposal)
    sentiment_opens, binding_opens, active_at = stage_heights(1)
    forum.run(
        active_at + 1,  # past the height it would have been active at
        at={
            sentiment_opens + 1: lambda: forum.stage_votes(
                proposal, [(VOTER1, AGAINST, 50), (VOTER2, FOR, 10)]
            )
        },
    )
    rejected = forum.post_of(proposal)
    assert rejected.stage == FAILED
    assert rejected.binding_pool_id == 0  # no binding vote was held
    assert forum.state().pool(rejected.sentiment_pool_id).resolved_at == binding_opens
    assert forum.account(VOTER2).grep == 100 * UNIT  # non-binding: the loser keeps its stake
    assert_nothing_changed(forum)


def test_proposal_rejected_at_the_binding_stage_changes_nothing() -> None:
    forum = Forum()
    proposal = forum.post(AUTHOR1, "a proposal", kind=PROPOSAL, wsc={"subsidy": NEW_SUBSIDY})
    forum.block(proposal)
    sentiment_opens, binding_opens, active_at = stage_heights(1)
    forum.run(
        active_at + 1,
        at={
            sentiment_opens + 1: lambda: forum.stage_votes(proposal, [(VOTER1, FOR, 50)]),
            # 60% FOR: a majority, short of the binding win ratio (2/3)
            binding_opens + 1: lambda: forum.stage_votes(
                proposal, [(VOTER1, FOR, 60), (VOTER2, AGAINST, 40)]
            ),
        },
    )
    rejected = forum.post_of(proposal)
    assert rejected.stage == FAILED
    assert forum.state().pool(rejected.binding_pool_id).status == POOL_REJECTED
    assert forum.account(VOTER1).grep == 40 * UNIT  # binding: the FOR voters lose everything
    assert forum.account(VOTER2).grep == 160 * UNIT
    assert_nothing_changed(forum)
    assert_supply_exact(forum)


def test_changes_made_inconsistent_before_activation_are_not_applied() -> None:
    forum = Forum()
    smaller_blocks = forum.post(
        AUTHOR1, "smaller blocks", kind=PROPOSAL, wsc={"max_block_bytes": 150_000}
    )
    forum.block(smaller_blocks)
    bigger_txs = forum.post(
        AUTHOR2, "bigger transactions", kind=PROPOSAL, wsc={"max_tx_bytes": 200_000}
    )
    forum.block(bigger_txs)  # valid now: 200_000 <= 262_144
    first = stage_heights(1)
    second = stage_heights(2)
    forum.run(
        second[2],
        at={
            first[0] + 1: lambda: forum.stage_votes(smaller_blocks, [(VOTER1, FOR, 40)]),
            second[0] + 1: lambda: forum.stage_votes(bigger_txs, [(VOTER2, FOR, 40)]),
            first[1] + 1: lambda: forum.stage_votes(smaller_blocks, [(VOTER1, FOR, 70)]),
            second[1] + 1: lambda: forum.stage_votes(bigger_txs, [(VOTER2, FOR, 70)]),
        },
    )
    state = forum.state()
    assert forum.post_of(smaller_blocks).stage == ACTIVE
    assert state.wsc(1).activated_at == first[2]
    assert forum.post_of(bigger_txs).stage == NOT_APPLIED
    assert forum.post_of(bigger_txs).wsc_id == 0
    assert state.wsc_id == 1 and state.wsc(2).is_empty()
    assert forum.chain.head.wsc_id == 1
    assert state.params == PARAMS.replace(max_block_bytes=150_000)
    # New proposals are checked against the active WSC.
    again = forum.post(AUTHOR2, "bigger again", kind=PROPOSAL, wsc={"max_tx_bytes": 200_000})
    with pytest.raises(InvalidTransaction, match="max_tx_bytes must not exceed max_block_bytes"):
        validate_transaction(forum.state(), again, forum.chain.rules)
