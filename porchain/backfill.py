"""Headers below a snapshot's block, fetched from peers and checked back to genesis by their
hashes: each must hash to the parent hash of the header above it, and block 1's parent must be
our genesis block. So the snapshot block is proven to descend from our genesis, without a body
or a state below it.

The lowest header held is kept (`BACKFILL_KEY`); 0 means the headers reach genesis.
"""

from __future__ import annotations

from porchain.chain import Chain
from porchain.db import schema
from porchain.errors import PorchainError
from porchain.types.blocks import Header

MAX_HEADERS = 512  # headers per request


class BadHeaders(PorchainError):
    """Headers that do not link down from the lowest one we hold."""


def lowest_held(chain: Chain) -> int:
    """The lowest canonical header this node holds above genesis, while it is still fetching
    them (0: it holds every header down to genesis)."""
    raw = chain.db.get(schema.BACKFILL_KEY)
    return 0 if raw is None else int.from_bytes(raw, "big")


def wanted(chain: Chain) -> tuple[int, int] | None:
    """The next run of headers to fetch, (start, count), or None."""
    low = lowest_held(chain)
    if low <= 1:
        return None
    start = max(1, low - MAX_HEADERS)
    return start, low - start


def check_headers(chain: Chain, headers: list[Header], start: int) -> None:
    """`headers` are blocks start.. up to just below the lowest held, each the parent of the
    next; block 1's parent is our genesis."""
    low = lowest_held(chain)
    if not headers or [h.number for h in headers] != list(range(start, low)):
        raise BadHeaders(f"headers are not blocks #{start}..#{low - 1}")
    above = chain.get_canonical_header(low)
    expected = above.parent_hash if above is not None else None
    for header in reversed(headers):
        if header.hash != expected:
            raise BadHeaders(f"header #{header.number} is not the parent of the block above it")
        expected = header.parent_hash
    if start == 1 and expected != chain.genesis_hash:
        raise BadHeaders("block #1's parent is not our genesis block")


def store_headers(chain: Chain, headers: list[Header]) -> None:
    """Write checked headers and their canonical index; lower the mark (to 0 at genesis)."""
    start = headers[0].number
    with chain.db.atomic_batch() as batch:
        for header in headers:
            batch.put(schema.header_key(header.hash), header.encode())
            batch.put(schema.canonical_key(header.number), header.hash)
        batch.put(schema.BACKFILL_KEY, (0 if start == 1 else start).to_bytes(8, "big"))
