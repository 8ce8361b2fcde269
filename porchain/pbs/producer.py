"""A producer's side of builder/relay separation: the most valuable block it can safely sign.

At its slot the producer builds its own block first, then asks every relay its record allows
(porchain.pbs.record), in parallel, for the best header of the slot, waiting at most `ask_ms`.
It takes the best bid worth more than its own block, by a builder it has not dropped, signs the
relay an acceptance (the blinded header) and waits at most `body_ms` for the body. It signs that
block only after the importers' checks on its parent state: the body must be the header's and
every rule must hold (else `invalid`), it must pay at least the bid (else `overstated`), and it
must censor nothing by our own first-seen log (else `censoring`). On any fault, a timeout or a
withheld body included, it signs its own block: a relay can cost a producer the time it waits,
never its slot. Later, a builder's block whose pool is rejected counts as `rejected`.

Faults are the relay's when it answered badly or withheld (it holds the body), both the relay's
and the builder's for an invalid or overstated block (the builder made it, the relay vouched
for it), and the builder's alone for censorship: a relay checks blocks, not the mempool views
of producers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import httpx
import trio

from porchain.consensus.modules import Rules
from porchain.consensus.pool_codes import OPEN, STATUS_NAMES
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.db.abc import Database
from porchain.errors import InvalidBlock
from porchain.pbs.client import RelayAddress, RelayClient, SourceFault
from porchain.pbs.fraud import PROVABLE, FraudReport, Verified
from porchain.pbs.messages import Acceptance, SignedBid
from porchain.pbs.produced import LOCAL, Produced, ProductionLog
from porchain.pbs.produced import RELAY as FROM_RELAY
from porchain.pbs.record import BUILDER, RELAY, SourceBook
from porchain.pbs.value import check_unsigned_block
from porchain.state.state import State
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction

log = logging.getLogger(__name__)

BUILDER_FAULTS = ("censoring", "rejected")  # the builder's alone
SHARED_FAULTS = ("invalid", "overstated")  # the builder's and the relay's

Censored = Callable[[Block, State], list[Transaction]]  # what a block left out, by our log


@dataclass(frozen=True)
class Choice:
    block: Block  # unsigned
    value: int  # `$` it gains us
    relay: bytes | None = None
    builder: bytes | None = None
    fallback: str | None = None  # why a relay's bid was not taken
    report: FraudReport | None = None  # proof of the fault, published once our block is out


class Sourcing:
    def __init__(
        self,
        relays: Sequence[RelayAddress],
        chain_id: int,
        key: PrivateKey,
        db: Database,
        *,
        ask_ms: int,
        body_ms: int,
        now_ms: Callable[[], int],
        transport: httpx.AsyncBaseTransport | None = None,
        publish: Callable[[FraudReport], None] | None = None,
    ) -> None:
        self.relays, self.chain_id, self.key = tuple(relays), chain_id, key
        self.ask_ms, self.body_ms, self.now_ms = ask_ms, body_ms, now_ms
        self.book = SourceBook(db)
        self.produced = ProductionLog(db)
        self.transport = transport
        self.publish = publish  # sends our fraud reports to peers
        self.clients: list[RelayClient] = []

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Hold the relays' HTTP connections (kept alive across slots) while the node runs."""
        limits = httpx.Limits(max_connections=4 * max(len(self.relays), 1))
        http = httpx.AsyncClient(timeout=None, limits=limits, transport=self.transport)
        async with http:
            self.clients = [RelayClient(relay, self.chain_id, http) for relay in self.relays]
            task_status.started()
            await trio.sleep_forever()

    async def choose(
        self, slot: int, parent_state: State, local: Choice, rules: Rules, censored: Censored
    ) -> Choice:
        """The block to sign for `slot`: the best relay bid that checks out, else `local`."""
        bids = await self._collect(slot, local.block)
        bids = [(c, s) for c, s in bids if self.book.may_ask(BUILDER, s.bid.builder, slot)]
        if not bids:
            return local
        client, signed = max(bids, key=lambda pair: pair[1].bid.value)
        if signed.bid.value <= local.value:
            return local
        try:
            return await self._take(slot, client, signed, parent_state, rules, censored)
        except SourceFault as fault:
            self.blame(slot, client.relay.address, signed.bid.builder, fault)
            return Choice(local.block, local.value, fallback=str(fault), report=fault.report)

    async def _collect(self, slot: int, local: Block) -> list[tuple[RelayClient, SignedBid]]:
        """Every allowed relay's best bid, asked in parallel, within `ask_ms`."""
        header = local.header
        asked = [c for c in self.clients if self.book.may_ask(RELAY, c.relay.address, slot)]
        silent = {c.relay.address for c in asked}
        bids: list[tuple[RelayClient, SignedBid]] = []

        async def ask(client: RelayClient) -> None:
            address, start = client.relay.address, self.now_ms()
            try:
                signed = await client.header(slot, header.parent_hash, header.producer)
            except SourceFault as fault:
                silent.discard(address)
                self.book.fault(RELAY, address, slot, fault.kind, fault.detail)
                return
            silent.discard(address)
            self.book.answered(RELAY, address, slot, self.now_ms() - start)
            if signed is not None:
                self.book.bid(RELAY, address, slot)
                self.book.bid(BUILDER, signed.bid.builder, slot)
                bids.append((client, signed))

        with trio.move_on_after(self.ask_ms / 1000):
            async with trio.open_nursery() as nursery:
                for client in asked:
                    self.book.asked(client.relay.address, slot)
                    nursery.start_soon(ask, client)
        for address in silent:
            self.book.fault(RELAY, address, slot, "timeout", f"no header within {self.ask_ms} ms")
        return bids

    async def _take(
        self,
        slot: int,
        client: RelayClient,
        signed: SignedBid,
        parent_state: State,
        rules: Rules,
        censored: Censored,
    ) -> Choice:
        """Accept the bid, get its body and check it as an importer would; raise SourceFault."""
        bid, start = signed.bid, self.now_ms()
        acceptance = Acceptance.sign(self.chain_id, bid.header, self.key)
        transactions: tuple[Transaction, ...] | None = None
        withheld = FraudReport("withheld", signed, acceptance)
        try:
            with trio.move_on_after(self.body_ms / 1000):
                transactions = await client.body(acceptance)
        except SourceFault as fault:
            fault.report = withheld if fault.kind == "withheld" else None
            raise
        if transactions is None:
            detail = f"no body within {self.body_ms} ms of the acceptance"
            raise SourceFault("withheld", detail, withheld)
        self.book.answered(RELAY, client.relay.address, slot, self.now_ms() - start)
        block = Block(bid.header, transactions)
        proof = FraudReport("invalid", signed, acceptance, transactions)
        try:
            checked = check_unsigned_block(parent_state, block, rules)
        except InvalidBlock as exc:
            raise SourceFault("invalid", str(exc), proof) from None
        if checked.value < bid.value:
            detail = f"bid {bid.value}, the block pays {checked.value}"
            raise SourceFault("overstated", detail, replace(proof, kind="overstated"))
        left_out = censored(block, checked.state)
        if left_out:
            hashes = ", ".join("0x" + tx.hash.hex()[:16] for tx in left_out[:4])
            raise SourceFault("censoring", f"{len(left_out)} transaction(s) left out: {hashes}")
        self.book.won(RELAY, client.relay.address, slot)
        self.book.won(BUILDER, bid.builder, slot)
        return Choice(block, checked.value, client.relay.address, bid.builder)

    def blame(self, slot: int, relay: bytes, builder: bytes, fault: SourceFault) -> None:
        """Record `fault` against whoever committed it (the module's docstring)."""
        log.warning(
            "relay bid not taken slot=%d relay=%s builder=%s fault=%s",
            slot,
            to_checksum_address(relay),
            to_checksum_address(builder),
            fault,
        )
        if fault.kind in BUILDER_FAULTS + SHARED_FAULTS:
            self.book.fault(BUILDER, builder, slot, fault.kind, fault.detail)
        if fault.kind not in BUILDER_FAULTS:
            self.book.fault(RELAY, relay, slot, fault.kind, fault.detail)

    def reported(self, verified: Verified, slot: int) -> None:
        """Another producer's verified report of one of our relays (porchain.pbs.fraud):
        provable kinds count as ours would, a withheld body as a soft `reported` fault."""
        if verified.relay not in {relay.address for relay in self.relays}:
            return  # not a relay we ask: nothing of ours to change, no record to grow
        kind = verified.kind if verified.kind in PROVABLE else "reported"
        producer = to_checksum_address(verified.producer)
        detail = f"{verified.kind} at slot {verified.slot}, reported by producer {producer}"
        log.warning("relay %s reported: %s", to_checksum_address(verified.relay), detail)
        self.book.fault(RELAY, verified.relay, slot, kind, detail)

    def record(
        self, slot: int, signed: Block, choice: Choice, local_value: int, **timing: int
    ) -> None:
        """Where our block for `slot` came from; `timing`: Produced's local_ms and relay_ms.
        Then the fraud report of a relay that cheated us, if any: after our block, which a
        report of a withheld body is checked against."""
        self.produced.add(
            Produced(
                slot=slot,
                number=signed.number,
                block_hash="0x" + signed.hash.hex(),
                source=LOCAL if choice.relay is None else FROM_RELAY,
                value=str(choice.value),
                local_value=str(local_value),
                relay=None if choice.relay is None else to_checksum_address(choice.relay),
                builder=None if choice.builder is None else to_checksum_address(choice.builder),
                fallback=choice.fallback,
                **timing,
            )
        )
        if choice.report is not None and self.publish is not None:
            self.publish(choice.report)

    def review(self, head: State, canonical: Callable[[int], bytes | None]) -> None:
        """Note the outcome of our blocks' pools once resolved; a builder's block that the
        pool rejected is the builder's `rejected` fault. `canonical(number)` is the hash of
        the block at that height on our chain."""
        for entry in self.produced.unresolved():
            if canonical(entry.number) != bytes.fromhex(entry.block_hash[2:]):
                if entry.number <= head.chain.number:
                    entry.outcome = "orphaned"
                    self.produced.save(entry)
                continue
            status = head.pool(head.block_pool_id(entry.number)).status
            if status == OPEN:
                continue
            entry.outcome = STATUS_NAMES[status]
            self.produced.save(entry)
            if entry.builder is not None and entry.outcome == "rejected":
                builder = bytes.fromhex(entry.builder[2:])
                detail = f"its block #{entry.number} (slot {entry.slot}) was rejected by the pool"
                self.book.fault(BUILDER, builder, head.chain.slot, "rejected", detail)
