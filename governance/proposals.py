"""The life of a proposal (PROTOCOL section 10), and of every post's own pool.

    discussion --(gov_discussion_blocks)--> sentiment vote (non-binding)
        accepted --> binding vote (binding, higher quorum and win ratio)
            accepted --> accepted, active at accept height + activation_delay
            otherwise --> rejected
        otherwise --> rejected

Stage pools mint nothing: they only weigh gREP. A post's own pool decides its value: accepted,
its minted share runs through the reference mechanism. An accepted proposal with WSC changes
becomes the active WSC at its activation height, under a new id, with its post as the WSC's
post: from then on the block royalty flows from it through its citations.
"""

from __future__ import annotations

import json
import logging

from governance import objects as o
from governance.forum import proposed_params, schedule
from governance.references import flow_value
from porchain.consensus.ledger import GREP
from porchain.consensus.pool_codes import (
    ACCEPTED,
    BINDING_POOL,
    NO_QUORUM,
    POST_POOL,
    REJECTED,
    REVIVED,
    SENTIMENT_POOL,
)
from porchain.consensus.pools import PoolTerms, open_pool
from porchain.db import schema
from porchain.errors import InvalidParameters
from porchain.state.objects import ActiveWsc, Pool, WscRecord
from porchain.state.state import State

log = logging.getLogger(__name__)


def sentiment_terms(state: State) -> PoolTerms:
    p = state.params
    return PoolTerms(
        p.gov_sentiment_blocks,
        p.gov_sentiment_quorum_ppm,
        p.gov_sentiment_win_ratio_ppm,
        p.gov_sentiment_binding_ppm,
        0,
    )


def binding_terms(state: State) -> PoolTerms:
    p = state.params
    return PoolTerms(
        p.gov_binding_blocks,
        p.gov_binding_quorum_ppm,
        p.gov_binding_win_ratio_ppm,
        p.gov_binding_binding_ppm,
        0,
    )


def open_stage_pool(state: State, proposal: o.Post, kind: int, terms: PoolTerms, number: int):
    pool = open_pool(
        state,
        kind=kind,
        token=GREP,
        target=proposal.id,
        author=b"",
        fee=0,
        minted=0,
        terms=terms,
        opened_at=number,
    )
    proposal.stage_pool_id = pool.id
    proposal.stage_ends = pool.closes_at + 1
    if kind == SENTIMENT_POOL:
        proposal.stage, proposal.sentiment_pool_id = o.SENTIMENT, pool.id
    else:
        proposal.stage, proposal.binding_pool_id = o.BINDING, pool.id


def process_agenda(state: State, number: int) -> None:
    """Proposals due at block `number`: discussion ends, or activation."""
    agenda = o.agenda(state)
    due = [item for item in agenda.items if item.height <= number]
    agenda.items = [item for item in agenda.items if item.height > number]
    for item in due:
        proposal = o.post(state, item.post)
        if proposal.stage == o.DISCUSSION:
            open_stage_pool(state, proposal, SENTIMENT_POOL, sentiment_terms(state), number)
        elif proposal.stage == o.PASSED:
            activate(state, proposal, number)


def activate(state: State, proposal: o.Post, number: int) -> None:
    """Make an accepted proposal's WSC the active one from block `number` on."""
    if not proposal.wsc_params:
        proposal.stage = o.ACTIVE
        return
    try:
        params = proposed_params(state, json.loads(proposal.wsc_params))
    except InvalidParameters as exc:  # an earlier activation made the changes inconsistent
        log.info("proposal 0x%s not applied: %s", proposal.id.hex()[:16], exc)
        proposal.stage = o.NOT_APPLIED
        return
    wsc_id = state.wsc_id + 1
    record = WscRecord(params.encode(), number, proposal.top_author, proposal.id)
    state.set(schema.wsc_state_key(wsc_id), record)
    state.set(schema.ACTIVE_WSC_STATE_KEY, ActiveWsc(wsc_id))
    proposal.stage, proposal.wsc_id = o.ACTIVE, wsc_id


POST_STATUS = {
    ACCEPTED: o.ACCEPTED,
    REJECTED: o.REJECTED,
    NO_QUORUM: o.NO_QUORUM,
    REVIVED: o.REVIVED,
}


def on_pool_resolved(state: State, pool: Pool) -> None:
    if pool.kind not in (POST_POOL, SENTIMENT_POOL, BINDING_POOL):
        return
    target = o.post(state, pool.target)
    accepted = pool.status == ACCEPTED
    if pool.kind == POST_POOL:
        target.status = POST_STATUS[pool.status]
        if accepted:
            flow_value(state, target.id, pool.author_minted)
        elif pool.status == REVIVED:  # governance was dormant: the whole mint re-seeds gREP
            flow_value(state, target.id, pool.author_minted + pool.unassigned_minted)
    elif not accepted:
        target.stage = o.FAILED
    elif pool.kind == SENTIMENT_POOL:
        open_stage_pool(state, target, BINDING_POOL, binding_terms(state), pool.resolved_at)
    else:
        target.stage = o.PASSED
        target.stage_ends = pool.resolved_at + state.params.activation_delay
        schedule(state, target.stage_ends, target.id)
