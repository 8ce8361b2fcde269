"""Memory freed after large frames goes back to the system (issue 10: the node kept tens of MiB
after an attack of large frames). Each case runs in a fresh interpreter: the allocator's state
is per process."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator")

# One large frame freed (which raises glibc's threshold to its size), then 40 frames of 4 MiB,
# each followed by a small object that stays alive, then the frames freed: the MiB still resident.
RESIDUAL = """
import sys
from porchain.allocator import pin_mmap_threshold, release_free_memory

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 // 2**20

if sys.argv[1] == "pinned":
    assert pin_mmap_threshold()
frame = bytearray(8 * 2**20)
del frame
base = rss_mib()
small, frames = [], []
for _ in range(40):
    frames.append(bytearray(4 * 2**20))
    small.append(bytearray(1024))
del frames
if sys.argv[1] == "released":
    assert release_free_memory()
print(rss_mib() - base)
"""


def residual_mib(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", RESIDUAL, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


def test_freed_frames_leave_nothing_resident_once_the_threshold_is_pinned() -> None:
    assert residual_mib("default") >= 100  # the 160 MiB the frames took stay resident
    assert residual_mib("pinned") <= 8


def test_free_memory_inside_the_heap_is_released() -> None:
    """What the pinned threshold cannot prevent (frees inside the heap, pages kept resident
    between live objects) the node's periodic `release_free_memory` hands back."""
    assert residual_mib("released") <= 8
