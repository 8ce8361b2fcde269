"""The addresses a node may dial, bounded, aged and pruned (issue 10, finding 6).

An address is a bootnode (configured: kept however often it fails), verified (we dialed it and
its handshake succeeded, so we know the node id that answers there) or unverified (claimed in a
HELLO or learned from a PEERS answer: a stranger's word). Only verified addresses are shared
with peers. An unverified address that fails `MAX_DIAL_FAILURES` dials in a row is dropped; when
the book is full the oldest unverified address makes room, a verified one only for a verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_ADDRESSES = 1024  # entries in the book, bootnodes included
MAX_DIAL_FAILURES = 3  # failed dials in a row that drop an unverified address


@dataclass
class Entry:
    node_id: bytes | None = None  # the node that answered there (claimed, if unverified)
    bootnode: bool = False
    verified: bool = False
    failures: int = 0  # failed dials in a row
    retry_at: float = 0.0  # not dialed before this time


class AddressBook:
    def __init__(self, bootnodes: Iterable[str], capacity: int = MAX_ADDRESSES) -> None:
        self.capacity = capacity
        self._entries: dict[str, Entry] = {}  # oldest first
        for address in bootnodes:
            self._entries[address] = Entry(bootnode=True)

    def __contains__(self, address: object) -> bool:
        return address in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, address: str) -> Entry | None:
        return self._entries.get(address)

    def learn(self, address: str, node_id: bytes | None = None) -> bool:
        """Record an address a peer gave us (unverified); False when there is no room for it.
        A known address keeps what we know of it: a stranger cannot rename a verified node."""
        if address in self._entries:
            return True
        if len(self._entries) >= self.capacity and not self._evict(verified=False):
            return False
        self._entries[address] = Entry(node_id=node_id)
        return True

    def verified(self, address: str, node_id: bytes) -> None:
        """We dialed `address` and the handshake proved `node_id` answers there."""
        entry = self._entries.get(address)
        if entry is None:
            if len(self._entries) >= self.capacity and not self._evict(verified=True):
                return
            entry = self._entries[address] = Entry()
        entry.node_id, entry.verified, entry.failures = node_id, True, 0

    def dialed(self, address: str, retry_at: float) -> None:
        """A dial of `address` connected: not again before `retry_at`."""
        if (entry := self._entries.get(address)) is not None:
            entry.retry_at = retry_at

    def failed(self, address: str, retry_at: float) -> None:
        """A dial of `address` failed: an unverified one is dropped after MAX_DIAL_FAILURES."""
        entry = self._entries.get(address)
        if entry is None:
            return
        entry.failures += 1
        entry.retry_at = retry_at
        if entry.failures >= MAX_DIAL_FAILURES and not (entry.bootnode or entry.verified):
            del self._entries[address]

    def drop(self, address: str) -> None:
        """Forget an address no dial can ever reach (the resolver refuses its name), even a
        bootnode's."""
        self._entries.pop(address, None)

    def retry_now(self) -> None:
        for entry in self._entries.values():
            entry.retry_at = 0.0

    def due(self, now: float) -> list[tuple[str, Entry]]:
        """The addresses that may be dialed now: bootnodes, then verified, then unverified
        ones, each oldest first."""
        due = [(a, e) for a, e in self._entries.items() if e.retry_at <= now]
        return sorted(due, key=lambda item: (not item[1].bootnode, not item[1].verified))

    def shareable(self, excluding: bytes) -> list[str]:
        """The addresses verified to answer, most recently learned first, but the one of the
        node `excluding` (the asker)."""
        return [
            a for a, e in reversed(self._entries.items()) if e.verified and e.node_id != excluding
        ]

    def _evict(self, *, verified: bool) -> bool:
        """Drop the oldest unverified address (or, if `verified`, else the oldest verified one)
        to make room; False when nothing may go."""
        for allowed in (False, True) if verified else (False,):
            for address, entry in self._entries.items():
                if not entry.bootnode and entry.verified == allowed:
                    del self._entries[address]
                    return True
        return False
