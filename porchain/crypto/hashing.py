"""keccak256, the one hash of the protocol (Ethereum's, for cross-checking with its tools)."""

from eth_hash.auto import keccak as _keccak

ZERO_HASH = b"\x00" * 32


def keccak(data: bytes) -> bytes:
    return _keccak(data)
