"""Checking a snapshot: against the chain a node is on, its authorities, and its own entries.

The cheap checks come first and need only the header: the chain (genesis hash, chain id, state
commitment version) and the k-of-n signatures. Only a trusted header's entries are read, and
they are trusted only when the lattice hash recomputed from them is the header's state root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from porchain.snapshot.format import (
    SnapshotError,
    SnapshotHeader,
    SnapshotPreamble,
    read_entries,
    read_preamble,
)
from porchain.snapshot.make import chunks
from porchain.snapshot.trustnet import SignatureCount, TrustNet, count_signatures, require_trusted
from porchain.state.lthash import COMMITMENT_VERSION, LtHash, sum_entries

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ChainIdentity:
    """What a snapshot must match to be of the chain a node is on."""

    chain_id: int
    genesis_hash: bytes


def check_chain(header: SnapshotHeader, chain: ChainIdentity) -> None:
    if header.genesis_hash != chain.genesis_hash:
        raise SnapshotError(
            "the snapshot is of another chain: its genesis is "
            f"0x{header.genesis_hash.hex()[:16]}.., this node's 0x{chain.genesis_hash.hex()[:16]}.."
        )
    if header.chain_id != chain.chain_id:
        raise SnapshotError(
            f"the snapshot is of chain id {header.chain_id}, this node's is {chain.chain_id}"
        )
    if header.commitment_version != COMMITMENT_VERSION:
        raise SnapshotError(
            f"the snapshot's state root is of commitment version {header.commitment_version}; "
            f"this porchain computes version {COMMITMENT_VERSION}"
        )


def open_trusted(
    source: BinaryIO, chain: ChainIdentity | None, trust: TrustNet | None
) -> SnapshotPreamble:
    """Read the preamble and refuse it unless it is of `chain` and signed by k of `trust`."""
    preamble = read_preamble(source)
    if chain is not None:
        check_chain(preamble.header, chain)
    if trust is not None:
        require_trusted(preamble, trust)
    return preamble


def check_entries(
    source: BinaryIO, header: SnapshotHeader, progress: Progress | None = None
) -> None:
    """Recompute the lattice hash of the entries left in `source`; refuse a mismatch."""
    lthash = LtHash()
    for chunk in chunks(read_entries(source, header)):
        lthash.lanes = lthash.lanes + sum_entries(chunk)
        if progress is not None:
            progress(len(chunk))
    root = lthash.root()
    if root != header.state_root:
        raise SnapshotError(
            f"the snapshot's entries give state root 0x{root.hex()[:16]}.., its header says "
            f"0x{header.state_root.hex()[:16]}..: the entries were changed or damaged"
        )


@dataclass(frozen=True)
class Verified:
    header: SnapshotHeader
    signatures: SignatureCount


def verify(
    source: BinaryIO,
    *,
    chain: ChainIdentity | None = None,
    trust: TrustNet | None = None,
    progress: Progress | None = None,
) -> Verified:
    """Check a whole snapshot read from `source`: its chain and k-of-n signatures (when given),
    then its entries."""
    preamble = open_trusted(source, chain, trust)
    check_entries(source, preamble.header, progress)
    return Verified(preamble.header, count_signatures(preamble, trust))
