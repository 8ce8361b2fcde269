"""Fraud reports: a relay's signed bid that turned out false, published so that every producer
drops that relay, not only the one it cheated.

A report holds the relay's signed bid, the producer's acceptance of that bid's header, and for
an `invalid` or `overstated` block the body the relay revealed. Any node checks it by
recomputation (`verify_report`): the signatures, that the acceptance is of the bid's header by
its producer, that the body is the header's, and then the claim itself on the parent's state,
by the importers' rules: the block breaks one (`invalid`), or pays less than the bid says
(`overstated`). Those two are provable, and drop the relay everywhere.

A `withheld` report cannot prove the body never came: a producer could accept a bid, get the
body and sign its own block, then claim it did not. What it does prove is that the relay
offered that header and the producer accepted it, and that the chain holds another block at
that height; peers count it as a *soft* fault (`reported`), which benches a relay only if
several come in a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from porchain.chain import Chain
from porchain.crypto.hashing import keccak
from porchain.errors import DecodeError, InvalidBlock, InvalidSignature, PorchainError
from porchain.pbs.messages import RELAY_BID, Acceptance, SignedBid, unsigned
from porchain.pbs.value import check_unsigned_block
from porchain.state.past import PAST_STATE_BLOCKS, StateUnavailable, past_view
from porchain.state.state import State
from porchain.types.blocks import Block, Header, compute_tx_root
from porchain.types.codec import decode_bytes, decode_list, rlp_decode, rlp_encode
from porchain.types.transactions import Transaction

PROVABLE = ("invalid", "overstated")
KINDS = (*PROVABLE, "withheld")
MAX_REPORT_BYTES = 8 * 1024 * 1024 + 4096  # a block's body, a bid and an acceptance


class BadReport(PorchainError):
    """A report that is false or forged: its sender misbehaved."""


class Unverifiable(PorchainError):
    """A report this node cannot check (the parent's state is gone, or not on our chain yet)."""


@dataclass(frozen=True)
class FraudReport:
    kind: str
    signed: SignedBid  # the relay's
    acceptance: Acceptance  # the producer's, of the bid's header
    transactions: tuple[Transaction, ...] = ()  # the body revealed (invalid, overstated)

    def encode(self) -> bytes:
        return rlp_encode(
            [
                self.kind.encode(),
                [self.signed.bid.to_rlp(), self.signed.signature],
                rlp_decode(self.acceptance.encode(), "acceptance"),
                [tx.encoded for tx in self.transactions],
            ]
        )

    @cached_property
    def hash(self) -> bytes:
        return keccak(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> FraudReport:
        if len(data) > MAX_REPORT_BYTES:
            raise DecodeError(f"a fraud report over {MAX_REPORT_BYTES} bytes")
        kind, signed, acceptance, body = decode_list(rlp_decode(data, "fraud report"), 4, "report")
        name = decode_bytes(kind, "kind", 16).decode(errors="replace")
        if name not in KINDS:
            raise DecodeError(f"unknown fraud report kind {name!r}")
        raws = decode_list(body, None, "transactions")
        return cls(
            name,
            SignedBid.decode(rlp_encode(signed)),
            Acceptance.decode(rlp_encode(acceptance)),
            tuple(Transaction.decode(decode_bytes(raw, "transaction", len(data))) for raw in raws),
        )


@dataclass(frozen=True)
class Verified:
    relay: bytes
    producer: bytes
    kind: str
    slot: int


def verify_report(report: FraudReport, chain: Chain) -> Verified:
    """Check `report` against our chain; BadReport if it is false, Unverifiable if we cannot
    tell."""
    bid, header = report.signed.bid, report.acceptance.header
    try:
        relay = report.signed.signer(RELAY_BID)
        producer = report.acceptance.signer()
    except InvalidSignature as exc:
        raise BadReport(f"a signature does not verify: {exc}") from None
    chain_id = chain.state().chain.chain_id
    if bid.chain_id != chain_id or report.acceptance.chain_id != chain_id:
        raise BadReport(f"a report for another chain than {chain_id}")
    if unsigned(header).signing_hash != bid.header.signing_hash:
        raise BadReport("the acceptance is not of the bid's header")
    if producer != bid.header.producer:
        raise BadReport("the acceptance is not signed by the header's producer")
    if report.kind == "withheld":
        _check_withheld(chain, bid.header)
    else:
        _check_claim(report, chain)
    return Verified(relay, producer, report.kind, bid.header.slot)


def _check_withheld(chain: Chain, header: Header) -> None:
    """The producer signed another block for the bid's slot, and ours holds that one."""
    canonical = chain.get_canonical_hash(header.number)
    block = None if canonical is None else chain.get_block(canonical)
    if block is None:
        raise Unverifiable(f"no block #{header.number} on our chain yet")
    if (block.slot, block.header.producer) != (header.slot, header.producer):
        raise Unverifiable(f"block #{header.number} on our chain is not that producer's slot")
    if unsigned(block.header).signing_hash == header.signing_hash:
        raise BadReport(f"block #{header.number} on the chain is the bid's: it was not withheld")


def _check_claim(report: FraudReport, chain: Chain) -> None:
    bid = report.signed.bid
    header = bid.header
    if compute_tx_root(report.transactions) != header.tx_root:
        raise BadReport("the body is not the bid header's transactions")
    if chain.get_canonical_hash(header.number - 1) != header.parent_hash:
        raise Unverifiable("the bid's parent is not on our chain")
    try:
        # its lattice hash too, so that the state root is checked (as invalid-block evidence is)
        parent_state = State(past_view(chain.db, header.number - 1, PAST_STATE_BLOCKS, root=True))
        checked = check_unsigned_block(
            parent_state, Block(header, report.transactions), chain.rules
        )
    except StateUnavailable as exc:
        raise Unverifiable(str(exc)) from None
    except InvalidBlock as exc:
        if report.kind == "invalid":
            return
        raise BadReport(f"an overstatement claimed of an invalid block ({exc})") from None
    if report.kind == "invalid":
        raise BadReport("the block is valid")
    if checked.value >= bid.value:
        raise BadReport(f"the block pays {checked.value}, at least the bid's {bid.value}")
