"""The numbers of pool sides, statuses and kinds, and their names: what a client shows or
filters by, importable without the state machinery (the CLI imports only this)."""

AGAINST = 0
FOR = 1

OPEN = 0
ACCEPTED = 1
REJECTED = 2
NO_QUORUM = 3
REVIVED = 4  # a post pool without quorum while governance was dormant: the post gets its mint
STATUS_NAMES = {
    OPEN: "open",
    ACCEPTED: "accepted",
    REJECTED: "rejected",
    NO_QUORUM: "no_quorum",
    REVIVED: "revived",
}

BLOCK_POOL = 0
POST_POOL = 1  # a forum post's value vote (gREP)
SENTIMENT_POOL = 2  # a proposal's non-binding vote (gREP)
BINDING_POOL = 3  # a proposal's binding vote (gREP)
KIND_NAMES = {
    BLOCK_POOL: "block",
    POST_POOL: "post",
    SENTIMENT_POOL: "sentiment",
    BINDING_POOL: "binding",
}
