"""A relay: builders' blocks checked against the parent state, offered to producers as signed
bids, and revealed only to the producer that accepted one.

The relay holds no chain of its own: a node serving the `builder_` RPC checks every submitted
block for it (`builder_checkBlock`), as mev-boost relays use a validating node. What it keeps
is bounded: the best bid of each builder for the slots about to come, nothing older.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from porchain.behaviours.base import Param
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.errors import InvalidSignature, PorchainError
from porchain.pbs.messages import BUILDER_BID, RELAY_BID, Acceptance, Bid, SignedBid, Submission
from porchain.rpc.async_client import AsyncRPCClient
from porchain.rpc.params import hex0x
from porchain.types.blocks import compute_tx_root
from porchain.types.transactions import Transaction

log = logging.getLogger(__name__)

KEEP_MS = 60_000  # bids are kept this long after they came in
MAX_KEYS = 256  # (slot, parent, producer) for which bids are kept (the oldest go first)
BUILDERS_PER_SLOT = 64  # best bids kept per slot, parent and producer (the lowest go first)

CheckBlock = Callable[[bytes], Awaitable[dict[str, Any]]]  # builder_checkBlock on a node
BidKey = tuple[int, bytes, bytes]  # slot, parent hash, producer


class RelayError(PorchainError):
    """A request the relay refuses; `status` is the HTTP status it answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Offer:
    submission: Submission
    relay_bid: SignedBid
    received_ms: int


@dataclass
class Delivery:
    slot: int
    header_hash: bytes  # the unsigned header's signing hash
    builder: bytes
    value: int


@dataclass
class Relay:
    """The honest relay. Attacks (porchain.pbs.attacks) override `check`, `vouch` or `reveal`,
    and take their `args` as node behaviours do."""

    name: ClassVar[str] = "honest"
    params: ClassVar[tuple[Param, ...]] = ()

    key: PrivateKey
    chain_id: int
    check_block: CheckBlock
    now_ms: Callable[[], int]
    offers: dict[BidKey, dict[bytes, Offer]] = field(default_factory=dict)
    delivered: dict[tuple[int, bytes], Delivery] = field(default_factory=dict)  # slot, producer
    args: dict[str, Any] = field(default_factory=dict)

    async def submit(self, raw: bytes) -> SignedBid:
        """Check a builder's submission and keep it as that builder's bid if it is its best."""
        try:
            submission = Submission.decode(raw)
            builder = submission.signed.signer(BUILDER_BID)
        except (PorchainError, InvalidSignature) as exc:
            raise RelayError(400, f"not a signed submission: {exc}") from None
        bid = submission.signed.bid
        if bid.chain_id != self.chain_id:
            raise RelayError(400, f"a bid for chain {bid.chain_id}, not {self.chain_id}")
        if builder != bid.builder:
            raise RelayError(400, "the submission is not signed by the builder it names")
        if compute_tx_root(submission.transactions) != bid.header.tx_root:
            raise RelayError(400, "the transactions do not match the header's tx_root")
        await self.check(submission)
        header = bid.header
        key = (header.slot, header.parent_hash, header.producer)
        offers = self.offers.setdefault(key, {})
        if builder in offers and offers[builder].relay_bid.bid.value > bid.value:
            raise RelayError(400, "this builder already bid more for the slot")
        offers[builder] = Offer(submission, self.vouch(bid), self.now_ms())
        if len(offers) > BUILDERS_PER_SLOT:
            del offers[min(offers, key=lambda b: offers[b].relay_bid.bid.value)]
        self._prune()
        log.info(
            "bid slot=%d builder=%s value=%d txs=%d",
            header.slot,
            to_checksum_address(builder),
            bid.value,
            len(submission.transactions),
        )
        return offers[builder].relay_bid

    async def check(self, submission: Submission) -> None:
        """Refuse a block that breaks a rule on its parent state, or pays less than its bid."""
        bid = submission.signed.bid
        checked = await self.check_block(submission.block.encode())
        if not checked.get("valid"):
            raise RelayError(400, f"invalid block: {checked.get('error')}")
        if int(checked["value"]) < bid.value:
            raise RelayError(400, f"the bid claims {bid.value}, the block pays {checked['value']}")

    def vouch(self, bid: Bid) -> SignedBid:
        """The relay's signed offer of a checked bid to its producer."""
        return SignedBid.sign(bid, self.key, RELAY_BID)

    def best_bid(self, slot: int, parent_hash: bytes, producer: bytes) -> SignedBid | None:
        offers = self.offers.get((slot, parent_hash, producer))
        if not offers:
            return None
        return max(offers.values(), key=lambda o: o.relay_bid.bid.value).relay_bid

    def reveal(self, raw: bytes) -> tuple[Transaction, ...]:
        """The body of the header a producer accepted, to that producer only, and once per
        slot: a producer cannot collect the bodies of several bids."""
        try:
            acceptance = Acceptance.decode(raw)
            signer = acceptance.signer()
        except (PorchainError, InvalidSignature) as exc:
            raise RelayError(400, f"not a signed acceptance: {exc}") from None
        header = acceptance.header
        if acceptance.chain_id != self.chain_id or signer != header.producer:
            raise RelayError(400, "the acceptance is not signed by the header's producer")
        offer = self._offer_of(header.signing_hash, (header.slot, header.parent_hash, signer))
        done = self.delivered.get((header.slot, signer))
        if done is not None and done.header_hash != header.signing_hash:
            raise RelayError(409, f"another header was already revealed for slot {header.slot}")
        bid = offer.relay_bid.bid
        self.delivered[header.slot, signer] = Delivery(
            header.slot, header.signing_hash, bid.builder, bid.value
        )
        return offer.submission.transactions

    def _offer_of(self, header_hash: bytes, key: BidKey) -> Offer:
        for offer in self.offers.get(key, {}).values():
            if offer.relay_bid.bid.header.signing_hash == header_hash:
                return offer
        raise RelayError(404, "no bid of this relay has that header")

    def _prune(self) -> None:
        """Forget bids older than KEEP_MS, and the oldest beyond MAX_KEYS slots."""
        oldest = self.now_ms() - KEEP_MS
        for key, offers in list(self.offers.items()):
            for builder in [b for b, offer in offers.items() if offer.received_ms < oldest]:
                del offers[builder]
            if not offers:
                del self.offers[key]
        while len(self.offers) > MAX_KEYS:
            del self.offers[next(iter(self.offers))]
        while len(self.delivered) > MAX_KEYS:
            del self.delivered[next(iter(self.delivered))]


def node_checker(rpc: AsyncRPCClient) -> CheckBlock:
    """`builder_checkBlock` on the relay's node; a node that cannot answer is the relay's
    fault, answered 503."""

    async def check_block(raw: bytes) -> dict[str, Any]:
        try:
            return await rpc.call("builder_checkBlock", hex0x(raw))  # type: ignore[no-any-return]
        except PorchainError as exc:
            raise RelayError(503, f"the relay cannot check blocks now: {exc}") from None

    return check_block
