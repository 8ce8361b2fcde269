"""What the target shows: its process in /proc (alive, RSS, fds, sockets), its disk and log,
and over RPC its head, peers, known addresses and bans."""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from fuzzlive.lab import RPC_ERRORS, NodeHandle


def alive(pid: int | None) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, TypeError):
        return False
    return "\nState:\tZ" not in status


def rss_kb(pid: int | None) -> int | None:
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def fd_counts(pid: int | None) -> tuple[int | None, int | None]:
    """(open fds, of which sockets)."""
    try:
        links = [os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return None, None
    return len(links), sum(link.startswith("socket:") for link in links)


def disk_bytes(datadir: Path) -> int:
    """The data directory without its log: what peers' blocks can fill."""
    return sum(f.stat().st_size for f in datadir.rglob("*") if f.is_file() and f.name != "node.log")


def log_problems(log: Path, offset: int) -> dict[str, int]:
    """Tracebacks and ERROR lines written to a node's log after `offset`."""
    with log.open("rb") as f:
        f.seek(offset)
        lines = f.read().decode(errors="replace").splitlines()
    return {
        "tracebacks": sum(line.startswith("Traceback") for line in lines),
        "error_lines": sum(" ERROR " in line for line in lines),
    }


@dataclass
class Sample:
    t: float
    alive: bool
    head: int | None
    honest: bool | None  # the honest peer among the target's peers; None: skipped (restarting)
    rss_kb: int | None
    fds: int | None
    sockets: int | None
    peers: int | None = None
    addresses: int | None = None
    banned: int | None = None


def take_sample(target: NodeHandle, honest: NodeHandle, t: float, skip_honest: bool) -> Sample:
    """One look at the target. Blocking: run in a thread."""
    pid = target.pid
    sample = Sample(
        t, alive(pid), None, None if skip_honest else False, rss_kb(pid), *fd_counts(pid)
    )
    try:
        sample.head = target.rpc.call("por_blockNumber")
        listed = target.rpc.call("net_peers")
        info = target.rpc.call("net_nodeInfo")
        sample.peers, sample.addresses = len(listed), len(info["known_addresses"])
        sample.banned = len(info["banned"])
        if not skip_honest:
            sample.honest = any(p["node_id"].lower() == honest.node_id for p in listed)
    except RPC_ERRORS:
        pass  # unanswered: not connected, as far as anyone can tell
    return sample


def blocks_by(node: NodeHandle, first: int, last: int) -> int:
    """Blocks after `first` up to `last` produced by `node` (on its canonical chain)."""
    try:
        return sum(
            node.rpc.call("por_getBlockByNumber", n)["producer"].lower() == node.address
            for n in range(first + 1, last + 1)
        )
    except RPC_ERRORS:
        return 0


def chains_agree(a: NodeHandle, b: NodeHandle) -> bool | None:
    """Same block at both nodes' common finalized height (None if one cannot tell)."""
    try:
        height = min(n.rpc.call("por_nodeInfo")["finalized"]["number"] for n in (a, b))
        return len({n.rpc.call("por_getBlockByNumber", height)["hash"] for n in (a, b)}) == 1
    except RPC_ERRORS:
        return None
