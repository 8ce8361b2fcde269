"""The C allocator's settings for a long-running node.

glibc serves an allocation of at least `M_MMAP_THRESHOLD` (128 KiB) with its own mmap, returned
to the system when freed; but it raises that threshold to the size of each such block freed (up
to 32 MiB). After one large frame (a block, a sync batch, a peer's oversized message) every
frame up to its size comes from the heap instead, where a freed block stays resident behind any
live small object above it: a node that received many large frames kept tens of MiB it no
longer used (issue 10's campaign: 56 MiB -> 74 MiB after the attack, 60 MiB with the threshold
fixed). Setting the threshold turns that adjustment off.

Freed memory inside the heap stays resident too, until the pages around it are free: after a
burst (an attack's many connections and frames) the heap keeps its peak. `release_free_memory`
(glibc's `malloc_trim`) hands free pages back; the node calls it once a minute.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

import trio

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's initial value, kept for good
RELEASE_INTERVAL_SECONDS = 60.0  # malloc_trim walks the heap: ~1 ms for a node's 60 MiB


def _libc_function(name: str) -> Callable[..., int] | None:
    """A function of glibc's allocator; None where there is none (macOS, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


def pin_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold; False where there is no glibc or it refused."""
    mallopt = _libc_function("mallopt")
    return mallopt is not None and bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def release_free_memory() -> bool:
    """Return the heap's free pages to the system; False where there is no glibc or none was."""
    malloc_trim = _libc_function("malloc_trim")
    return malloc_trim is not None and bool(malloc_trim(0))


async def release_free_memory_periodically(interval: float = RELEASE_INTERVAL_SECONDS) -> None:
    """`release_free_memory` every `interval` seconds, for as long as the process runs."""
    while True:
        await trio.sleep(interval)
        release_free_memory()
