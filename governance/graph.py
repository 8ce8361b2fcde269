"""The citation graph around one post, as `gov_citationGraph` serves it.

Outgoing citations are followed breadth first up to `depth` hops (the reference mechanism
itself stops at `reference_chain_limit`, so 3 hops show everything a flow can reach by
default); the posts citing the root are added one hop back, so a reader sees both what the
post builds on and who builds on it. Each node carries its shortest distance from the root
(-1 for the citing posts), which the renderers use as the layer to draw it in.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from governance import objects as o
from governance.queries import citing
from governance.views import title_of
from porchain.chain import Chain
from porchain.rpc.params import hex0x
from porchain.state.state import State


def node_json(state: State, post_id: bytes, depth: int) -> dict[str, Any]:
    if post_id == o.INCINERATOR_POST:
        return {
            "id": hex0x(post_id),
            "title": title_of(state, post_id),
            "kind": "incinerator",
            "value": None,
            "status": None,
            "stage": None,
            "depth": depth,
        }
    post = o.post(state, post_id)
    return {
        "id": hex0x(post_id),
        "title": post.title.decode(errors="replace"),
        "kind": o.KIND_NAMES.get(post.kind, str(post.kind)),
        "value": str(post.value),
        "status": o.STATUS_NAMES.get(post.status, str(post.status)),  # of its value pool
        "stage": o.STAGE_NAMES.get(post.stage, str(post.stage))
        if post.kind == o.PROPOSAL
        else None,
        "depth": depth,
    }


def citation_graph(chain: Chain, root: bytes, depth: int) -> dict[str, Any]:
    state = chain.state()
    distance = {root: 0}
    edges: list[dict[str, Any]] = []
    queue = deque([root])
    while queue:
        current = queue.popleft()
        if current == o.INCINERATOR_POST or distance[current] >= depth:
            continue
        for citation in o.post(state, current).citations:
            edges.append(
                {
                    "from": hex0x(current),
                    "to": hex0x(citation.post),
                    "weight_ppm": citation.signed_weight,
                }
            )
            if citation.post not in distance:
                distance[citation.post] = distance[current] + 1
                queue.append(citation.post)
    cited_by = citing(chain, root)
    for post in cited_by:
        weight = next(c.signed_weight for c in post.citations if c.post == root)
        edges.append({"from": hex0x(post.id), "to": hex0x(root), "weight_ppm": weight})
        distance.setdefault(post.id, -1)
    return {
        "root": hex0x(root),
        "depth": depth,
        "nodes": [node_json(state, post_id, d) for post_id, d in distance.items()],
        "edges": edges,
        "cited_by": [hex0x(post.id) for post in cited_by],
    }
