"""The `gov_` RPC namespace: the forum, proposals, tallies, the WSC history, dry runs.

Loaded by porchain's RPC server through the `porchain.rpc` entry point (a class taking the
node), so the core never imports governance. Every method reads the head state off the event
loop, on a chain snapshot (`porchain.rpc.view`), except `gov_dryRun`, which checks against
the pending state as the mempool would, on the loop. A post is named by
its full id or by a unique 0x-prefix of at least 8 hex digits; a malformed or ambiguous id is
InvalidParams, an unknown post is null.
"""

from __future__ import annotations

from itertools import count
from typing import TYPE_CHECKING, Any

from governance import objects as o
from governance.dryrun import dry_run
from governance.graph import citation_graph
from governance.queries import BadPostId, post_body, resolve_post_id
from governance.views import (
    changes_of,
    params_diff,
    pool_tally,
    post_summary,
    proposal_fields,
    stage_deadline,
    wsc_json,
)
from porchain.consensus.pool_codes import POST_POOL
from porchain.params import WSCParams
from porchain.rpc import params
from porchain.rpc.errors import InvalidParams
from porchain.rpc.params import hex0x
from porchain.rpc.view import on_loop
from porchain.state.state import State

if TYPE_CHECKING:
    from porchain.node import Node

MAX_DEPTH = 16


class GovApi:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.chain = node.chain

    def _post(self, post_id: Any) -> o.Post | None:
        try:
            found = resolve_post_id(self.chain, post_id)
        except BadPostId as exc:
            raise InvalidParams(f"post id: {exc}") from None
        return None if found is None else o.post(self.chain.state(), found)

    def _proposal(self, post_id: Any) -> o.Post | None:
        found = self._post(post_id)
        if found is not None and found.kind != o.PROPOSAL:
            raise InvalidParams(f"post 0x{found.id.hex()} is a comment, not a proposal")
        return found

    # -- posts ---------------------------------------------------------------------------------

    def gov_getPost(self, post_id: Any) -> dict[str, Any] | None:
        """A post in full: its body comes from the POST transaction in its block."""
        found = self._post(post_id)
        if found is None:
            return None
        out = post_summary(self.chain.state(), found)
        out["body"] = post_body(self.chain, found.id)
        return out

    def gov_listPosts(
        self,
        kind: Any = None,
        status: Any = None,
        author: Any = None,
        limit: Any = 50,
        before: Any = None,
    ) -> list[dict[str, Any]]:
        """Posts, newest first (by their pool id: below `before` if given, the `pool_id` of
        the last post of the previous page); `status` is a post status or a proposal stage.
        The pools are walked from the newest down, at most MAX_SCAN of them."""
        if kind is not None and kind not in o.KINDS:
            raise InvalidParams(f"kind must be one of {', '.join(o.KINDS)}")
        statuses = o.POST_STATUSES + o.STAGES
        if status is not None and status not in statuses:
            raise InvalidParams(f"status must be one of {', '.join(dict.fromkeys(statuses))}")
        wanted_author = None if author is None else params.address(author, "author")
        limit = params.limit(limit)
        state = self.chain.state()
        out = []
        for pool_id in params.scan_range(before, state.open_pools.next_id):
            pool = state.pool(pool_id)
            if pool.kind != POST_POOL or pool.is_empty():
                continue
            post = o.post(state, pool.target)
            if kind is not None and o.KIND_NAMES.get(post.kind) != kind:
                continue
            if status is not None and status not in _statuses(post):
                continue
            if wanted_author is not None and all(a.address != wanted_author for a in post.authors):
                continue
            out.append(post_summary(state, post))
            if len(out) == limit:
                break
        return out

    # -- proposals -----------------------------------------------------------------------------

    def gov_getProposal(self, post_id: Any) -> dict[str, Any] | None:
        """A proposal's stage, deadlines, the tallies of its three pools and its parameter
        diff (against the active WSC; once active, against the WSC it replaced)."""
        found = self._proposal(post_id)
        if found is None:
            return None
        state = self.chain.state()
        base_id = found.wsc_id - 1 if found.wsc_id else state.wsc_id
        base = WSCParams.decode(state.wsc(base_id).params_json)
        out = {
            "id": hex0x(found.id),
            "title": found.title.decode(errors="replace"),
            **proposal_fields(state, found),
            "next": stage_deadline(found),
            "head": state.chain.number,
            "diff_base_wsc_id": base_id,
            "diff": params_diff(base, changes_of(found)),
        }
        out["pools"] = {
            "post": pool_tally(state, state.pool(found.pool_id)),
            "sentiment": self._tally(state, found.sentiment_pool_id),
            "binding": self._tally(state, found.binding_pool_id),
        }
        return out

    def gov_tally(self, post_id: Any) -> dict[str, Any] | None:
        """For and against, quorum needed against what is staked, win ratio: per pool."""
        found = self._post(post_id)
        if found is None:
            return None
        state = self.chain.state()
        pool_ids = [found.pool_id, found.sentiment_pool_id, found.binding_pool_id]
        return {
            "id": hex0x(found.id),
            "title": found.title.decode(errors="replace"),
            "head": state.chain.number,
            "pools": [pool_tally(state, state.pool(pid)) for pid in pool_ids if pid],
        }

    @staticmethod
    def _tally(state: State, pool_id: int) -> dict[str, Any] | None:
        return pool_tally(state, state.pool(pool_id)) if pool_id else None

    # -- the WSC -------------------------------------------------------------------------------

    def gov_activeWsc(self) -> dict[str, Any]:
        state = self.chain.state()
        return wsc_json(state, state.wsc_id, state.wsc(state.wsc_id))

    def gov_wscHistory(self) -> list[dict[str, Any]]:
        """Every WSC, in id order: ids are consecutive from #0 (genesis)."""
        state = self.chain.state()
        out = []
        for wsc_id in count():
            record = state.wsc(wsc_id)
            if record.is_empty():
                break
            out.append(wsc_json(state, wsc_id, record))
        return out

    # -- the graph and dry runs ----------------------------------------------------------------

    def gov_citationGraph(self, post_id: Any, depth: Any = 3) -> dict[str, Any] | None:
        depth = params.integer(depth, "depth", 0, MAX_DEPTH)
        found = self._post(post_id)
        return None if found is None else citation_graph(self.chain, found.id, depth)

    @on_loop
    def gov_dryRun(self, raw: Any) -> dict[str, Any]:
        """Validate a signed POST on the pending state and show its fee, its parameter diff
        and the citation effects if it were accepted; nothing is admitted or changed."""
        return dry_run(self.node, params.hex_bytes(raw, "raw transaction"))


def _statuses(post: o.Post) -> set[str]:
    names = {o.STATUS_NAMES.get(post.status, "")}
    if post.kind == o.PROPOSAL:
        names.add(o.STAGE_NAMES.get(post.stage, ""))
    return names
