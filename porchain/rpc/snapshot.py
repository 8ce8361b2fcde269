"""Snapshots over RPC: `por_createSnapshot` writes one into the node's snapshot directory (off
the loop, one at a time), `por_snapshots` lists them; they are downloaded with HTTP GET
`/snapshots/<number>.porsnap` (or `/snapshots/latest`) from the RPC port (docs/snapshots.md)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from porchain.rpc import params
from porchain.rpc.errors import INVALID_PARAMS, NOT_WRITTEN, STATE_UNAVAILABLE, RPCError
from porchain.rpc.format import hex0x
from porchain.rpc.view import Offload, on_loop
from porchain.snapshot.format import SnapshotError
from porchain.snapshot.make import write_snapshot
from porchain.snapshot.store import MAX_LISTED, MAX_STORED, describe, snapshot_path, stored_numbers
from porchain.state.past import StateUnavailable

if TYPE_CHECKING:
    from porchain.chain import Chain
    from porchain.node import Node

_writing = threading.Lock()  # one snapshot written at a time, per process


def snapshot_json(header: Any, signatures: int) -> dict[str, Any]:
    return {
        "number": header.number,
        "block_hash": hex0x(header.block_hash),
        "state_root": hex0x(header.state_root),
        "entries": header.entry_count,
        "signatures": signatures,
        "name": f"{header.number}.porsnap",
    }


class SnapshotApi:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.directory = node.config.snapshot_dir

    def _require_directory(self) -> Any:
        if self.directory is None:
            raise RPCError(INVALID_PARAMS, "this node keeps no snapshots (no data directory)")
        return self.directory

    @on_loop
    def por_createSnapshot(self, block: Any = "finalized") -> Offload:
        """Write the state after a finalized block (the finalized block by default) to the
        node's snapshot directory; answers its header once written."""
        directory = self._require_directory()
        chain = self.node.chain
        tags = {"finalized": chain.checkpoint.number, "latest": chain.head.number, "earliest": 0}
        number = params.block_number(block, tags)

        def finish(view: Chain) -> dict[str, Any]:
            if not _writing.acquire(blocking=False):
                raise RPCError(
                    NOT_WRITTEN, "a snapshot is being written; try again when it is done"
                )
            try:
                path = snapshot_path(directory, number)
                if path.exists():  # kept as it is, with the signatures it may have gathered
                    return snapshot_json(*describe(path))
                stored = stored_numbers(directory)
                if len(stored) >= MAX_STORED:
                    raise RPCError(
                        NOT_WRITTEN,
                        f"the node keeps at most {MAX_STORED} snapshots and holds "
                        f"{len(stored)}: remove old ones from {directory}",
                    )
                directory.mkdir(parents=True, exist_ok=True)
                header = write_snapshot(view, path, at=number)
            except (SnapshotError, StateUnavailable) as exc:
                raise RPCError(STATE_UNAVAILABLE, str(exc)) from None
            finally:
                _writing.release()
            return snapshot_json(header, 0)

        return Offload(finish)

    def por_snapshots(self) -> list[dict[str, Any]]:
        """The snapshots this node serves, highest block first."""
        if self.directory is None:
            return []
        listed = []
        for number in stored_numbers(self.directory)[:MAX_LISTED]:
            try:
                listed.append(snapshot_json(*describe(snapshot_path(self.directory, number))))
            except SnapshotError:
                continue  # being replaced, or damaged: not offered
        return listed
