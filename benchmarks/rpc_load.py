"""RPC load against a producing node: missed slots, late votes and reveals, por_blockNumber latency.

Starts a real single node (`porchain node run --dev`, 1 s slots) in a temporary data directory
and measures three phases, each slot counted on the chain itself (a slot is missed when no
canonical block carries it):

1. baseline: nobody calls the node for `--baseline` seconds;
2. light: `--clients` concurrent clients call por_blockNumber back to back for `--light` seconds
   (each on its own keep-alive connection), giving the latency p50 / p99;
3. heavy: for `--duration` seconds `--heavy-clients` connections send batches of the heaviest
   queries back to back (pool and post lists at their limit, the schedule, full blocks, accounts
   at the oldest state served), while the `--clients` por_blockNumber clients keep going.

For the blocks of each phase it also reports how their validation pools resolved (a late vote
shows as `no_quorum`) and the beacon penalties (a late reveal is penalised).

    python benchmarks/rpc_load.py [--duration 60] [--clients 200] [--heavy-clients 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from governance.forum import PostPayload
from governance.objects import COMMENT, Author
from porchain.cli.node import DEV_ACCOUNTS
from porchain.crypto.keystore import Keystore
from porchain.params import WSCParams
from porchain.rpc.client import RPCClient, RPCClientError
from porchain.rpc.params import MAX_LIST
from porchain.types.transactions import TxKind
from porchain.wallet import sign_transaction

BLOCK_POOL_DURATION = 4  # devnet preset: pools of a phase resolve this many blocks after it
SEND_BATCH = 50


class Connection:
    """One keep-alive HTTP/1.1 connection posting JSON bodies (no client library in the way)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.stream: trio.SocketStream | None = None
        self.buffer = bytearray()

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.stream is None:
            self.stream = await trio.open_tcp_stream(self.host, self.port)
        head = (
            f"POST / HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        await self.stream.send_all(head + body)
        while b"\r\n\r\n" not in self.buffer:
            await self._receive()
        end = self.buffer.index(b"\r\n\r\n")
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        del self.buffer[: end + 4]
        status = int(lines[0].split()[1])
        length = next(
            (
                int(line.split(":", 1)[1])
                for line in lines
                if line.lower().startswith("content-length:")
            ),
            0,
        )
        while len(self.buffer) < length:
            await self._receive()
        answer = bytes(self.buffer[:length])
        del self.buffer[:length]
        return status, answer

    async def _receive(self) -> None:
        assert self.stream is not None
        data = await self.stream.receive_some(1 << 20)
        if not data:
            raise ConnectionError("the node closed the connection")
        self.buffer += data


def request(method: str, *params: Any, request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}


def heavy_batch(size: int, limit: int, dev_address: str) -> bytes:
    """The costliest requests a client can send, cycled to fill one batch."""
    kinds = [
        ("por_listPools", None, limit),
        ("gov_listPosts", None, None, None, limit),
        ("por_getSchedule", limit),
        ("por_getAccount", dev_address, "earliest"),
        ("por_getBlockByNumber", "latest", True),
        ("gov_wscHistory",),
    ]
    calls = [kinds[i % len(kinds)] for i in range(size)]
    return json.dumps([request(c[0], *c[1:], request_id=i) for i, c in enumerate(calls)]).encode()


def fill_forum(rpc: RPCClient, datadir: Path, posts: int) -> None:
    """Give the lists something to list: `posts` forum comments (each opens a pool) from the
    dev accounts that do not produce, sent in batches, waited for until all are in blocks."""
    keystore = Keystore(datadir / "keystore")
    keys = [keystore.unlock(name, "") for name in DEV_ACCOUNTS[1:]]  # not the producer's
    chain_id = rpc.call("por_chainId")
    params = WSCParams.from_dict(rpc.call("por_getParams")["params"])
    raws, nonces = (
        [],
        {k.address: rpc.call("por_getAccount", "0x" + k.address.hex())["nonce"] for k in keys},
    )
    for i in range(posts):
        key = keys[i % len(keys)]
        payload = PostPayload(
            COMMENT, [Author(key.address, 1_000_000)], f"post {i}".encode(), b"x" * 200
        )
        tx = sign_transaction(
            key,
            chain_id=chain_id,
            nonce=nonces[key.address],
            kind=TxKind.POST,
            payload=payload.to_rlp(),
            params=params,
        )
        nonces[key.address] += 1
        raws.append("0x" + tx.encoded.hex())
    for start in range(0, len(raws), SEND_BATCH):
        batch = [
            request("por_sendRawTransaction", raw, request_id=i)
            for i, raw in enumerate(raws[start : start + SEND_BATCH])
        ]
        status, answer = trio.run(Connection(*host_port(rpc.url)).post, json.dumps(batch).encode())
        errors = [a["error"] for a in json.loads(answer) if "error" in a]
        if status != 200 or errors:
            raise SystemExit(f"sending posts failed: HTTP {status} {errors[:3]}")
    deadline = time.monotonic() + 120
    while rpc.call("por_nodeInfo")["mempool_size"] > len(keys) * 2:  # duties may stay pending
        if time.monotonic() > deadline:
            raise SystemExit("the posts were not included within 120 s")
        time.sleep(0.5)


def host_port(url: str) -> tuple[str, int]:
    host, port = url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    return host, int(port)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1)]


class Load:
    def __init__(self, url: str) -> None:
        self.host, self.port = host_port(url)
        self.latencies: list[float] = []
        self.heavy = {"batches": 0, "bytes": 0, "errors": {}, "seconds": []}

    async def light_client(self) -> None:
        conn = Connection(self.host, self.port)
        body = json.dumps(request("por_blockNumber")).encode()
        while True:
            started = time.perf_counter()
            await conn.post(body)
            self.latencies.append(time.perf_counter() - started)

    async def heavy_client(self, body: bytes) -> None:
        conn = Connection(self.host, self.port)
        while True:
            started = time.perf_counter()
            status, answer = await conn.post(body)
            self.heavy["seconds"].append(time.perf_counter() - started)
            self.heavy["batches"] += 1
            self.heavy["bytes"] += len(answer)
            parsed = json.loads(answer) if answer else []
            for item in parsed if isinstance(parsed, list) else [parsed]:
                if "error" in item:
                    code = str(item["error"]["code"])
                    self.heavy["errors"][code] = self.heavy["errors"].get(code, 0) + 1
            if status != 200:
                self.heavy["errors"][f"HTTP {status}"] = self.heavy["errors"].get(status, 0) + 1

    async def run(self, seconds: float, clients: int, heavy: int, body: bytes) -> None:
        with trio.move_on_after(seconds):
            async with trio.open_nursery() as nursery:
                for _ in range(clients):
                    nursery.start_soon(self.light_client)
                for _ in range(heavy):
                    nursery.start_soon(self.heavy_client, body)


def slot_window(rpc: RPCClient) -> tuple[int, int]:
    info = rpc.call("por_nodeInfo")
    return info["current_slot"], info["head"]["number"]


def chain_report(rpc: RPCClient, start: tuple[int, int], end: tuple[int, int]) -> dict[str, Any]:
    """Slots (start, end] with no canonical block; pools and beacon epochs of those blocks."""
    (first_slot, first_block), (last_slot, _) = start, end
    blocks, number = [], first_block + 1
    while True:
        block = rpc.call("por_getBlockByNumber", number)
        if block is None or block["slot"] > last_slot:
            break
        blocks.append(block)
        number += 1
    filled = {b["slot"] for b in blocks}
    missed = [s for s in range(first_slot + 1, last_slot + 1) if s not in filled]
    pools: dict[str, int] = {}
    for block in blocks:
        pool = rpc.call("por_getPool", block["pool_id"]) if block["pool_id"] else None
        status = pool["status"] if pool else "none"
        pools[status] = pools.get(status, 0) + 1
    epochs = range((first_slot + 1) // 8, last_slot // 8)  # devnet preset: 8-slot epochs
    penalties = sum(len(rpc.call("por_getEpoch", e)["penalties"]) for e in epochs)
    return {
        "slots": last_slot - first_slot,
        "blocks": len(blocks),
        "missed_slots": len(missed),
        "pools": pools,
        "beacon_penalties": penalties,
    }


def latency_report(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"requests": 0}
    return {
        "requests": len(latencies),
        "p50_ms": round(1000 * percentile(latencies, 50), 1),
        "p99_ms": round(1000 * percentile(latencies, 99), 1),
        "max_ms": round(1000 * max(latencies), 1),
    }


def start_node(datadir: Path) -> tuple[subprocess.Popen[bytes], RPCClient]:
    cmd = [sys.executable, "-m", "porchain", "--datadir", str(datadir)]
    log = (datadir.parent / "node.log").open("ab")
    proc = subprocess.Popen(
        [*cmd, "node", "run", "--dev", "--rpc-port", "0"], stdout=log, stderr=log
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the node exited:\n{(datadir.parent / 'node.log').read_text()}")
        try:
            rpc = RPCClient(json.loads((datadir / "node.json").read_text())["rpc"], timeout=30)
            rpc.call("por_blockNumber")
            return proc, rpc
        except (OSError, ValueError, KeyError, RPCClientError):
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the node did not come up within 60 s")


def phase(rpc: RPCClient, load: Load | None, seconds: float, *how: Any) -> tuple:
    """Run `load` (`load.run`'s arguments after the duration: clients, heavy clients, batch
    body), or nothing, for `seconds`; return the (slot, head) windows around it."""
    start = slot_window(rpc)
    if load is None:
        time.sleep(seconds)
    else:
        trio.run(load.run, seconds, *how)
    return start, slot_window(rpc)


def measure(args: argparse.Namespace, datadir: Path) -> dict[str, Any]:
    proc, rpc = start_node(datadir)
    try:
        dev = json.loads((datadir / "node.json").read_text())
        dev_address = rpc.call("por_nodeInfo")["producer"]
        body = heavy_batch(args.batch, args.limit, dev_address)
        fill_forum(rpc, datadir, args.posts)
        time.sleep(args.warmup)
        windows = {"baseline": phase(rpc, None, args.baseline)}
        light = Load(dev["rpc"])
        windows["light"] = phase(rpc, light, args.light, args.clients, 0, b"")
        heavy = Load(dev["rpc"])
        windows["heavy"] = phase(rpc, heavy, args.duration, args.clients, args.heavy_clients, body)
        time.sleep(BLOCK_POOL_DURATION + 2)  # the last pools resolve
        result = {name: chain_report(rpc, *window) for name, window in windows.items()}
        result["light"]["por_blockNumber"] = latency_report(light.latencies)
        result["heavy"]["por_blockNumber"] = latency_report(heavy.latencies)
        seconds = heavy.heavy.pop("seconds")
        result["heavy"]["heavy_batches"] = {
            **heavy.heavy,
            "batch_size": args.batch,
            "body_bytes": len(body),
            "p50_s": round(percentile(seconds, 50), 2) if seconds else None,
            "max_s": round(max(seconds), 2) if seconds else None,
        }
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="heavy phase, seconds")
    parser.add_argument("--baseline", type=float, default=15.0, help="idle phase, seconds")
    parser.add_argument("--light", type=float, default=15.0, help="light-only phase, seconds")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--posts", type=int, default=1000, help="forum posts sent first")
    parser.add_argument("--clients", type=int, default=200, help="por_blockNumber clients")
    parser.add_argument("--heavy-clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100, help="requests per heavy batch")
    parser.add_argument("--limit", type=int, default=MAX_LIST, help="list limit in heavy requests")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        datadir = Path(tmp) / "node"
        result = measure(args, datadir)
    if args.json:
        print(json.dumps(result))
        return
    for name, report in result.items():
        print(f"{name}: {report}")


if __name__ == "__main__":
    main()
