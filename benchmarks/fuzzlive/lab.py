"""The devnet under test: created and started by us (and stopped), or given and left running.

Node processes are driven in-process through one `Supervisor`, so a stop (SIGTERM or Ctrl-C)
can refuse every later start: `halt()` sets its `stopping` event, a start or a wait in
progress then fails at once, and `down()` stops every node, including one just started.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trio

from porchain.cli.devnet import start_and_wait
from porchain.devnet.errors import DevnetError
from porchain.devnet.layout import Devnet, open_devnet
from porchain.devnet.manifest import default_manifest
from porchain.devnet.processes import Supervisor
from porchain.errors import PorchainError
from porchain.rpc.client import RemoteError, RPCClient, RPCClientError

NODES = 2  # node1 is the target, node2 the honest peer
READY_SECONDS = 120.0  # for both nodes to produce and peer after they start
SAMPLE_RPC_SECONDS = 5.0  # one RPC call of the monitor: longer counts as unanswered
RPC_ERRORS = (RPCClientError, RemoteError, KeyError, TypeError)


@dataclass
class NodeHandle:
    name: str
    rpc: RPCClient
    p2p: str
    node_id: str  # 0x-hex, lower case
    address: str  # the producer's, lower case
    datadir: Path

    @property
    def pid(self) -> int | None:
        try:
            return int((self.datadir / "node.pid").read_text())
        except (OSError, ValueError):
            return None

    @property
    def log(self) -> Path:
        return self.datadir / "node.log"


async def call(node: NodeHandle, method: str, *params: object) -> object:
    """One read-only RPC call in a thread, abandoned at once on cancellation."""
    return await trio.to_thread.run_sync(node.rpc.call, method, *params, abandon_on_cancel=True)


class Lab:
    """The devnet in `root`; `owned`: created, started and stopped by us."""

    def __init__(self, root: Path, *, owned: bool) -> None:
        self.root, self.owned = root, owned
        self.halted = threading.Event()
        self.supervisor: Supervisor | None = None

    def up(self) -> None:
        """Create and start the devnet (or load the given one). Blocking: run in a thread."""
        if self.owned:
            devnet = open_devnet(self.root, default_manifest(NODES))[0]
        else:
            devnet = Devnet.load(self.root)
        self.supervisor = Supervisor(devnet)
        if self.halted.is_set():  # halted while we created it: halt() saw no supervisor
            self.supervisor.stopping.set()
        if self.owned:
            self._unless_halted(start_and_wait, devnet, self.supervisor, devnet.node_names)

    def nodes(self) -> list[NodeHandle]:
        assert self.supervisor is not None
        devnet = self.supervisor.devnet
        return [
            NodeHandle(
                n.name,
                RPCClient(n.rpc_url, timeout=SAMPLE_RPC_SECONDS),
                n.p2p_address,
                n.node_id.lower(),
                n.address.lower(),
                devnet.datadir(n.name),
            )
            for n in devnet.nodes
        ]

    def restart(self, name: str) -> None:
        """Stop and start one node, until it answers RPC; nothing once halted. Blocking."""
        assert self.supervisor is not None
        self.supervisor.stop([name])
        self._unless_halted(self.supervisor.start, name)
        self._unless_halted(self.supervisor.wait_ready, [name])

    def _unless_halted(self, action: Callable[..., object], *args: object) -> None:
        """`action`, whose DevnetError once halted is the halt itself, not a failure."""
        try:
            action(*args)
        except DevnetError:
            if not self.halted.is_set():
                raise

    def halt(self) -> None:
        """From now on no node starts, and a wait for one ends (any thread)."""
        self.halted.set()
        if self.supervisor is not None:
            self.supervisor.stopping.set()

    def down(self) -> None:
        """Stop every node of a devnet we started. Blocking."""
        self.halt()
        if self.owned and self.supervisor is not None:
            self.supervisor.stop()


async def wait_ready(target: NodeHandle, honest: NodeHandle) -> None:
    """Until both nodes are peered and each has produced a block."""
    producers: set[str] = set()
    seen = 0
    with trio.move_on_after(READY_SECONDS):
        while True:
            try:
                head = await call(target, "por_blockNumber")
                for number in range(seen + 1, head + 1):
                    block = await call(target, "por_getBlockByNumber", number)
                    producers.add(block["producer"].lower())
                seen = head
                produced = {target.address, honest.address} <= producers
                if produced and await peered(target, honest) and await peered(honest, target):
                    return
            except RPC_ERRORS:
                pass
            await trio.sleep(1)
    raise PorchainError(f"the devnet did not produce and peer within {READY_SECONDS:g} s")


async def peered(node: NodeHandle, other: NodeHandle) -> bool:
    """`other` among `node`'s peers."""
    peers = await call(node, "net_peers")
    return any(p["node_id"].lower() == other.node_id for p in peers)
