"""The network service: peers, gossip, range sync, peer exchange, bans (PROTOCOL section 12).

Structured as trio services in one nursery: the listener, a dial loop keeping up to `max_peers`
connections, a sync loop pulling blocks from the best peer, and a status loop. Each peer runs
its own reader, writer and keepalive; a peer that sends garbage or invalid data is banned.
A peer whose chain conflicts with our finalized block is not banned: after a partition heals, an
honest peer still on the losing fork sends such blocks until it learns of ours. We only stop
syncing from it until it announces another head.
"""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from porchain import backfill
from porchain.errors import (
    BlockAlreadyKnown,
    ConflictsWithFinalized,
    DatabaseError,
    DecodeError,
    FutureBlock,
    InvalidBlock,
    InvalidTransaction,
    PeerMisbehaved,
    PorchainError,
    SideBlocksFull,
    UnknownParent,
    leaf_exceptions,
)
from porchain.net import messages as m
from porchain.net.addressbook import AddressBook
from porchain.net.peer import IncompatiblePeer, Peer, handshake, new_hello
from porchain.net.peertable import (
    BanList,
    HandshakeSlots,
    crowded,
    eviction_victim,
    outbound_slots,
    remote_host,
)
from porchain.net.transport import (
    RECEIVE_BUDGET_BYTES,
    Connection,
    ConnectionClosed,
    Transport,
    is_dialable,
    split_address,
)
from porchain.pbs.fraud import BadReport, FraudReport, Unverifiable, verify_report
from porchain.types.blocks import Block, Header
from porchain.types.records import Record
from porchain.types.transactions import Transaction

if TYPE_CHECKING:
    from porchain.crypto.keys import PrivateKey
    from porchain.node import Node

log = logging.getLogger(__name__)

MAX_ADDRESSES_SHARED = 32
MAX_UNVERIFIED_DIALS = 2  # addresses only a stranger vouches for, dialed per dial interval
MAX_RETRIED_TXS = 4096  # peers' transactions refused for now, tried again after new heads
TX_RETRIES = 3
TXS_ON_CONNECT = 512  # pending transactions sent to a new peer
MAX_BATCH_BYTES = 4 * 2**20  # a sync answer stays well under the frame limit


@dataclass(frozen=True)
class NetConfig:
    listen: str | None = None  # "host:port" to accept connections on (port 0: any)
    advertise: str | None = None  # host peers should dial, if not the listening host
    bootnodes: tuple[str, ...] = ()
    max_peers: int = 16  # of which outbound_slots(max_peers) (8 of 16) only for peers we dial
    max_inbound_per_ip: int = 2  # inbound peers from one IP (loopback is not limited)
    handshake_timeout: float = 5.0
    request_timeout: float = 10.0
    ping_interval: float = 2.0
    idle_timeout: float = 10.0
    dial_interval: float = 1.0
    redial_after: float = 3.0
    status_interval: float = 2.0
    ban_seconds: float = 600.0
    disconnect_timeout: float = 1.0  # for the DISCONNECT frame of a closing peer to leave
    sync_batch: int = 64
    seen_cache: int = 100_000
    max_handshakes: int = 32  # inbound connections not yet authenticated; more are closed
    max_handshakes_per_ip: int = 8  # of them from one remote host (loopback exempt)
    receive_budget: int = RECEIVE_BUDGET_BYTES  # frame bytes buffered by all connections (TCP)


class SeenCache:
    """A bounded set of recently seen hashes, so gossip is forwarded once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[bytes, None] = OrderedDict()

    def add(self, item: bytes) -> bool:
        """Remember `item`; False if it was already there."""
        if item in self._items:
            return False
        self._items[item] = None
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return True

    def forget(self, item: bytes) -> None:
        self._items.pop(item, None)


class NetworkService:
    def __init__(
        self, node: Node, transport: Transport, node_key: PrivateKey, config: NetConfig
    ) -> None:
        self.node = node
        self.chain = node.chain
        self.transport = transport
        self.node_key = node_key
        self.config = config
        self.node_id = node_key.address
        self.listen_address: str | None = None
        self.peers: dict[bytes, Peer] = {}
        self.banned = BanList()
        self.blocked: set[bytes] = set()  # cut off by dev_partition
        self.addresses = AddressBook(config.bootnodes)
        self.outbound_slots = outbound_slots(config.max_peers)
        self.inbound_slots = config.max_peers - self.outbound_slots
        self._dialing: set[str] = set()
        self._handshakes = HandshakeSlots(config.max_handshakes, config.max_handshakes_per_ip)
        self._seen_blocks = SeenCache(config.seen_cache)
        self._seen_txs = SeenCache(config.seen_cache)
        self._seen_reports = SeenCache(config.seen_cache)
        self._retry: OrderedDict[bytes, tuple[Transaction, bytes, int]] = OrderedDict()
        self._sync_wanted = trio.Event()
        self._nursery: trio.Nursery | None = None

    @property
    def advertised_address(self) -> str | None:
        """The address we tell peers to dial: the bound port on the advertised host."""
        if self.listen_address is None:
            return None
        host, port = split_address(self.listen_address)
        return f"{self.config.advertise or host}:{port}"

    # -- services ------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            if self.config.listen is not None:
                try:
                    self.listen_address = await nursery.start(
                        self.transport.listen, self.config.listen, self._accept
                    )
                except* OSError as group:
                    reason = "; ".join(str(e.strerror or e) for e in leaf_exceptions(group))
                    raise PorchainError(
                        f"cannot accept peers on {self.config.listen}: {reason} "
                        "(another node running? choose another --p2p-port)"
                    ) from None
                log.info(
                    "p2p listening address=%s node_id=0x%s", self.listen_address, self.node_id.hex()
                )
            nursery.start_soon(self._dial_loop)
            nursery.start_soon(self._sync_loop)
            nursery.start_soon(self._backfill_loop)
            nursery.start_soon(self._status_loop)
            task_status.started()

    async def _dial_loop(self) -> None:
        """Fill the outbound slots, ours alone: bootnodes and verified addresses first (so a
        known peer that went away is dialed again as soon as it may be), a few strangers'."""
        while True:
            outbound = sum(1 for p in self.peers.values() if p.outbound) + len(self._dialing)
            free = self.outbound_slots - outbound
            for address in self._dial_candidates(trio.current_time())[: max(free, 0)]:
                self._dialing.add(address)
                assert self._nursery is not None
                self._nursery.start_soon(self._dial, address)
            await trio.sleep(self.config.dial_interval)

    def _dial_candidates(self, now: float) -> list[str]:
        out = []
        unverified = 0
        for address, entry in self.addresses.due(now):
            if address in (self.listen_address, self.advertised_address, *self._dialing):
                continue
            node_id = entry.node_id
            if node_id is not None and (node_id in self.peers or not self._allowed(node_id)):
                continue
            if not (entry.bootnode or entry.verified):
                if unverified == MAX_UNVERIFIED_DIALS:
                    continue
                unverified += 1
            out.append(address)
        return out

    async def _dial(self, address: str) -> None:
        try:
            with trio.fail_after(self.config.handshake_timeout):
                conn = await self.transport.connect(address)
        except (OSError, trio.TooSlowError) as exc:
            log.debug("dial failed address=%s reason=%s", address, exc)
            self.addresses.failed(address, trio.current_time() + self.config.redial_after)
            return
        except Exception as exc:  # the resolver refusing a name no check of ours foresaw
            log.warning("dropping address=%r: cannot dial it: %r", address, exc)
            self.addresses.drop(address)
            return
        finally:
            self._dialing.discard(address)
        self.addresses.dialed(address, trio.current_time() + self.config.redial_after)
        await self._serve(conn, outbound=True)

    async def _accept(self, conn: Connection) -> None:
        await self._serve(conn, outbound=False)

    async def _serve(self, conn: Connection, *, outbound: bool) -> None:
        """Handshake, then run the peer until it closes, times out or misbehaves. Whatever its
        data makes fail in its handling closes this peer, never the node (but a storage fault
        is the node's own)."""
        peer = None
        try:
            peer = await self._handshake(conn, outbound)
            if peer is None:
                return
            with peer.cancel_scope:
                try:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._run_writer, peer)
                        nursery.start_soon(self._keepalive, peer)
                        nursery.start_soon(self._exchange_addresses, peer)
                        await self._read_loop(peer)
                        nursery.cancel_scope.cancel()
                finally:
                    peer.close()
                    self._unregister(peer)
        except Exception as exc:
            if any(isinstance(e, DatabaseError) for e in leaf_exceptions(exc)):
                raise
            log.error("peer handling failed remote=%s", conn.remote, exc_info=True)
        finally:
            with trio.CancelScope(shield=True):
                if peer is not None:
                    await self._say_farewell(peer)
                with trio.move_on_after(1):
                    await conn.aclose()

    async def _say_farewell(self, peer: Peer) -> None:
        """Send the DISCONNECT frame of a peer we close (the reason of a ban), bounded so that a
        peer that reads nothing cannot hold its task. Not after a frame cut off mid-way: the
        stream would carry it as the end of that frame."""
        if peer.farewell is None or peer.torn:
            return
        with trio.move_on_after(self.config.disconnect_timeout), suppress(ConnectionClosed):
            await peer.conn.send(peer.farewell)

    async def _handshake(self, conn: Connection, outbound: bool) -> Peer | None:
        if not outbound and not self._handshakes.take(conn.remote):
            log.debug("connection refused remote=%s: too many handshakes", conn.remote)
            return None
        head = self.chain.head
        advertised = self.advertised_address or ""
        ours = new_hello(
            chain_id=self.chain.state().chain.chain_id,
            genesis_hash=self.chain.genesis_hash,
            head_number=head.number,
            head_hash=head.hash,
            finalized=self.chain.finalized.number,
            node_id=self.node_id,
            listen=advertised.encode() if is_dialable(advertised) else b"",  # fits the limit
        )
        try:
            with trio.fail_after(self.config.handshake_timeout):
                theirs = await handshake(conn, ours, self.node_key)
        except (IncompatiblePeer, PeerMisbehaved) as exc:
            log.debug("handshake refused remote=%s reason=%s", conn.remote, exc)
            return None
        except (ConnectionClosed, trio.TooSlowError):
            return None
        finally:
            if not outbound:
                self._handshakes.give_back(conn.remote)
        peer = Peer(conn, theirs, outbound=outbound)
        return peer if self._register(peer) else None

    def _register(self, peer: Peer) -> bool:
        self._record_address(peer)
        if not self._allowed(peer.node_id):
            return False
        existing = self.peers.get(peer.node_id)
        if existing is not None:
            # Both sides keep the connection dialed by the lower node id, so they agree.
            if self._dialer(peer) >= self._dialer(existing):
                return False
            existing.close()
        elif not self._has_slot(peer):
            return False
        self.peers[peer.node_id] = peer
        log.info(
            "peer connected peer=%s direction=%s peers=%d",
            peer.label,
            "out" if peer.outbound else "in",
            len(self.peers),
        )
        if self._better_than_ours(peer):
            self._sync_wanted.set()
        pending = itertools.islice(self.node.mempool.candidates(), TXS_ON_CONNECT)
        if txs := _fitting([tx.encoded for tx in pending], MAX_BATCH_BYTES):
            peer.send(m.Txs(txs))
        return True

    def _record_address(self, peer: Peer) -> None:
        """An address we dialed is verified by the handshake; the one a HELLO claims is not."""
        if peer.outbound:
            self.addresses.verified(peer.conn.remote, peer.node_id)
        elif peer.listen is not None:  # only a dialable one is kept
            self.addresses.learn(peer.listen, peer.node_id)

    def _has_slot(self, peer: Peer) -> bool:
        """Whether a new peer may take a slot: an outbound one of ours, or an inbound one within
        the per-IP limit, free or taken from an idle inbound peer."""
        outbound = sum(1 for p in self.peers.values() if p.outbound)
        if peer.outbound:
            return outbound < self.outbound_slots
        host = remote_host(peer.conn.remote)
        if crowded(self.peers.values(), host, self.config.max_inbound_per_ip):
            log.debug("refusing peer=%s: too many peers from host=%s", peer.label, host)
            return False
        return len(self.peers) - outbound < self.inbound_slots or self._evict_for(peer)

    def _evict_for(self, peer: Peer) -> bool:
        victim = eviction_victim(self.peers.values(), trio.current_time())
        if victim is None:
            return False
        log.info("evicting peer=%s score=%d for peer=%s", victim.label, victim.score, peer.label)
        victim.close(farewell=m.Disconnect(b"evicted: idle, for a new peer"))
        self._unregister(victim)
        return True

    def _dialer(self, peer: Peer) -> bytes:
        return self.node_id if peer.outbound else peer.node_id

    def _unregister(self, peer: Peer) -> None:
        if self.peers.get(peer.node_id) is peer:
            del self.peers[peer.node_id]
            log.info("peer disconnected peer=%s peers=%d", peer.label, len(self.peers))

    def _allowed(self, node_id: bytes) -> bool:
        return node_id not in self.blocked and not self.banned.is_banned(
            node_id, trio.current_time()
        )

    async def _run_writer(self, peer: Peer) -> None:
        try:
            await peer.run_writer()
        except ConnectionClosed:
            peer.close()

    async def _keepalive(self, peer: Peer) -> None:
        nonce = 0
        while True:
            await trio.sleep(self.config.ping_interval)
            if trio.current_time() - peer.last_heard > self.config.idle_timeout:
                log.info("peer timed out peer=%s", peer.label)
                peer.close()
                return
            nonce += 1
            peer.send(m.Ping(nonce))

    async def _exchange_addresses(self, peer: Peer) -> None:
        try:
            answer = await peer.request(m.GetPeers(), self.config.request_timeout)
        except (trio.TooSlowError, ConnectionClosed):
            return
        for raw in answer.addresses[:MAX_ADDRESSES_SHARED]:  # type: ignore[attr-defined]
            address = raw.decode(errors="replace")
            if is_dialable(address):  # the others are skipped: not all of a list is wrong
                self.addresses.learn(address)

    async def _status_loop(self) -> None:
        while True:
            await trio.sleep(self.config.status_interval)
            status = self._status()
            for peer in list(self.peers.values()):
                peer.send(status)

    def _status(self) -> m.Status:
        head = self.chain.head
        return m.Status(head.number, head.hash, self.chain.finalized.number)

    # -- incoming messages ---------------------------------------------------------------------

    async def _read_loop(self, peer: Peer) -> None:
        while True:
            try:
                frame = await peer.conn.receive()
                peer.last_heard = trio.current_time()
                message = m.decode_message(frame)
                if isinstance(message, m.Disconnect):
                    log.info("peer left peer=%s reason=%s", peer.label, message.reason[:200])
                    return
                self._handle(peer, message)
            except ConnectionClosed:
                return
            except (PeerMisbehaved, DecodeError) as exc:
                self.ban(peer, str(exc))
                return

    def _handle(self, peer: Peer, message: Record) -> None:
        match message:
            case m.Status():
                peer.head_number, peer.head_hash = message.head_number, message.head_hash
                peer.finalized = message.finalized
                if self._better_than_ours(peer):
                    self._sync_wanted.set()
            case m.Txs():
                for raw in message.txs:
                    self._receive_transaction(peer, raw)
            case m.NewBlock():
                self._receive_block(peer, message.block)
            case m.Fraud():
                self._receive_fraud(peer, message)
            case m.GetBlocks():
                peer.send(
                    m.Blocks(message.request_id, self._blocks_from(message.start, message.count))
                )
            case m.GetHeaders():
                peer.send(
                    m.Headers(message.request_id, self._headers_from(message.start, message.count))
                )
            case m.GetPeers():
                peer.send(m.Peers(message.request_id, self._shareable_addresses(peer)))
            case m.Blocks() | m.Peers() | m.Headers():
                peer.deliver(message)
            case m.Ping():
                peer.send(m.Pong(message.nonce))
            case m.Pong():
                pass
            case _:
                raise PeerMisbehaved(f"unexpected {type(message).__name__} after the handshake")

    def _receive_fraud(self, peer: Peer, message: m.Fraud) -> None:
        """Verify a relay's fraud report by recomputation; pass on a true one, ban for a false
        one. One we cannot check (an old or unknown parent) is dropped: no fault of the peer's."""
        report = FraudReport.decode(message.report)  # a DecodeError bans
        if not self._seen_reports.add(report.hash):
            return
        try:
            verified = verify_report(report, self.chain)
        except Unverifiable as exc:
            log.debug("fraud report not checked: %s", exc)
            self._seen_reports.forget(report.hash)  # a later copy may be checkable
            return
        except BadReport as exc:
            raise PeerMisbehaved(f"a false fraud report: {exc}") from None
        if self.node.sourcing is not None:
            self.node.sourcing.reported(verified, self.node.clock.current_slot())
        self._gossip(message, peer.node_id)

    def broadcast_fraud(self, report: FraudReport) -> None:
        self._seen_reports.add(report.hash)
        self._gossip(m.Fraud(report.encode()), None)

    def _receive_transaction(self, peer: Peer, raw: bytes) -> None:
        try:
            tx = Transaction.decode(raw)
        except DecodeError as exc:
            raise PeerMisbehaved(f"garbage transaction: {exc}") from None
        if not self._seen_txs.add(tx.hash) or tx.hash in self.node.mempool:
            return
        try:
            tx.sender  # noqa: B018 -- relaying a forged signature is never honest
        except InvalidTransaction as exc:
            raise PeerMisbehaved(str(exc)) from None
        if self._admit(tx, peer.node_id, TX_RETRIES):
            peer.credit()

    def _admit(self, tx: Transaction, source: bytes, retries: int) -> bool:
        """Admit a peer's transaction to the mempool (True), or park it to try again later."""
        try:
            self.node.receive_transaction(tx, source=source)
            return True
        except InvalidTransaction as exc:
            # Not the peer's fault: it may be stale, or ahead of us (a vote on a block we have
            # not seen yet, a nonce after one still on its way); try again after new heads.
            log.debug("peer tx refused tx=0x%s reason=%s", tx.hash.hex()[:16], exc)
            if retries > 0:
                self._retry[tx.hash] = (tx, source, retries - 1)
                while len(self._retry) > MAX_RETRIED_TXS:
                    self._retry.popitem(last=False)
            return False

    def parked(self) -> list[Transaction]:
        """Peers' transactions refused for now, in nonce order: the builder tries them after the
        mempool's, since a block's own start (pools resolving, an epoch turning) can make them
        valid, and importers judge censorship on the state after that start."""
        return sorted((tx for tx, _, _ in self._retry.values()), key=lambda tx: tx.nonce)

    def retry_transactions(self) -> None:
        """Try the transactions refused for now again (after a new head)."""
        waiting, self._retry = self._retry, OrderedDict()
        for tx, source, retries in sorted(waiting.values(), key=lambda w: w[0].nonce):
            if tx.hash not in self.node.mempool:
                self._admit(tx, source, retries)

    def _receive_block(self, peer: Peer, raw: bytes) -> None:
        try:
            block = Block.decode(raw)
        except DecodeError as exc:
            raise PeerMisbehaved(f"garbage block: {exc}") from None
        if block.number > peer.head_number:
            peer.head_number, peer.head_hash = block.number, block.hash
        if not self._seen_blocks.add(block.hash):
            return
        try:
            if self.node.import_block(block, source=peer.node_id).status != "side":
                peer.credit()
        except BlockAlreadyKnown:
            pass
        except UnknownParent:
            self._sync_wanted.set()
        except FutureBlock:
            self._seen_blocks.forget(block.hash)  # it may come again once its slot starts
        except ConflictsWithFinalized as exc:
            log.debug("stale block from peer=%s: %s", peer.label, exc)
        except SideBlocksFull as exc:
            log.debug("side block not kept from peer=%s: %s", peer.label, exc)
        except InvalidBlock as exc:
            raise PeerMisbehaved(f"invalid block #{block.number}: {exc}") from None

    def _blocks_from(self, start: int, count: int) -> list[bytes]:
        """Our canonical blocks from `start`, as many as fit a batch and half a frame."""
        blocks = []
        for number in range(start, start + min(count, self.config.sync_batch)):
            block = self.chain.get_block_by_number(number)
            if block is None:
                break
            blocks.append(block.encode())
        return _fitting(blocks, MAX_BATCH_BYTES)

    def _headers_from(self, start: int, count: int) -> list[bytes]:
        """Our canonical headers from `start`, as many as we hold in a row (at most a batch)."""
        headers = []
        for number in range(start, start + min(count, backfill.MAX_HEADERS)):
            header = self.chain.get_canonical_header(number)
            if header is None:
                break
            headers.append(header.encode())
        return headers

    def _shareable_addresses(self, peer: Peer) -> list[bytes]:
        """Addresses we dialed and found a node at (never the asker's own)."""
        shared = self.addresses.shareable(excluding=peer.node_id)
        return [a.encode() for a in shared[:MAX_ADDRESSES_SHARED]]

    # -- sync ----------------------------------------------------------------------------------

    def _better_than_ours(self, peer: Peer) -> bool:
        if peer.head_hash == peer.diverged_head:
            return False
        head = self.chain.head
        return peer.head_number > head.number or (
            peer.head_number == head.number and peer.head_hash < head.hash
        )

    def _best_peer(self) -> Peer | None:
        candidates = [p for p in self.peers.values() if self._better_than_ours(p)]
        return max(
            candidates,
            key=lambda p: (p.head_number, -int.from_bytes(p.head_hash, "big")),
            default=None,
        )

    async def _sync_loop(self) -> None:
        while True:
            await self._sync_wanted.wait()
            self._sync_wanted = trio.Event()
            tried: set[bytes] = set()
            while (peer := self._best_peer()) is not None and peer.node_id not in tried:
                tried.add(peer.node_id)
                try:
                    await self._sync_from(peer)
                except trio.TooSlowError:
                    log.debug("sync request timed out peer=%s", peer.label)
                except ConnectionClosed as exc:
                    log.debug("sync stopped: %s", exc)
                except ConflictsWithFinalized as exc:
                    log.info("not syncing from peer=%s: %s", peer.label, exc)
                    peer.diverged_head = peer.head_hash
                except PeerMisbehaved as exc:
                    self.ban(peer, str(exc))
                except Exception as exc:
                    if isinstance(exc, DatabaseError):
                        raise
                    log.error("sync failed peer=%s", peer.label, exc_info=True)
                    peer.close()

    async def _sync_from(self, peer: Peer) -> None:
        """Pull the peer's canonical blocks after our head (after our finalized block, if its
        chain forks from ours) and import them."""
        start = self.chain.head.number + 1
        rewound = False
        while True:
            answer = await peer.request(
                m.GetBlocks(start=start, count=self.config.sync_batch), self.config.request_timeout
            )
            blocks = self._decode_batch(answer.blocks, start)  # type: ignore[attr-defined]
            if not blocks:
                return
            if self.chain.get_block(blocks[0].header.parent_hash) is None:
                if rewound:
                    raise ConflictsWithFinalized(
                        "its chain does not join ours above our finalized block"
                    )
                start, rewound = self.chain.finalized.number + 1, True
                continue
            log.info(
                "syncing peer=%s blocks=#%d..#%d", peer.label, blocks[0].number, blocks[-1].number
            )
            for block in self.node.recovery.ahead(blocks):  # the next blocks' senders, meanwhile
                self._seen_blocks.add(block.hash)
                try:
                    result = self.node.import_block(block, source=peer.node_id, relay=False)
                    if result.status != "side":
                        peer.credit()
                except BlockAlreadyKnown:
                    continue
                except (FutureBlock, SideBlocksFull):
                    return
                except ConflictsWithFinalized:
                    raise
                except InvalidBlock as exc:
                    raise PeerMisbehaved(f"invalid block #{block.number}: {exc}") from None
            if len(blocks) < self.config.sync_batch:
                return
            start = blocks[-1].number + 1
            await trio.lowlevel.checkpoint()

    async def _backfill_loop(self) -> None:
        """Fetch the headers below our snapshot block, down to genesis (porchain.backfill),
        from peers that hold them; one that sends headers that do not link is banned."""
        lacking: set[bytes] = set()  # peers that answered without the headers asked for
        while (run := backfill.wanted(self.chain)) is not None:
            start, count = run
            peers = [p for p in self.peers.values() if p.node_id not in lacking]
            if not peers:
                lacking.clear()  # ask again, later: they may have fetched them since
                await trio.sleep(self.config.status_interval)
                continue
            peer = peers[0]
            try:
                request = m.GetHeaders(start=start, count=count)
                answer = await peer.request(request, self.config.request_timeout)
                raws: list[bytes] = answer.headers  # type: ignore[attr-defined]
                if len(raws) != count:
                    lacking.add(peer.node_id)
                    continue
                headers = [Header.decode(raw) for raw in raws]
                backfill.check_headers(self.chain, headers, start)
            except (trio.TooSlowError, ConnectionClosed):
                lacking.add(peer.node_id)
                continue
            except (DecodeError, backfill.BadHeaders) as exc:
                self.ban(peer, f"bad headers: {exc}")
                continue
            backfill.store_headers(self.chain, headers)
            if start == 1:
                log.info("headers checked down to genesis below the snapshot block")
            await trio.lowlevel.checkpoint()

    @staticmethod
    def _decode_batch(raws: list[bytes], start: int) -> list[Block]:
        try:
            blocks = [Block.decode(raw) for raw in raws]
        except DecodeError as exc:
            raise PeerMisbehaved(f"garbage block in a batch: {exc}") from None
        if [b.number for b in blocks] != list(range(start, start + len(blocks))):
            raise PeerMisbehaved("blocks in a batch are not the range asked for")
        return blocks

    # -- outgoing ------------------------------------------------------------------------------

    def broadcast_block(self, block: Block, *, exclude: bytes | None = None) -> None:
        self._seen_blocks.add(block.hash)
        self._gossip(m.NewBlock(block.encode()), exclude)

    def broadcast_transaction(self, tx: Transaction, *, exclude: bytes | None = None) -> None:
        self._seen_txs.add(tx.hash)
        self._gossip(m.Txs([tx.encoded]), exclude)

    def _gossip(self, message: Record, exclude: bytes | None) -> None:
        frame = m.encode_message(message)
        peers = list(self.peers.values())
        for peer in self.node.behaviour.gossip_targets(self.node, peers, message):
            if peer.node_id != exclude:
                peer.send_frame(frame)

    # -- control -------------------------------------------------------------------------------

    def ban(self, peer: Peer, reason: str) -> None:
        log.warning("banning peer=%s for %ds: %s", peer.label, self.config.ban_seconds, reason)
        now = trio.current_time()
        self.banned.ban(peer.node_id, now + self.config.ban_seconds, now)
        peer.close(farewell=m.Disconnect(b"banned: " + reason.encode()[:200]))

    def cut_off(self, node_ids: set[bytes]) -> None:
        """Drop these peers and refuse them until `heal` (the devnet's partitions)."""
        self.blocked = set(node_ids)
        for peer in list(self.peers.values()):
            if peer.node_id in self.blocked:
                peer.close()

    def heal(self) -> None:
        self.blocked = set()
        self.addresses.retry_now()


def _fitting(items: list[bytes], limit: int) -> list[bytes]:
    """The longest prefix of `items` within `limit` bytes (at least one item)."""
    size = 0
    for i, item in enumerate(items):
        size += len(item)
        if i and size > limit:
            return items[:i]
    return items
