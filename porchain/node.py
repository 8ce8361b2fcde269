"""The node: chain, mempool, block production and RPC composed as trio services.

One process, one `trio.run`, one nursery: every service is started with `nursery.start` and
stopped by cancellation, and the database is closed in `finally`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import trio

from porchain.builder import build_block
from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.consensus.modules import BlockContext
from porchain.consensus.selection import get_slot_producer
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.mempool import MAX_TXS, Mempool
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction

log = logging.getLogger(__name__)

DEFAULT_RPC_PORT = 8645


@dataclass(frozen=True)
class NodeConfig:
    rpc_host: str = "127.0.0.1"
    rpc_port: int | None = DEFAULT_RPC_PORT  # None: no RPC server; 0: any free port
    mempool_max_txs: int = MAX_TXS
    produce: bool = True
    info_file: Path | None = None  # where to write {"rpc": url, "pid": ...} once serving


class Node:
    def __init__(
        self,
        chain: Chain,
        clock: SlotClock,
        *,
        key: PrivateKey | None = None,
        config: NodeConfig = NodeConfig(),
    ) -> None:
        self.chain = chain
        self.clock = clock
        self.key = key
        self.config = config
        self.mempool = Mempool(chain.rules, max_txs=config.mempool_max_txs)
        self.rpc_url: str | None = None
        self.new_head = trio.Event()

    @property
    def address(self) -> bytes | None:
        return None if self.key is None else self.key.address

    # -- services ------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        from porchain.rpc.server import serve_rpc  # the RPC layer depends on the node, not back

        async with trio.open_nursery() as nursery:
            if self.config.rpc_port is not None:
                self.rpc_url = await nursery.start(
                    serve_rpc, self, self.config.rpc_host, self.config.rpc_port
                )
                self._write_info_file()
            if self.config.produce and self.key is not None:
                nursery.start_soon(self._produce_blocks)
            log.info(
                "node started chain_id=%d head=#%d producer=%s rpc=%s",
                self.chain.state().chain.chain_id,
                self.chain.head.number,
                to_checksum_address(self.key.address) if self.key else "none",
                self.rpc_url or "off",
            )
            task_status.started()

    def _write_info_file(self) -> None:
        if self.config.info_file is None:
            return
        tmp = self.config.info_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"rpc": self.rpc_url, "pid": os.getpid()}))
        tmp.replace(self.config.info_file)

    async def _produce_blocks(self) -> None:
        assert self.key is not None
        next_slot = max(self.clock.current_slot(), self.chain.head.slot) + 1
        while True:
            await self.clock.wait_for_slot(next_slot)
            slot = self.clock.current_slot()
            if slot > self.chain.head.slot:
                self.produce_block(slot)
            next_slot = slot + 1

    def produce_block(self, slot: int) -> Block | None:
        """Build, sign and import a block for `slot` if our key is scheduled for it."""
        assert self.key is not None
        state = self.chain.state()
        if get_slot_producer(state, slot) != self.key.address:
            return None
        built = build_block(
            state, self.chain.head, slot, self.key, self.mempool.candidates(), self.chain.rules
        )
        for tx, reason in built.rejected:
            log.debug("left out tx=0x%s reason=%s", tx.hash.hex(), reason)
        self.mempool.remove(tx for tx, _ in built.rejected)
        ctx = self.import_block(built.block)
        log.log(
            logging.INFO if built.block.transactions else logging.DEBUG,
            "produced block #%d slot=%d txs=%d fees=%d hash=0x%s",
            built.block.number,
            slot,
            len(built.block.transactions),
            ctx.fees,
            built.block.hash.hex()[:16],
        )
        return built.block

    # -- inputs ------------------------------------------------------------------------------

    def import_block(self, block: Block) -> BlockContext:
        ctx = self.chain.import_block(block, now_ms=self.clock.now_ms())
        self.mempool.on_new_head(block.transactions, self.chain.state())
        self.new_head.set()
        self.new_head = trio.Event()
        return ctx

    def submit_transaction(self, raw: bytes) -> Transaction:
        """Decode and admit a raw transaction; raise DecodeError or InvalidTransaction."""
        tx = Transaction.decode(raw)
        self.mempool.add(tx, self.chain.state(), self.clock.now_ms())
        log.debug("accepted tx=0x%s from=%s", tx.hash.hex(), to_checksum_address(tx.sender))
        return tx


async def run_until_signalled(node: Node) -> None:
    """Run `node` until SIGINT or SIGTERM, then stop every service cleanly."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(node.run)
            async for signum in signals:
                log.info("stopping on %s", signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break
