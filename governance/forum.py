"""POST: forum posts and proposals (PROTOCOL section 10).

A post names its authors (ppm weights summing to 1e6, the sender among them), a title, a body,
and weighted citations of existing posts (or of the incinerator): each weight in [1, 1e6], FOR or
AGAINST, the magnitudes summing to at most 1e6. A proposal may carry WSC parameter changes,
checked against the active WSC when submitted. The post pays `post_fee`, which opens its gREP
pool; its id is the hash of the POST transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from governance.objects import (
    COMMENT,
    DISCUSSION,
    INCINERATOR_POST,
    PROPOSAL,
    AgendaItem,
    Author,
    Citation,
    Post,
    agenda,
    post,
)
from porchain.consensus.ledger import GREP
from porchain.consensus.modules import BlockContext, TxHandler
from porchain.consensus.pool_codes import POST_POOL
from porchain.consensus.pools import PoolTerms, open_pool
from porchain.constants import PPM
from porchain.crypto.keys import ADDRESS_SIZE, to_checksum_address
from porchain.db import schema
from porchain.errors import DecodeError, InvalidParameters, InvalidTransaction
from porchain.params import WSCParams
from porchain.state.state import State
from porchain.types.records import Record
from porchain.types.transactions import Transaction, TxKind

MAX_AUTHORS = 8
MAX_CITATIONS = 32
MAX_TITLE_BYTES = 200
FIXED_PARAMETERS = frozenset({"slot_ms", "epoch_slots"})  # the slot clock is fixed at genesis


@dataclass(slots=True)
class PostPayload(Record):
    kind: int = 0
    authors: list[Author] = field(default_factory=list)
    title: bytes = b""
    body: bytes = b""
    citations: list[Citation] = field(default_factory=list)
    wsc_params: bytes = b""  # JSON object of parameter changes (proposals only)

    def changes(self) -> dict[str, Any]:
        return json.loads(self.wsc_params) if self.wsc_params else {}


def post_terms(state: State) -> PoolTerms:
    params = state.params
    return PoolTerms(
        duration=params.gov_post_duration,
        quorum_ppm=params.gov_quorum_ppm,
        win_ratio_ppm=params.gov_win_ratio_ppm,
        binding_ppm=params.gov_binding_ppm,
        author_share_ppm=params.author_share_ppm,
    )


def check_authors(authors: list[Author], sender: bytes) -> None:
    if not 1 <= len(authors) <= MAX_AUTHORS:
        raise InvalidTransaction(f"a post has 1 to {MAX_AUTHORS} authors, got {len(authors)}")
    addresses = [a.address for a in authors]
    if any(len(a) != ADDRESS_SIZE for a in addresses) or len(set(addresses)) != len(addresses):
        raise InvalidTransaction("authors must be distinct 20-byte addresses")
    if any(a.weight == 0 for a in authors) or sum(a.weight for a in authors) != PPM:
        raise InvalidTransaction("author weights must be positive and sum to 1,000,000 ppm")
    if sender not in addresses:
        raise InvalidTransaction("the sender must be one of the post's authors")


def check_citations(state: State, citations: list[Citation]) -> None:
    if len(citations) > MAX_CITATIONS:
        raise InvalidTransaction(f"a post cites at most {MAX_CITATIONS} posts")
    targets = [c.post for c in citations]
    if len(set(targets)) != len(targets):
        raise InvalidTransaction("a post cites each post at most once")
    for citation in citations:
        if citation.negative > 1 or not 1 <= citation.weight <= PPM:
            raise InvalidTransaction("citation weights are 1 to 1,000,000 ppm, FOR or AGAINST")
        if citation.post != INCINERATOR_POST and post(state, citation.post).is_empty():
            raise InvalidTransaction(f"cites a post that does not exist: 0x{citation.post.hex()}")
    total = sum(c.weight for c in citations)
    if total > PPM:
        raise InvalidTransaction(
            f"citation weights sum to {total:,} ppm in magnitude, over the limit of 1,000,000"
        )


def proposed_params(state: State, changes: dict[str, Any]) -> WSCParams:
    """The WSC a proposal would make active now; InvalidParameters if it cannot."""
    fixed = sorted(FIXED_PARAMETERS & set(changes))
    if fixed:
        raise InvalidParameters(f"{', '.join(fixed)} cannot change after genesis")
    return WSCParams.from_dict(changes, base=state.params)


def check_wsc_params(state: State, payload: PostPayload) -> None:
    if not payload.wsc_params:
        return
    if payload.kind != PROPOSAL:
        raise InvalidTransaction("only proposals carry WSC parameter changes")
    try:
        changes = payload.changes()
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: RecursionError
        raise InvalidTransaction("wsc_params must be a JSON object") from None
    if not isinstance(changes, dict) or not changes:
        raise InvalidTransaction("wsc_params must be a non-empty JSON object")
    try:
        proposed_params(state, changes)
    except InvalidParameters as exc:
        raise InvalidTransaction(f"invalid WSC parameters: {exc}") from None


class PostHandler(TxHandler[PostPayload]):
    kind = TxKind.POST

    def decode(self, payload: list) -> PostPayload:
        try:
            decoded = PostPayload.from_rlp(payload)
        except DecodeError as exc:
            raise InvalidTransaction(f"malformed POST: {exc}") from None
        if decoded.kind not in (COMMENT, PROPOSAL):
            raise InvalidTransaction("post kind must be 0 (comment) or 1 (proposal)")
        try:
            title = decoded.title.decode()
            decoded.body.decode()
        except UnicodeDecodeError:
            raise InvalidTransaction("title and body must be UTF-8 text") from None
        if not title.strip() or len(decoded.title) > MAX_TITLE_BYTES:
            raise InvalidTransaction(f"a title is 1 to {MAX_TITLE_BYTES} bytes")
        return decoded

    def spends(self, state: State, payload: PostPayload) -> int:
        return state.params.post_fee

    def validate(self, state: State, tx: Transaction, payload: PostPayload) -> None:
        check_authors(payload.authors, tx.sender)
        check_citations(state, payload.citations)
        check_wsc_params(state, payload)

    def apply(self, state: State, tx: Transaction, payload: PostPayload, ctx: BlockContext):
        params = state.params
        number = ctx.header.number
        state.account(tx.sender).balance -= params.post_fee
        ctx.fees += params.post_fee
        pool = open_pool(
            state,
            kind=POST_POOL,
            token=GREP,
            target=tx.hash,
            author=b"",  # the reference mechanism pays the authors (governance.references)
            fee=params.post_fee,
            minted=params.post_fee * params.mint_ratio,
            terms=post_terms(state),
            opened_at=number,
        )
        created = Post(
            id=tx.hash,
            kind=payload.kind,
            authors=sorted(payload.authors, key=lambda a: a.address),
            citations=payload.citations,
            title=payload.title,
            created_at=number,
            pool_id=pool.id,
            wsc_params=canonical_json(payload.changes()) if payload.wsc_params else b"",
        )
        if payload.kind == PROPOSAL:
            created.stage = DISCUSSION
            created.stage_ends = number + params.gov_discussion_blocks
            schedule(state, created.stage_ends, created.id)
        state.set(schema.post_state_key(tx.hash), created)

    def describe(self, payload: PostPayload) -> dict[str, Any]:
        return {
            "kind": "proposal" if payload.kind == PROPOSAL else "comment",
            "title": payload.title.decode(errors="replace"),
            "authors": [
                {"address": to_checksum_address(a.address), "weight_ppm": a.weight}
                for a in payload.authors
            ],
            "citations": [
                {"post": "0x" + c.post.hex(), "weight_ppm": c.signed_weight}
                for c in payload.citations
            ],
            "wsc_params": payload.changes() if payload.wsc_params else None,
            "body_bytes": len(payload.body),
        }


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def schedule(state: State, height: int, post_id: bytes) -> None:
    items = agenda(state).items
    items.append(AgendaItem(height, post_id))
    items.sort(key=lambda item: (item.height, item.post))
