"""The process-wide caches, and one call that empties them all.

Decoded transactions, blocks, frames and state entries, recovered senders and block executions
are kept by their bytes, so a process that meets the same bytes again (in a simulation, every
node of the process) does the work once. What one node does with bytes it meets for the first
time is measured after `clear()` (benchmarks/transfer_throughput.py).
"""

from __future__ import annotations

from porchain.consensus.executions import EXECUTIONS
from porchain.crypto import keys
from porchain.net import messages
from porchain.state import state
from porchain.types import blocks, transactions


def clear() -> None:
    """Forget every cached decoding, recovery and execution of this process."""
    transactions._decode_cached.cache_clear()
    blocks._decode_block_cached.cache_clear()
    messages._decode_cached.cache_clear()
    state._decoded.cache_clear()
    keys._recovered.clear()
    EXECUTIONS.clear()
