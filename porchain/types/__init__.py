"""Wire types: RLP transactions, headers and blocks (thin classes with cached hashes)."""
