"""Who may hold a peer slot (issue 10, findings 5, 6): the ban list and the inbound policy.

Slots are split: outbound ones are filled only by peers the node chose and dialed itself, so
strangers connecting to it can never take them all (an eclipse). Inbound peers are limited per
IP (loopback excepted: a devnet runs every node on 127.0.0.1), and when the inbound slots are
full a newcomer takes the slot of an idle inbound peer: one connected long enough to have shown
its worth that has delivered nothing useful (a valid new block or transaction first, a sync
batch) for `IDLE_AFTER` seconds, the one with the lowest score first.
"""

from __future__ import annotations

import ipaddress
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator

from porchain.net.peer import Peer

MAX_BANS = 4096  # banned node ids remembered; beyond it the oldest ban is forgotten
MAX_OUTBOUND = 8  # outbound slots at most; half of max_peers (rounded up) when that is fewer
EVICTION_MIN_AGE = 10.0  # seconds an inbound peer is connected before it may be evicted
IDLE_AFTER = 60.0  # seconds without anything useful from a peer that make it idle


def outbound_slots(max_peers: int) -> int:
    """Slots reserved for the peers we dial: 8 of 16, 1 of 1 (a node with one slot only dials)."""
    return min(MAX_OUTBOUND, (max_peers + 1) // 2)


class BanList:
    """Banned node ids with the time their ban ends; expired bans are pruned, at most MAX_BANS
    kept (the oldest goes). Every ban lasts as long, so the oldest ban is the first to end."""

    def __init__(self, capacity: int = MAX_BANS) -> None:
        self.capacity = capacity
        self._until: OrderedDict[bytes, float] = OrderedDict()  # oldest first

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._until

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._until)

    def __len__(self) -> int:
        return len(self._until)

    def ban(self, node_id: bytes, until: float, now: float) -> None:
        self.prune(now)
        self._until.pop(node_id, None)
        self._until[node_id] = until
        while len(self._until) > self.capacity:
            self._until.popitem(last=False)

    def is_banned(self, node_id: bytes, now: float) -> bool:
        self.prune(now)
        return self._until.get(node_id, now) > now

    def prune(self, now: float) -> None:
        while self._until and next(iter(self._until.values())) <= now:
            self._until.popitem(last=False)


def remote_host(remote: str) -> str:
    """The host part of a connection's remote "host:port"."""
    return remote.rpartition(":")[0].removeprefix("[").removesuffix("]")


def is_loopback(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


class HandshakeSlots:
    """Bounds the inbound connections still handshaking: `total` per node, `per_ip` per remote
    host. Loopback hosts are exempt from the per-host bound: a devnet runs all its nodes on
    127.0.0.1, and a local process can do more harm than this bound prevents anyway."""

    def __init__(self, total: int, per_ip: int) -> None:
        self.total = total
        self.per_ip = per_ip
        self._hosts: Counter[str] = Counter()

    def __len__(self) -> int:
        return self._hosts.total()

    def take(self, remote: str) -> bool:
        """Take a slot for a connection from `remote` ("host:port"); False when none is free."""
        host = remote_host(remote)
        if len(self) >= self.total or (self._hosts[host] >= self.per_ip and not is_loopback(host)):
            return False
        self._hosts[host] += 1
        return True

    def give_back(self, remote: str) -> None:
        host = remote_host(remote)
        self._hosts[host] -= 1
        if not self._hosts[host]:
            del self._hosts[host]


def crowded(peers: Iterable[Peer], host: str, limit: int) -> bool:
    """Whether `limit` of `peers` already connected to us from `host` (never loopback)."""
    if is_loopback(host):
        return False
    return sum(1 for p in peers if not p.outbound and remote_host(p.conn.remote) == host) >= limit


def eviction_victim(peers: Iterable[Peer], now: float) -> Peer | None:
    """The inbound peer a newcomer may replace: idle and connected EVICTION_MIN_AGE at least;
    the lowest score, then the latest connected (long-lived peers have proved stable)."""
    idle = [p for p in peers if not p.outbound and _idle(p, now)]
    return min(idle, key=lambda p: (p.score, -p.connected_at), default=None)


def _idle(peer: Peer, now: float) -> bool:
    if now - peer.connected_at < EVICTION_MIN_AGE:
        return False
    return peer.useful_at is None or now - peer.useful_at >= IDLE_AFTER
