"""Peer-to-peer networking: framed messages over TCP (or an in-memory network), an
authenticated handshake, gossip, range sync and peer exchange (PROTOCOL section 12)."""
