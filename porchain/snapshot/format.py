"""The snapshot file: a finalized block's whole state, streamable, checkable in one pass.

Layout (every length big-endian):

    b"PORSNAP1"                       magic and format version
    u32 length, SnapshotHeader RLP    what the file claims (chain, block, state root, entry count
                                      and the entries' size in bytes)
    u32 length, RLP list of sigs      authorities' 65-byte signatures over `signing_hash(header)`
    entry_count entries:              u16 key length, u32 value length, state key, value,
                                      keys strictly ascending
    end of file                       nothing may follow the last entry

The header carries the snapshot block itself, so a node bootstrapped from the file has its head
block; the state root it claims is that block's. Signatures are over the header only: the
entries are bound to it by the lattice hash, which anyone recomputes from them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from porchain.crypto.hashing import keccak
from porchain.crypto.keys import SIGNATURE_SIZE
from porchain.errors import DecodeError, PorchainError
from porchain.params import MAX_BLOCK_BYTES
from porchain.types.blocks import Block
from porchain.types.codec import decode_fixed, decode_list, rlp_decode, rlp_encode
from porchain.types.records import Record

MAGIC = b"PORSNAP1"
FORMAT_VERSION = 1
SIGNING_DOMAIN = b"porchain-snapshot"
MAX_HEADER_BYTES = MAX_BLOCK_BYTES + 4096  # the block and a few fixed fields
MAX_SIGNATURES = 256
MAX_KEY_BYTES = 1024  # state keys are short prefixes and hashes
MAX_VALUE_BYTES = 64 * 1024 * 1024
_ENTRY_HEAD = struct.Struct(">HI")


class SnapshotError(PorchainError):
    """A snapshot file that is malformed, truncated, of another chain or not trusted."""


@dataclass(slots=True)
class SnapshotHeader(Record):
    format: int = FORMAT_VERSION
    chain_id: int = 0
    genesis_hash: bytes = b""
    number: int = 0
    block_hash: bytes = b""
    state_root: bytes = b""
    entry_count: int = 0
    entries_bytes: int = 0  # the size of the entries part, so a download is bounded by it
    commitment_version: int = 0
    block: bytes = b""  # the snapshot block's RLP

    def signing_hash(self) -> bytes:
        return keccak(SIGNING_DOMAIN + self.encode())

    def decoded_block(self) -> Block:
        try:
            return Block.decode(self.block)
        except DecodeError as exc:
            raise SnapshotError(f"the snapshot's block is malformed: {exc}") from None

    def describe(self) -> str:
        return f"block #{self.number} 0x{self.block_hash.hex()[:16]}.. of chain {self.chain_id}"


def check_header(header: SnapshotHeader) -> Block:
    """The header's own consistency: its fields agree with the block it carries."""
    if header.format != FORMAT_VERSION:
        raise SnapshotError(
            f"snapshot format {header.format} is not supported (this porchain reads "
            f"{FORMAT_VERSION})"
        )
    block = header.decoded_block()
    if (block.hash, block.number, block.header.state_root) != (
        header.block_hash,
        header.number,
        header.state_root,
    ):
        raise SnapshotError("the snapshot header does not agree with the block it carries")
    return block


@dataclass(slots=True)
class SnapshotPreamble:
    """The header and signatures, everything before the entries."""

    header: SnapshotHeader
    signatures: list[bytes] = field(default_factory=list)

    def encode(self) -> bytes:
        return MAGIC + _frame(self.header.encode()) + _frame(rlp_encode(list(self.signatures)))


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


def encode_entry(key: bytes, value: bytes) -> bytes:
    return _ENTRY_HEAD.pack(len(key), len(value)) + key + value


def _read_exact(source: BinaryIO, size: int, what: str) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise SnapshotError(f"the snapshot file is truncated (in {what})")
    return data


def _read_frame(source: BinaryIO, limit: int, what: str) -> bytes:
    size = int.from_bytes(_read_exact(source, 4, what), "big")
    if size > limit:
        raise SnapshotError(f"the snapshot's {what} is {size} bytes, over the {limit} limit")
    return _read_exact(source, size, what)


def read_preamble(source: BinaryIO) -> SnapshotPreamble:
    """Read the magic, header and signatures; the entries are left in `source`."""
    if source.read(len(MAGIC)) != MAGIC:
        raise SnapshotError("not a porchain snapshot file (bad magic)")
    try:
        header = SnapshotHeader.decode(_read_frame(source, MAX_HEADER_BYTES, "header"))
        raw = rlp_decode(_read_frame(source, MAX_SIGNATURES * 70, "signatures"), "signatures")
        items = decode_list(raw, None, "signatures")
        signatures = [decode_fixed(item, SIGNATURE_SIZE, "signature") for item in items]
    except DecodeError as exc:
        raise SnapshotError(f"the snapshot header is malformed: {exc}") from None
    if len(signatures) > MAX_SIGNATURES:
        raise SnapshotError(f"the snapshot carries over {MAX_SIGNATURES} signatures")
    check_header(header)
    return SnapshotPreamble(header, signatures)


def entry_size(key: bytes, value: bytes) -> int:
    return _ENTRY_HEAD.size + len(key) + len(value)


def read_entries(source: BinaryIO, header: SnapshotHeader) -> Iterator[tuple[bytes, bytes]]:
    """The header's entries, which follow the preamble, checked for order, for the size the
    header gives (never read past it), and for the end of file."""
    count, left = header.entry_count, header.entries_bytes
    previous = b""
    for index in range(count):
        where = f"entry {index + 1} of {count}"
        key_size, value_size = _ENTRY_HEAD.unpack(_read_exact(source, _ENTRY_HEAD.size, where))
        if key_size > MAX_KEY_BYTES or value_size > MAX_VALUE_BYTES:
            raise SnapshotError(f"the snapshot's {where} is over the size limits")
        left -= _ENTRY_HEAD.size + key_size + value_size
        if left < 0:
            raise SnapshotError(f"the snapshot's entries pass its header's size at {where}")
        key = _read_exact(source, key_size, where)
        if index and key <= previous:
            raise SnapshotError(f"the snapshot's keys are not in ascending order at {where}")
        yield key, _read_exact(source, value_size, where)
        previous = key
    if left:
        raise SnapshotError(f"the snapshot's {count} entries are {left} bytes short of its size")
    if source.read(1):
        raise SnapshotError(f"the snapshot file has bytes after its {count} entries")
