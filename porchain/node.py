"""The node: chain, mempool, block production and RPC composed as trio services.

One process, one `trio.run`, one nursery: every service is started with `nursery.start` and
stopped by cancellation, and the database is closed in `finally`.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import trio

from porchain.behaviours import Behaviour
from porchain.builder import BuiltBlock, build_unsigned
from porchain.censorship import censored_transactions
from porchain.chain import Chain, ImportResult
from porchain.clock import SlotClock
from porchain.consensus.asc import Amount
from porchain.consensus.slots import advance_to_slot, scheduled_producer
from porchain.constants import DEFAULT_RPC_PORT
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.crypto.recovery import RecoveryPool
from porchain.db.level import LevelDB
from porchain.duties import (
    BeaconDuty,
    VoteDecision,
    decide_vote,
    encumber_due,
    pending_vote_stake,
    sign_duty,
    vote_payload,
    why_no_vote,
)
from porchain.equivocations import EquivocationLog
from porchain.errors import InvalidBlock, InvalidTransaction
from porchain.firstseen import FirstSeenLog, first_seen_retention_ms
from porchain.integrity import Watermark
from porchain.mempool import MAX_TXS, Mempool
from porchain.net.service import NetConfig, NetworkService
from porchain.net.transport import Transport
from porchain.pbs.client import RelayAddress
from porchain.pbs.producer import Choice, Sourcing
from porchain.pbs.value import producer_value
from porchain.plugins import NodePlugin, load_plugins, notify
from porchain.rpc.limits import RPCLimits
from porchain.rpc.server import serve_rpc
from porchain.state.state import State
from porchain.txjournal import TxJournal
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction, TxKind, kind_name
from porchain.verdicts import NO_KEY, Verdict, VerdictLog, judge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeConfig:
    rpc_host: str = "127.0.0.1"
    rpc_port: int | None = DEFAULT_RPC_PORT  # None: no RPC server; 0: any free port
    mempool_max_txs: int = MAX_TXS
    produce: bool = True  # produce blocks and do the beacon duty (with a key)
    info_file: Path | None = None  # where to write {"rpc": url, "pid": ...} once serving
    snapshot_dir: Path | None = None  # the state snapshots it writes and serves (None: none)
    dev_rpc: bool = False  # serve dev_ methods (partitions): devnets and tests only
    builder_api: bool = False  # serve builder_ methods (porchain.rpc.builder) to builders, relays
    auto_encumber: bool = True  # encumber earned REP each epoch (with a key)
    rpc_cors: tuple[str, ...] = ()  # origins browsers may call RPC from ("*": any); () none
    rpc_limits: RPCLimits = field(default_factory=RPCLimits)  # costs allowed (docs/rpc.md)
    behaviour: Behaviour = field(default_factory=Behaviour)  # honest unless an attack is chosen
    recovery_workers: int | None = None  # sender recovery of large blocks (None: cores but one)
    relays: tuple[RelayAddress, ...] = ()  # relays to ask for builders' blocks (porchain.pbs)
    relay_wait_ms: int | None = None  # for a header, then a body (None: a sixth of the slot)
    relay_transport: httpx.AsyncBaseTransport | None = None  # None: HTTP; simulations: in-process


class Node:
    def __init__(
        self,
        chain: Chain,
        clock: SlotClock,
        *,
        key: PrivateKey | None = None,
        config: NodeConfig = NodeConfig(),
        transport: Transport | None = None,
        node_key: PrivateKey | None = None,
        net: NetConfig | None = None,
        plugins: list[NodePlugin] | None = None,
    ) -> None:
        self.chain = chain
        self.clock = clock
        self.key = key
        self.config = config
        self.behaviour = config.behaviour
        self.mempool = Mempool(chain.rules, max_txs=config.mempool_max_txs)
        self.recovery = RecoveryPool(config.recovery_workers)
        self.first_seen = FirstSeenLog(
            chain.db, self.mempool, lambda: first_seen_retention_ms(self.chain.state().params)
        )
        self.tx_journal = TxJournal(chain.db)
        self.verdicts = VerdictLog(chain.db)
        self.equivocations = EquivocationLog(chain.db)
        self.watermark = Watermark.of(chain.db) if isinstance(chain.db, LevelDB) else None
        self.beacon_duty = BeaconDuty(chain.db, key) if key is not None else None
        self._advanced: tuple[tuple[bytes, int], State] | None = None  # (head, slot), state
        self.rpc_url: str | None = None
        self.new_head = trio.Event()
        self.network: NetworkService | None = None
        if transport is not None:
            identity = node_key or key or PrivateKey.generate()
            self.network = NetworkService(self, transport, identity, net or NetConfig())
        self.sourcing = self._sourcing() if key is not None and config.relays else None
        self.plugins = load_plugins(self) if plugins is None else plugins

    def _sourcing(self) -> Sourcing:
        assert self.key is not None
        state = self.chain.state()
        wait_ms = self.config.relay_wait_ms or state.params.slot_ms // 6
        return Sourcing(
            self.config.relays,
            state.chain.chain_id,
            self.key,
            self.chain.db,
            ask_ms=wait_ms,
            body_ms=wait_ms,
            now_ms=self.clock.now_ms,
            transport=self.config.relay_transport,
            publish=None if self.network is None else self.network.broadcast_fraud,
        )

    @property
    def address(self) -> bytes | None:
        return None if self.key is None else self.key.address

    def pending_state(self) -> State:
        """The head state as the next block will see it: transactions are checked on this."""
        slot = max(self.clock.current_slot(), self.chain.head.slot + 1)
        return self.advanced_state(slot)

    def advanced_state(self, slot: int) -> State:
        """A scratch head state advanced to `slot` (`advance_to_slot`). The advance (an epoch's
        end, missed slots) is done once per head and slot, not for every transaction checked:
        each caller gets a fork of it, free to change."""
        key = (self.chain.head.hash, slot)
        if self._advanced is None or self._advanced[0] != key:
            self._advanced = key, advance_to_slot(self.chain.state(), slot, self.chain.rules)
        return self._advanced[1].fork()

    # -- services ------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.restore_local_transactions()
        try:
            async with trio.open_nursery() as nursery:
                if self.network is not None:
                    await nursery.start(self.network.run)
                if self.sourcing is not None:
                    await nursery.start(self.sourcing.run)
                if self.config.rpc_port is not None:
                    self.rpc_url = await nursery.start(
                        serve_rpc, self, self.config.rpc_host, self.config.rpc_port
                    )
                    self._write_info_file()
                if self.key is not None and self.config.produce:
                    nursery.start_soon(self._run_slots)
                log.info(
                    "node started chain_id=%d head=#%d producer=%s rpc=%s",
                    self.chain.state().chain.chain_id,
                    self.chain.head.number,
                    to_checksum_address(self.key.address) if self.key else "none",
                    self.rpc_url or "off",
                )
                task_status.started()
        finally:
            self.first_seen.flush(self.clock.now_ms(), stopping=True)
            self.recovery.close()

    def _write_info_file(self) -> None:
        """Where tools find this node: its RPC URL, P2P address and node id."""
        if self.config.info_file is None:
            return
        info = {"rpc": self.rpc_url, "pid": os.getpid()}
        if self.network is not None:
            info["p2p"] = self.network.advertised_address
            info["node_id"] = "0x" + self.network.node_id.hex()
        tmp = self.config.info_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(self.config.info_file)

    async def _run_slots(self) -> None:
        next_slot = max(self.clock.current_slot(), self.chain.head.slot) + 1
        while True:
            await self.clock.wait_for_slot(next_slot)
            slot = self.clock.current_slot()
            if slot > self.chain.head.slot:
                if self.sourcing is None:
                    self.on_slot(slot)
                else:
                    self.perform_duties(slot)
                    await self.produce_block_with_relays(slot)
                    notify(self.plugins, "on_slot", slot)
            next_slot = slot + 1

    def on_slot(self, slot: int) -> None:
        """At the start of `slot`: our duties, then our block if we are scheduled."""
        self.perform_duties(slot)
        self.produce_block(slot)
        notify(self.plugins, "on_slot", slot)

    def perform_duties(self, slot: int) -> None:
        self.perform_beacon_duty(slot)
        if self.config.auto_encumber:
            self.encumber_earnings(slot)

    def produce_block(self, slot: int) -> Block | None:
        """Build, sign and publish a block for `slot` if our key is scheduled for it: import it
        (which relays it), unless the behaviour publishes other blocks instead or as well."""
        built = self._build_own(slot, self.chain.state())
        return None if built is None else self._sign_and_publish(slot, built.block)

    async def produce_block_with_relays(self, slot: int) -> Block | None:
        """`produce_block`, signing a builder's block from a relay instead of ours when it is
        worth more and passes every check (porchain.pbs.producer)."""
        assert self.key is not None and self.sourcing is not None
        parent, post_state = self.chain.head, self.chain.state()
        started = self.clock.now_ms()
        built = self._build_own(slot, post_state)
        if built is None:
            return None
        own = Choice(built.block, producer_value(self.chain.state(), post_state, self.key.address))
        built_at = self.clock.now_ms()
        choice = await self.sourcing.choose(
            slot, self.chain.state(), own, self.chain.rules, self._censored_by(slot)
        )
        if self.chain.head.hash != parent.hash:
            log.warning("no block for slot %d: the head moved while relays were asked", slot)
            return None
        timing = {"local_ms": built_at - started, "relay_ms": self.clock.now_ms() - built_at}
        built_by = "" if choice.builder is None else to_checksum_address(choice.builder)
        block = self._sign_and_publish(slot, choice.block, built_by)
        self.sourcing.record(slot, block, choice, own.value, **timing)
        return block

    def _build_own(self, slot: int, state: State) -> BuiltBlock | None:
        """Our unsigned block for `slot` on the head (whose post-state `state` becomes the
        block's), if our key is scheduled and the behaviour produces."""
        assert self.key is not None
        rules = self.chain.rules
        if scheduled_producer(self.advanced_state(slot), slot, rules) != self.key.address:
            return None
        if not self.behaviour.produces(self, slot):
            return None
        pending = itertools.chain(
            self.mempool.candidates(), self.network.parked() if self.network else ()
        )
        candidates = self.behaviour.candidates(self, slot, pending)
        try:
            built = build_unsigned(
                state, self.chain.head, slot, self.key.address, candidates, rules
            )
        except InvalidBlock as exc:  # the rules refuse any block of ours (a slashed producer)
            log.warning("no block for slot %d: %s", slot, exc)
            return None
        for tx, reason in built.rejected:
            log.debug("left out tx=0x%s reason=%s", tx.hash.hex(), reason)
        self.mempool.remove(tx for tx, _ in built.rejected)
        return built

    def _sign_and_publish(self, slot: int, unsigned: Block, builder: str = "") -> Block:
        """Sign our block (`builder`'s, if named) and publish it as the behaviour says."""
        assert self.key is not None
        signed = Block(unsigned.header.signed(self.key), unsigned.transactions)
        for block in self.behaviour.publish(self, slot, signed):
            if block.hash == signed.hash:
                self._import_produced(block, builder)
            elif self.network is not None:
                self.network.broadcast_block(block)
        return signed

    def _censored_by(self, slot: int) -> Callable[[Block, State], list[Transaction]]:
        """What a block for `slot` (not yet imported) left out, by our first-seen log."""

        def censored(block: Block, post_state: State) -> list[Transaction]:
            return censored_transactions(
                block,
                post_state.fork,
                self.mempool.candidates(),
                self.first_seen.get,
                self.clock.slot_start_ms(slot),
                self.chain.rules,
            )

        return censored

    def _import_produced(self, block: Block, builder: str = "") -> None:
        """Import (and so relay) the block we signed."""
        (ctx,) = self.import_block(block).contexts
        log.log(
            logging.INFO if block.transactions else logging.DEBUG,
            "produced block #%d slot=%d txs=%d fees=%d hash=0x%s%s",
            block.number,
            block.slot,
            len(block.transactions),
            ctx.fees,
            block.hash.hex()[:16],
            f" builder={builder}" if builder else "",
        )

    # -- inputs ------------------------------------------------------------------------------

    def import_block(
        self, block: Block, *, source: bytes | None = None, relay: bool = True
    ) -> ImportResult:
        """Import a block (ours, or a peer's from `source`), keeping it as evidence if its
        producer signed another stored block for its slot; on a new head, update the mempool,
        vote on it and relay it."""
        self.recovery.recover(block.transactions)  # a large block's senders, on all cores
        try:
            result = self.chain.import_block(block, now_ms=self.clock.now_ms())
        except InvalidBlock as exc:
            notify(self.plugins, "on_invalid_block", block, exc)
            raise
        found = self.equivocations.observe(self.chain, block, self.clock.now_ms())
        if found is not None:
            notify(self.plugins, "on_equivocation", found)
        if result.status == "side":
            return result
        head = result.applied[-1]
        if self.watermark is not None:
            self.watermark.advance(self.chain.finalized)
        state = self.chain.state()
        self.mempool.on_new_head([tx for b in result.applied for tx in b.transactions], state)
        reverted = [tx for block in result.reverted for tx in block.transactions]
        for tx in self.mempool.readmit(reverted, self.pending_state()):
            self.first_seen.record(tx.hash, self.clock.now_ms())  # pruned: seen again
        for tx in self.mempool.revalidate(self.pending_state()):
            log.debug("dropped stale tx=0x%s", tx.hash.hex()[:16])
        self.tx_journal.keep_only(self.mempool)
        if self.sourcing is not None:
            self.sourcing.review(state, self.chain.get_canonical_hash)
        if self.network is not None:
            self.network.retry_transactions()
        recent = source is None or self._recent(head)
        if self.key is not None and recent:
            self.vote_on(head)
        else:
            self.judge_without_voting(head, recent=recent)
        if relay and self.network is not None:
            self.network.broadcast_block(head, exclude=source)
        self.first_seen.flush(self.clock.now_ms())
        notify(self.plugins, "on_new_head", head)
        self.new_head.set()
        self.new_head = trio.Event()
        return result

    def _recent(self, block: Block) -> bool:
        """Whether a peer's block is recent enough to vote on: not while catching up. (Our own
        blocks always get our vote, however long a busy machine took to build them: the pool
        closes `block_pool_duration` blocks later, so the next block can still carry it.)"""
        age = self.clock.current_slot() - block.slot
        return age <= self.chain.state().params.block_pool_duration

    def censored_in(self, block: Block) -> list[Transaction]:
        """The transactions `block` (the head) censored, by our first-seen log."""
        return censored_transactions(
            block,
            self.chain.state,
            self.mempool.candidates(),
            self.first_seen.get,
            self.clock.slot_start_ms(block.slot),
            self.chain.rules,
        )

    def _judged(self, block: Block, censored: list[Transaction] | None) -> Verdict:
        """Our verdict on `block` now, before any vote (`censored` None: not judged)."""
        slot_start_ms = self.clock.slot_start_ms(block.slot)
        return judge(block, slot_start_ms, self.clock.now_ms(), censored, self.first_seen.get)

    def judge_without_voting(self, block: Block, *, recent: bool) -> None:
        """Record our verdict on `block` (the head) when we cast no vote: without a key, or
        not judged at all while catching up."""
        censored = self.censored_in(block) if recent else None
        verdict = self._judged(block, censored)
        if recent:
            verdict.reason = NO_KEY.encode()
        self.verdicts.record(verdict)

    def submit_transaction(self, raw: bytes, *, replace: bool = True) -> Transaction:
        """Decode and admit a raw transaction sent to us (our RPC); journal it until a block
        includes it. Raise DecodeError, InvalidTransaction, or DiskWriteError if the journal
        cannot be written (then the transaction is not admitted either); NonceTaken, unless
        `replace`, if a pending transaction has its nonce."""
        tx = Transaction.decode(raw)
        self.receive_transaction(tx, journal=True, replace=replace)
        log.debug("accepted tx=0x%s from=%s", tx.hash.hex(), to_checksum_address(tx.sender))
        return tx

    def receive_transaction(
        self,
        tx: Transaction,
        *,
        source: bytes | None = None,
        journal: bool = False,
        replace: bool = True,
    ) -> None:
        """Admit a transaction to the mempool (journaled first if `journal`) and relay it to
        peers (but `source`)."""
        record = self.tx_journal.record if journal else None
        self.mempool.add(tx, self.pending_state(), before_admit=record, replace=replace)
        self.first_seen.record(tx.hash, self.clock.now_ms())
        if self.network is not None:
            self.network.broadcast_transaction(tx, exclude=source)

    def restore_local_transactions(self) -> None:
        """Admit again the transactions sent to us before a restart that are still pending."""
        journaled = self.tx_journal.load()
        state = self.pending_state()
        for tx in journaled:
            try:
                self.mempool.add(tx, state)
            except InvalidTransaction as exc:
                log.debug("journaled tx=0x%s no longer pending: %s", tx.hash.hex()[:16], exc)
            else:
                self.first_seen.record(tx.hash, self.clock.now_ms())
        self.tx_journal.keep_only(self.mempool)
        if journaled:
            log.info(
                "restored %d of %d journaled local transaction(s)",
                len(self.tx_journal),
                len(journaled),
            )

    # -- duties of our key ---------------------------------------------------------------------

    def vote_on(self, block: Block) -> None:
        """Vote on the pool of `block` (the head): AGAINST if it censored, else FOR."""
        assert self.key is not None
        head = self.chain.state()
        censored = self.behaviour.judge(self, block)
        pending = self.mempool.pending_from(self.key.address)
        pending_stake = pending_vote_stake(pending, self.chain.rules)
        decision = decide_vote(head, self.key.address, block.number, censored, pending_stake)
        decision = self.behaviour.vote(self, block, decision)
        self._record_verdict(block, censored, decision, pending_stake)
        if decision is None:
            return
        self._send_duty(TxKind.VOTE, vote_payload(decision))

    def _record_verdict(
        self,
        block: Block,
        censored: list[Transaction],
        decision: VoteDecision | None,
        pending_stake: int,
    ) -> None:
        """Record (and log) what we judged about `block` and the vote we send on it."""
        assert self.key is not None
        verdict = self._judged(block, censored)
        if decision is not None:
            verdict.vote_side, verdict.vote_stake = decision.side, decision.stake
        else:
            head = self.chain.state()
            reason = why_no_vote(head, self.key.address, block.number, pending_stake)
            verdict.reason = (reason or "").encode()
        self.verdicts.record(verdict)

    def perform_beacon_duty(self, slot: int) -> None:
        if self.beacon_duty is None:
            return
        state = self.pending_state()
        due = self.beacon_duty.due(
            state, slot, self.mempool.pending_from(self.beacon_duty.key.address)
        )
        due = self.behaviour.duty(self, slot, due)
        if due is not None:
            self._send_duty(*due)

    def encumber_earnings(self, slot: int) -> None:
        assert self.key is not None
        pending = self.mempool.pending_from(self.key.address)
        amount = encumber_due(
            self.pending_state(), self.key.address, slot, pending, self.chain.rules
        )
        due = self.behaviour.duty(
            self, slot, (TxKind.ENCUMBER, Amount(amount).to_rlp()) if amount else None
        )
        if due is not None:
            self._send_duty(*due)

    def _send_duty(self, kind: int, payload: list) -> None:
        assert self.key is not None
        state = self.pending_state()
        nonce = state.account(self.key.address).nonce + self.mempool.pending_count(self.key.address)
        tx = sign_duty(self.key, state, nonce, kind, payload)
        try:
            self.receive_transaction(tx)
        except InvalidTransaction as exc:
            log.warning("could not send %s: %s", kind_name(kind), exc)
            return
        log.debug("sent %s tx=0x%s", kind_name(kind), tx.hash.hex()[:16])


async def run_until_signalled(node: Node) -> None:
    """Run `node` until SIGINT or SIGTERM, then stop every service cleanly."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(node.run)
            async for signum in signals:
                log.info("stopping on %s", signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break
