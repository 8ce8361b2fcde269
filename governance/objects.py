"""The forum's state: posts with their authors, citations, value and proposal stage."""

from __future__ import annotations

from dataclasses import dataclass, field

from porchain.constants import INCINERATOR
from porchain.db import schema
from porchain.state.state import State
from porchain.types.records import Record

# The incinerator, citable like a post: what is donated to it is burned.
INCINERATOR_POST = b"\x00" * 12 + INCINERATOR

COMMENT = 0
PROPOSAL = 1
KIND_NAMES = {COMMENT: "comment", PROPOSAL: "proposal"}

# post status (its own pool)
PENDING, ACCEPTED, REJECTED, NO_QUORUM, REVIVED = 0, 1, 2, 3, 4
STATUS_NAMES = {
    PENDING: "pending",
    ACCEPTED: "accepted",
    REJECTED: "rejected",
    NO_QUORUM: "no_quorum",
    REVIVED: "revived",  # no quorum while governance was dormant: the post got its whole mint
}

# proposal stages
DISCUSSION, SENTIMENT, BINDING, PASSED, FAILED, ACTIVE, NOT_APPLIED = range(7)
STAGE_NAMES = {
    DISCUSSION: "discussion",
    SENTIMENT: "sentiment",
    BINDING: "binding",
    PASSED: "accepted",
    FAILED: "rejected",
    ACTIVE: "active",
    NOT_APPLIED: "not_applied",
}

KINDS = tuple(KIND_NAMES.values())
POST_STATUSES = tuple(STATUS_NAMES.values())
STAGES = tuple(STAGE_NAMES.values())


@dataclass(slots=True)
class Author(Record):
    address: bytes = b""
    weight: int = 0  # ppm; the authors of a post sum to 1e6


@dataclass(slots=True)
class Citation(Record):
    post: bytes = b""
    weight: int = 0  # ppm, the magnitude
    negative: int = 0  # 1: the citation leaches instead of donating

    @property
    def signed_weight(self) -> int:
        return -self.weight if self.negative else self.weight


@dataclass(slots=True)
class Post(Record):
    """A forum post. `value` is the gREP its authors hold because of it (what it has gained)."""

    id: bytes = b""
    kind: int = 0
    authors: list[Author] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    title: bytes = b""
    created_at: int = 0
    pool_id: int = 0
    status: int = 0
    value: int = 0
    wsc_params: bytes = b""  # proposals: canonical JSON of the parameter changes
    stage: int = 0
    stage_pool_id: int = 0
    stage_ends: int = 0  # the block that opens the next stage, or activates an accepted one
    sentiment_pool_id: int = 0
    binding_pool_id: int = 0
    wsc_id: int = 0  # once active

    @property
    def top_author(self) -> bytes:
        """The author who receives rounding remainders: the largest weight, then lower address."""
        return min(self.authors, key=lambda a: (-a.weight, a.address)).address


@dataclass(slots=True)
class AgendaItem(Record):
    height: int = 0
    post: bytes = b""


@dataclass(slots=True)
class Agenda(Record):
    """Proposals waiting for a height: the end of discussion, or activation."""

    items: list[AgendaItem] = field(default_factory=list)


def post(state: State, post_id: bytes) -> Post:
    return state.get(schema.post_state_key(post_id), Post)


def agenda(state: State) -> Agenda:
    return state.get(schema.GOV_AGENDA_STATE_KEY, Agenda)
