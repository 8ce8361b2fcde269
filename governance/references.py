"""The reference mechanism (PROTOCOL section 10): value flowing through the citation graph.

When a post's pool accepts it, the post's minted share V flows into it:

1. leaching first: each negative citation (Q, w) takes `w * V` from Q, but never more than Q has
   gained (its value) nor than its authors still hold; the citing post keeps what it takes;
2. then donating: each positive citation (R, w) passes `w * V` on to R, where it flows again,
   one hop further, up to `reference_chain_limit` hops (a donation to the incinerator burns);
3. what is left, plus what was leached, is the post's: its value grows by it and its authors'
   gREP follows, split by their weights (the rounding remainder to the top author).

Losses do not travel: a leached post loses value, the posts it cited keep theirs. Every amount
moves through the gREP pool ledger, so what a flow pays out always equals what it started with
plus what it leached.

The WSC royalty (REP, every block) flows the same way from the active WSC's post, through
positive citations only, and leaves post values alone: it rewards the sub-DAG behind the WSC.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from governance.objects import INCINERATOR_POST, Author, Post, post
from porchain.consensus.ledger import GREP, LEDGERS, mint_rep
from porchain.consensus.salary import settle_salary
from porchain.constants import INCINERATOR, PPM
from porchain.state.state import State


@dataclass(frozen=True, slots=True)
class Move:
    post: bytes
    depth: int
    kind: str  # "kept", "donated", "leached", "burned"
    amount: int


@dataclass(slots=True)
class Flow:
    moves: list[Move] = field(default_factory=list)

    def total(self, kind: str) -> int:
        return sum(m.amount for m in self.moves if m.kind == kind)


def split(amount: int, authors: list[Author], top: bytes) -> list[tuple[bytes, int]]:
    """`amount` split by the authors' ppm weights; the remainder goes to `top`."""
    shares = [(a.address, amount * a.weight // PPM) for a in authors]
    remainder = amount - sum(share for _, share in shares)
    return [(address, share + (remainder if address == top else 0)) for address, share in shares]


class Payout(ABC):
    """What a flow pays in: gREP out of a pool, changing post values (`GrepValue`), or REP minted
    for the WSC royalty (`RepRoyalty`)."""

    leaches = False

    @abstractmethod
    def keep(self, state: State, target: Post, amount: int) -> None:
        """Pay the share a post keeps to its authors."""

    @abstractmethod
    def burn(self, state: State, amount: int) -> None:
        """Destroy what flowed to the incinerator."""


class GrepValue(Payout):
    leaches = True

    def keep(self, state: State, target: Post, amount: int) -> None:
        target.value += amount
        for address, share in split(amount, target.authors, target.top_author):
            LEDGERS[GREP].pay_from_pool(state, address, share)

    def burn(self, state: State, amount: int) -> None:
        LEDGERS[GREP].burn_from_pool(state, amount)


class RepRoyalty(Payout):
    def keep(self, state: State, target: Post, amount: int) -> None:
        for address, share in split(amount, target.authors, target.top_author):
            mint_rep(state, address, share)

    def burn(self, state: State, amount: int) -> None:
        mint_rep(state, INCINERATOR, amount)  # minted and burned, counted both ways


def flow_value(state: State, post_id: bytes, amount: int) -> Flow:
    """Pay `amount` gREP, held by the post's pool, into the post per the reference mechanism."""
    flow = Flow()
    _flow(state, post_id, amount, 0, state.params.reference_chain_limit, GrepValue(), flow)
    return flow


def flow_royalty(state: State, post_id: bytes, amount: int) -> Flow:
    """Mint `amount` REP down the positive citations of `post_id`."""
    flow = Flow()
    _flow(state, post_id, amount, 0, state.params.reference_chain_limit, RepRoyalty(), flow)
    return flow


def _flow(
    state: State, post_id: bytes, amount: int, depth: int, limit: int, payout: Payout, flow: Flow
) -> None:
    if post_id == INCINERATOR_POST:
        payout.burn(state, amount)
        flow.moves.append(Move(post_id, depth, "burned", amount))
        return
    target = post(state, post_id)
    kept = amount
    if depth < limit:
        if payout.leaches:
            for citation in target.citations:
                if citation.negative:
                    taken = leach(state, citation.post, citation.weight * amount // PPM)
                    if taken:
                        flow.moves.append(Move(citation.post, depth + 1, "leached", taken))
                    kept += taken
        for citation in target.citations:
            give = citation.weight * amount // PPM
            if not citation.negative and give:
                flow.moves.append(Move(citation.post, depth + 1, "donated", give))
                _flow(state, citation.post, give, depth + 1, limit, payout, flow)
                kept -= give
    payout.keep(state, target, kept)
    flow.moves.append(Move(post_id, depth, "kept", kept))


def leach(state: State, post_id: bytes, wanted: int) -> int:
    """Take up to `wanted` gREP from a post's authors into the pool; return what was taken."""
    if post_id == INCINERATOR_POST or wanted == 0:
        return 0
    source = post(state, post_id)
    limit = min(wanted, source.value)
    taken = 0
    for address, share in split(limit, source.authors, source.top_author):
        account = state.account(address)
        settle_salary(state, account)
        take = min(share, account.grep)
        account.grep -= take
        taken += take
    source.value -= taken
    state.supply.grep -= taken
    state.supply.grep_pooled += taken
    return taken
