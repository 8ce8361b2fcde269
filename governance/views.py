"""JSON shapes of the forum for the `gov_` RPC methods: posts, proposals, tallies, the WSC.

As everywhere in the RPC: bytes as 0x-hex, amounts as decimal strings of base units, heights
and ppm as numbers. Weights of citations are signed (negative: the citation leaches).
"""

from __future__ import annotations

import json
from typing import Any

from governance import objects as o
from porchain.consensus.ledger import LEDGERS, REP
from porchain.consensus.pool_codes import FOR, KIND_NAMES, OPEN, STATUS_NAMES
from porchain.consensus.pools import resolution_outcome
from porchain.constants import PPM
from porchain.crypto.keys import to_checksum_address
from porchain.params import WSCParams
from porchain.rpc.params import hex0x
from porchain.state.objects import Pool, WscRecord
from porchain.state.state import State

INCINERATOR_TITLE = "(the incinerator)"
LIVE_STAGES = (o.DISCUSSION, o.SENTIMENT, o.BINDING, o.PASSED)  # `stage_ends` is ahead of them


def title_of(state: State, post_id: bytes) -> str:
    if post_id == o.INCINERATOR_POST:
        return INCINERATOR_TITLE
    return o.post(state, post_id).title.decode(errors="replace")


def changes_of(post: o.Post) -> dict[str, Any]:
    return json.loads(post.wsc_params) if post.wsc_params else {}


def params_diff(base: WSCParams, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """`{key: [old, new]}` for each change that differs from `base`, in key order."""
    current = base.to_dict()
    return {
        key: [current.get(key), value]
        for key, value in sorted(changes.items())
        if current.get(key) != value
    }


def post_summary(state: State, post: o.Post) -> dict[str, Any]:
    """A post as listings show it: everything but the body."""
    pool = state.pool(post.pool_id)
    out: dict[str, Any] = {
        "id": hex0x(post.id),
        "kind": o.KIND_NAMES.get(post.kind, str(post.kind)),
        "title": post.title.decode(errors="replace"),
        "authors": [
            {"address": to_checksum_address(a.address), "weight_ppm": a.weight}
            for a in post.authors
        ],
        "citations": [
            {
                "post": hex0x(c.post),
                "weight_ppm": c.signed_weight,
                "title": title_of(state, c.post),
            }
            for c in post.citations
        ],
        "value": str(post.value),
        "status": o.STATUS_NAMES.get(post.status, str(post.status)),
        "pool_id": post.pool_id,
        "pool_status": STATUS_NAMES.get(pool.status, str(pool.status)),
        "pool_closes_at": pool.closes_at,
        "created_at": post.created_at,
        "proposal": proposal_fields(state, post) if post.kind == o.PROPOSAL else None,
    }
    return out


def proposal_fields(state: State, post: o.Post) -> dict[str, Any]:
    stage_pool = state.pool(post.stage_pool_id) if post.stage_pool_id else None
    return {
        "stage": o.STAGE_NAMES.get(post.stage, str(post.stage)),
        "stage_pool_id": post.stage_pool_id or None,
        "stage_pool_status": STATUS_NAMES[stage_pool.status] if stage_pool else None,
        "stage_pool_closes_at": stage_pool.closes_at if stage_pool else None,
        "stage_ends": post.stage_ends if post.stage in LIVE_STAGES else None,
        "sentiment_pool_id": post.sentiment_pool_id or None,
        "binding_pool_id": post.binding_pool_id or None,
        "activation_height": activation_height(state, post),
        "wsc_params": changes_of(post) or None,
        "wsc_id": post.wsc_id or None,
    }


def activation_height(state: State, post: o.Post) -> int | None:
    """Known once the binding vote accepted it: the block its WSC takes effect at."""
    if post.stage == o.PASSED:
        return post.stage_ends
    if post.stage == o.ACTIVE:
        return state.wsc(post.wsc_id).activated_at if post.wsc_id else post.stage_ends
    return None


def stage_deadline(post: o.Post) -> str | None:
    """What happens at `stage_ends`, in words, for people reading a proposal."""
    return {
        o.DISCUSSION: "the sentiment vote opens",
        o.SENTIMENT: "the sentiment vote resolves",
        o.BINDING: "the binding vote resolves",
        o.PASSED: "the WSC change takes effect",
    }.get(post.stage)


def pool_tally(state: State, pool: Pool) -> dict[str, Any]:
    """Where a pool stands: FOR and AGAINST (minted shares included, as the outcome counts
    them), members' stakes against the quorum, the FOR ratio against the win ratio. For an
    open pool, `projected` is the outcome if it resolved now."""
    ledger = LEDGERS[pool.token]
    supply = ledger.total(state)
    staked = sum(s.amount for s in pool.stakes)
    if pool.status == OPEN:
        for_total = pool.author_minted + sum(s.amount for s in pool.stakes if s.side == FOR)
        against_total = pool.unassigned_minted + sum(s.amount for s in pool.stakes if s.side != FOR)
    else:
        for_total, against_total = pool.for_total, pool.against_total
    both = for_total + against_total
    quorum_needed = -(-pool.quorum_ppm * supply // PPM)
    return {
        "pool_id": pool.id,
        "kind": KIND_NAMES.get(pool.kind, str(pool.kind)),
        "token": "REP" if pool.token == REP else "gREP",
        "status": STATUS_NAMES[pool.status],
        "opened_at": pool.opened_at,
        "closes_at": pool.closes_at,
        "resolved_at": pool.resolved_at or None,
        "for": str(for_total),
        "against": str(against_total),
        "staked": str(staked),
        "voters": len(pool.stakes),
        "supply": str(supply),
        "quorum_ppm": pool.quorum_ppm,
        "quorum_needed": str(quorum_needed),
        "quorum_reached": staked >= quorum_needed and supply > 0,
        "win_ratio_ppm": pool.win_ratio_ppm,
        "for_ratio_ppm": for_total * PPM // both if both else None,
        "binding_ppm": pool.binding_ppm,
        "projected": projected(state, pool),
    }


def projected(state: State, pool: Pool) -> str | None:
    """An open pool's outcome if it resolved at the next block (revival included)."""
    if pool.status != OPEN:
        return None
    return STATUS_NAMES[resolution_outcome(state, pool, state.chain.number + 1)]


def wsc_json(state: State, wsc_id: int, record: WscRecord) -> dict[str, Any]:
    return {
        "id": wsc_id,
        "active": wsc_id == state.wsc_id,
        "params": json.loads(record.params_json),
        "activated_at": record.activated_at,
        "author": to_checksum_address(record.author) if record.author else None,
        "post": hex0x(record.post) if record.post else None,
        "post_title": title_of(state, record.post) if record.post else None,
    }
