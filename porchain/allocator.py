"""The C allocator's settings for a long-running node.

glibc serves an allocation of at least `M_MMAP_THRESHOLD` (128 KiB) with its own mmap, returned
to the system when freed; but it raises that threshold to the size of each such block freed (up
to 32 MiB). After one large frame (a block, a sync batch, a peer's oversized message) every
frame up to its size comes from the heap instead, where a freed block stays resident behind any
live small object above it: a node that received many large frames kept tens of MiB it no
longer used (issue 10's campaign: 56 MiB -> 74 MiB after the attack, 60 MiB with the threshold
fixed). Setting the threshold turns that adjustment off.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's initial value, kept for good


def pin_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold; False where there is no glibc (macOS, musl) or it refused."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
