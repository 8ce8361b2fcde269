"""The slot clock: wall-clock milliseconds read through trio's clock.

On a real run the offset to wall time is read once, at start; under `trio.testing.MockClock` the
caller fixes the offset, so that the same node code runs on virtual time.
"""

from __future__ import annotations

import time

import trio


class SlotClock:
    def __init__(self, genesis_time_ms: int, slot_ms: int, *, offset_ms: float | None = None):
        self.genesis_time_ms = genesis_time_ms
        self.slot_ms = slot_ms
        if offset_ms is None:
            offset_ms = time.time() * 1000 - trio.current_time() * 1000
        self._offset_ms = offset_ms

    def now_ms(self) -> int:
        return int(self._offset_ms + trio.current_time() * 1000)

    def slot_at(self, time_ms: int) -> int:
        return max(0, (time_ms - self.genesis_time_ms) // self.slot_ms)

    def current_slot(self) -> int:
        return self.slot_at(self.now_ms())

    def slot_start_ms(self, slot: int) -> int:
        return self.genesis_time_ms + slot * self.slot_ms

    async def sleep_until_ms(self, time_ms: int) -> None:
        await trio.sleep_until(trio.current_time() + max(0, time_ms - self.now_ms()) / 1000)

    async def wait_for_slot(self, slot: int) -> None:
        await self.sleep_until_ms(self.slot_start_ms(slot))
