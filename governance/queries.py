"""Reading the forum from a node's database: posts by id or id prefix, listings, citations.

Posts are state entries keyed by their id (a transaction hash), so they come out of the
database in hash order; listings sort them by pool id, which grows with every post in the
order the chain applied them. Every read here scans the posts once: fine for a forum of
thousands of posts, and it needs no index of its own that a reorg would have to undo.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from governance.objects import Post
from porchain.chain import Chain
from porchain.db import schema
from porchain.types.transactions import TxKind

MIN_PREFIX_DIGITS = 8
ID_DIGITS = 64
HEX = re.compile(r"[0-9a-fA-F]+")
POSTS_PREFIX = schema.state_db_key(schema.POST_PREFIX)


class BadPostId(ValueError):
    """Text that is not a post id, or a prefix matching more than one post."""


def parse_id_text(text: object) -> str:
    """The lower-case hex digits of a full id or a prefix of at least 8 digits."""
    if not isinstance(text, str) or not text.startswith(("0x", "0X")):
        raise BadPostId("a post id is a 0x-prefixed hex string")
    digits = text[2:]
    if not HEX.fullmatch(digits or "-"):
        raise BadPostId(f"{text!r} is not hex")
    if not MIN_PREFIX_DIGITS <= len(digits) <= ID_DIGITS:
        raise BadPostId(
            f"a post id is {ID_DIGITS} hex digits, or a unique prefix of at least "
            f"{MIN_PREFIX_DIGITS}; got {len(digits)}"
        )
    return digits.lower()


def resolve_post_id(chain: Chain, text: object) -> bytes | None:
    """The id of the one post `text` names (a full id or a unique prefix); None if none."""
    digits = parse_id_text(text)
    if len(digits) == ID_DIGITS:
        post_id = bytes.fromhex(digits)
        return (
            post_id
            if chain.db.exists(schema.state_db_key(schema.post_state_key(post_id)))
            else None
        )
    scan = POSTS_PREFIX + bytes.fromhex(digits[: len(digits) // 2 * 2])
    matches = [
        key[len(POSTS_PREFIX) :]
        for key, _ in chain.db.iterate(scan)
        if key[len(POSTS_PREFIX) :].hex().startswith(digits)
    ]
    if len(matches) > 1:
        raise BadPostId(f"0x{digits} is ambiguous: {len(matches)} posts start with it")
    return matches[0] if matches else None


def iter_posts(chain: Chain) -> Iterator[Post]:
    for _, raw in chain.db.iterate(POSTS_PREFIX):
        yield Post.decode(raw)


def newest_first(posts: Iterator[Post]) -> list[Post]:
    return sorted(posts, key=lambda p: p.pool_id, reverse=True)


def citing(chain: Chain, post_id: bytes) -> list[Post]:
    """The posts that cite `post_id`, oldest first."""
    found = [p for p in iter_posts(chain) if any(c.post == post_id for c in p.citations)]
    return sorted(found, key=lambda p: p.pool_id)


def post_body(chain: Chain, post_id: bytes) -> str | None:
    """The body, read from the POST transaction through the chain's transaction index (the
    state keeps only what the rules need, the body lives in the block)."""
    location = chain.get_tx_location(post_id)
    if location is None:
        return None
    block = chain.get_block(location.block_hash)
    if block is None:
        return None
    tx = block.transactions[location.index]
    if tx.kind != TxKind.POST:
        return None
    handler = chain.rules.handler(TxKind.POST)
    return handler.decode(tx.payload).body.decode(errors="replace")
