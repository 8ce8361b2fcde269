"""A bounded fuzzing campaign against a live 2-node devnet: does the node survive its peers?

Starts `porchain devnet up -n 2 --detach` in a temporary directory (or attacks the devnet of
`--devnet DIR`, left running as found), waits until both nodes produce and are peered, records
node1's (the target's) resident memory, open fds and head, then for `--minutes` attacks it at
`--rate` attempts a second, at most `--concurrency` at once, with a mix drawn from `--seed`:

- random_bytes: a TCP connection carrying random bytes;
- oversized_prefix: a length prefix over the frame limit, or one under it followed by
  `--prefix-mib` MiB of body, before any handshake;
- half_open: 8 to 32 connections that send nothing or half a HELLO and wait;
- mutated_frames: a real handshake (a fresh key per fake peer), then mutated frames;
- confusion: BLOCKS answering GET_PEERS, PEERS answering GET_BLOCKS, unsolicited or
  misnumbered responses;
- poisoned_addresses: a HELLO listen address and a PEERS list no node should dial;
- side_blocks: blocks on a recent canonical block, signed by an arbitrary key;
- rpc_mutation: JSON-RPC bodies with huge numbers, deep nesting, wrong types, big batches;
- raw_tx_mutation: mutated transactions through por_sendRawTransaction;
- eclipse (once, at a third of the campaign): `--eclipse-peers` fake peers holding every slot
  for `--eclipse-seconds` while the honest peer (node2) is restarted.

Every `--sample-seconds` it samples the target: alive, head, the honest peer among its peers
(`net_peers`), RSS, fds. After the attack it waits up to `--settle` seconds for the node to
settle, then reports the counts per attack, the HTTP statuses of RPC answers, and PASS or FAIL
against issue 10's acceptance (exit status 1 on FAIL).

    python benchmarks/fuzz_live.py [--minutes 10] [--seed 1] [--rate 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import trio

from porchain.consensus.transfer import Transfer
from porchain.crypto.keys import PrivateKey
from porchain.devnet.layout import Devnet
from porchain.errors import DecodeError, PorchainError
from porchain.net import messages as m
from porchain.net.peer import handshake, new_hello
from porchain.net.transport import MAX_FRAME_BYTES, Connection, ConnectionClosed, TcpTransport
from porchain.rpc.client import RemoteError, RPCClient, RPCClientError
from porchain.types.blocks import Block, Header, compute_tx_root
from porchain.types.codec import encode_uint, rlp_encode
from porchain.types.records import Record
from porchain.types.transactions import Transaction, TxKind

READY_SECONDS = 120.0  # for both nodes to produce and peer after `devnet up`
HANDSHAKE_SECONDS = 5.0  # a fake peer's handshake (the node's own timeout is 5 s)
HOLD_SECONDS = 7.0  # how long an attack waits for the node to close it: over its 5 s handshake
ANSWER_SECONDS = 4.0  # how long a fake peer listens after its last frame
RPC_SECONDS = 10.0  # one HTTP request of an attack
SAMPLE_RPC_SECONDS = 5.0  # one RPC call of the sampler: longer counts as unanswered
RECONNECT_GRACE = 10.0  # after the honest peer is back up, for the two to find each other
RSS_TOLERANCE = 0.10  # RSS after the attack within 10% of its baseline (issue 10)
SOCKET_SLACK = 1  # a socket over the baseline: the honest peer's second dial, a keep-alive
MAX_STALL_SECONDS = 15.0  # the longest the head may stand still (1 s slots, 2 producers)
MAX_ANSWER_BYTES = 16 * 2**20  # read of one HTTP answer
MAX_MUTATIONS = 3
KINDS = {  # attack -> weight in the mix
    "random_bytes": 2,
    "oversized_prefix": 1,
    "half_open": 1,
    "mutated_frames": 3,
    "confusion": 2,
    "poisoned_addresses": 1,
    "side_blocks": 1,
    "rpc_mutation": 3,
    "raw_tx_mutation": 2,
}
RPC_METHODS = [
    "por_blockNumber",
    "por_chainId",
    "por_getAccount",
    "por_getBlockByHash",
    "por_getBlockByNumber",
    "por_getEpoch",
    "por_getParams",
    "por_getPool",
    "por_getSchedule",
    "por_getSupply",
    "por_getTransaction",
    "por_listPools",
    "por_nodeInfo",
    "por_pendingTransactions",
    "por_sendRawTransaction",
    "gov_activeWsc",
    "gov_citationGraph",
    "gov_dryRun",
    "gov_getPost",
    "gov_getProposal",
    "gov_listPosts",
    "gov_tally",
    "gov_wscHistory",
    "net_nodeInfo",
    "net_peerCount",
    "net_peers",
    "no_suchMethod",
]


# -- the devnet ------------------------------------------------------------------------------


def porchain_devnet(root: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "porchain", "devnet", "--dir", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise PorchainError(f"porchain devnet {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


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


def node_handles(root: Path) -> list[NodeHandle]:
    devnet = Devnet.load(root)
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


def wait_ready(target: NodeHandle, honest: NodeHandle) -> None:
    """Until both nodes are peered and each has produced a block."""
    deadline = time.monotonic() + READY_SECONDS
    producers: set[str] = set()
    seen = 0
    while time.monotonic() < deadline:
        try:
            head = target.rpc.call("por_blockNumber")
            for number in range(seen + 1, head + 1):
                producers.add(target.rpc.call("por_getBlockByNumber", number)["producer"].lower())
            seen = head
            peered = honest_connected(target, honest) and honest_connected(honest, target)
            if peered and {target.address, honest.address} <= producers:
                return
        except (RPCClientError, RemoteError, TypeError, KeyError):
            pass
        time.sleep(1)
    raise PorchainError(f"the devnet did not produce and peer within {READY_SECONDS:g} s")


def honest_connected(node: NodeHandle, other: NodeHandle) -> bool:
    return any(p["node_id"].lower() == other.node_id for p in node.rpc.call("net_peers"))


# -- the target's process --------------------------------------------------------------------


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


# -- what the attacks record -----------------------------------------------------------------


@dataclass
class Tally:
    """Per attack kind: attempts, frames or requests sent, and how each attempt ended."""

    counts: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    http: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, kind: str, what: str, n: int = 1) -> None:
        self.counts[kind][what] += n


@dataclass
class Target:
    """What the attacks need of the target node, refreshed by the sampler."""

    p2p: str
    rpc_host: str
    rpc_port: int
    chain_id: int
    genesis_hash: bytes
    head_number: int = 0
    head_hash: bytes = b""
    head_slot: int = 0
    finalized: int = 0

    def hello(self, key: PrivateKey, *, listen: bytes = b"", head_bonus: int = 0) -> m.Hello:
        return new_hello(
            chain_id=self.chain_id,
            genesis_hash=self.genesis_hash,
            head_number=self.head_number + head_bonus,
            head_hash=self.head_hash if head_bonus == 0 else os.urandom(32),
            finalized=self.finalized,
            node_id=key.address,
            listen=listen,
        )


def update_target(target: Target, info: dict[str, Any]) -> None:
    target.head_number = info["head"]["number"]
    target.head_hash = bytes.fromhex(info["head"]["hash"][2:])
    target.head_slot = info["head"]["slot"]
    target.finalized = info["finalized"]["number"]


# -- fake peers ------------------------------------------------------------------------------


class FakePeer:
    """A peer of our own over TCP: a real handshake with a fresh key, then what we send."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.answered = 0  # PONG, BLOCKS and PEERS the node sent us

    @classmethod
    async def connect(cls, target: Target, hello: m.Hello, key: PrivateKey) -> FakePeer | None:
        """None when the node refused the connection or the handshake."""
        try:
            with trio.fail_after(HANDSHAKE_SECONDS):
                conn = await TcpTransport().connect(target.p2p)
        except (OSError, trio.TooSlowError):
            return None
        try:
            with trio.fail_after(HANDSHAKE_SECONDS):
                await handshake(conn, hello, key)
        except (PorchainError, ConnectionClosed, trio.TooSlowError):
            await conn.aclose()
            return None
        return cls(conn)

    async def send(self, frame: bytes) -> bool:
        try:
            await self.conn.send(frame)
        except ConnectionClosed:
            return False
        return True

    async def watch(self, seconds: float, respond: Responder | None = None) -> str:
        """Read until the node closes us ("banned" with a ban's DISCONNECT, else "closed") or
        `seconds` pass ("held"); answer PINGs, and what `respond` answers. Then close."""
        try:
            with trio.move_on_after(seconds):
                return await self._read(respond)
            return "held"
        finally:
            with trio.move_on_after(1):
                await self.conn.aclose()

    async def _read(self, respond: Responder | None) -> str:
        while True:
            try:
                frame = await self.conn.receive()
            except (ConnectionClosed, PorchainError):
                return "closed"
            try:
                message = m.decode_message(frame)
            except DecodeError:
                continue
            if isinstance(message, m.Disconnect):
                return "banned" if message.reason.startswith(b"banned") else "closed"
            self.answered += isinstance(message, m.Pong | m.Blocks | m.Peers)
            replies = respond(message) if respond else []
            if isinstance(message, m.Ping):
                replies.append(m.Pong(message.nonce))
            for reply in replies:
                frame = reply if isinstance(reply, bytes) else m.encode_message(reply)
                if not await self.send(frame):
                    return "closed"


Responder = Callable[[Record], list[Record | bytes]]


def polite(message: Record) -> list[Record | bytes]:
    """An honest-looking peer that has nothing: empty answers."""
    if isinstance(message, m.GetPeers):
        return [m.Peers(message.request_id, [])]
    if isinstance(message, m.GetBlocks):
        return [m.Blocks(message.request_id, [])]
    return []


def fresh_key(rng: random.Random) -> PrivateKey:
    return PrivateKey(rng.randbytes(32))


async def run_fake(
    tally: Tally,
    kind: str,
    target: Target,
    rng: random.Random,
    frames: list[bytes],
    *,
    listen: bytes = b"",
    head_bonus: int = 0,
    respond: Responder | None = None,
) -> None:
    """One fake peer: handshake, send `frames`, listen for the node's verdict."""
    key = fresh_key(rng)
    peer = await FakePeer.connect(
        target, target.hello(key, listen=listen, head_bonus=head_bonus), key
    )
    tally.add(kind, "attempts")
    if peer is None:
        tally.add(kind, "refused")
        return
    for frame in frames:
        if not await peer.send(frame):
            break
        tally.add(kind, "sent")
    outcome = await peer.watch(ANSWER_SECONDS, respond)
    tally.add(kind, outcome)
    tally.add(kind, "answered", min(peer.answered, 1))


# -- frame and value mutation ----------------------------------------------------------------


def mutate(data: bytes, rng: random.Random) -> bytes:
    """1 to MAX_MUTATIONS random edits: flips, cuts, insertions, extreme bytes, repeats."""
    out = bytearray(data)
    for _ in range(rng.randint(1, MAX_MUTATIONS)):
        at = rng.randrange(len(out) + 1)
        match rng.randrange(6):
            case 0 if out:
                out[at % len(out)] ^= 1 << rng.randrange(8)
            case 1:
                del out[at:]
            case 2:
                out[at:at] = rng.randbytes(rng.randint(1, 64))
            case 3 if out:
                out[at % len(out)] = rng.choice((0x00, 0x7F, 0x80, 0xB7, 0xBF, 0xC0, 0xF7, 0xFF))
            case 4:
                out[at:at] = out[at : at + rng.randint(1, 32)] * rng.randint(2, 8)
            case _:
                out[at : at + 4] = rng.randbytes(4)
    return bytes(out)


def huge_uint(rng: random.Random) -> bytes:
    return encode_uint(rng.choice((2**64, 2**256 - 1, 2**1000, rng.getrandbits(80))))


def sample_message(rng: random.Random, target: Target) -> Record:
    """A well-formed message of any type, with random contents."""
    n = target.head_number
    return rng.choice(
        [
            m.Status(rng.randint(0, n + 5), rng.randbytes(32), rng.randint(0, n)),
            m.Txs([rng.randbytes(rng.randint(0, 200)) for _ in range(rng.randint(0, 4))]),
            m.NewBlock(rng.randbytes(rng.randint(0, 300))),
            m.GetBlocks(rng.randint(0, 99), rng.randint(0, n + 2), rng.randint(0, 2**32)),
            m.Blocks(rng.randint(0, 99), [rng.randbytes(50)]),
            m.GetPeers(rng.randint(0, 99)),
            m.Peers(rng.randint(0, 99), [b"127.0.0.1:%d" % rng.randint(1, 65535)]),
            m.Ping(rng.getrandbits(64)),
            m.Pong(rng.getrandbits(64)),
            m.Hello(
                1,
                target.chain_id,
                target.genesis_hash,
                n,
                rng.randbytes(32),
                0,
                rng.randbytes(20),
                rng.randbytes(32),
                b"",
            ),
            m.Auth(rng.randbytes(65)),
        ]
    )


def mutated_frame(rng: random.Random, target: Target) -> bytes:
    if rng.random() < 0.15:  # a known type carrying numbers no field takes
        fields = [huge_uint(rng) for _ in range(rng.randint(1, 4))]
        return bytes((rng.choice(list(m.MsgType)),)) + rlp_encode(fields)
    frame = m.encode_message(sample_message(rng, target))
    return frame if rng.random() < 0.2 else mutate(frame, rng)


POISONED = [
    b"\xff:1",
    b"a" * 64 + b".example:1",
    b"x" * 300 + b":1",
    b"127.0.0.1:0",
    b":1",
    b"localhost:99999",
    b"[::1]:65535",
    b"127.0.0.1",
    b"\x00\x00:30303",
    b"-.-:1",
    b"\xc3\x28.example:80",
    b"256.256.256.256:1",
]


def poisoned_address(rng: random.Random) -> bytes:
    if rng.random() < 0.5:  # a stranger's port on a loopback address: dialable, and wrong
        return b"127.%d.%d.%d:%d" % (*rng.randbytes(3), rng.randint(1, 65535))
    return rng.choice(POISONED)


# -- P2P attacks -----------------------------------------------------------------------------


async def raw_connection(
    tally: Tally, kind: str, target: Target, payload: bytes, hold: float
) -> None:
    """Connect, send `payload` before any handshake, and see whether the node closes us."""
    tally.add(kind, "attempts")
    host, port = target.p2p.rsplit(":", 1)
    try:
        stream = await trio.open_tcp_stream(host, int(port))
    except OSError:
        tally.add(kind, "refused")
        return
    outcome, answered = "held", False
    async with stream:
        with trio.move_on_after(hold):
            try:
                if payload:
                    await stream.send_all(payload)
                    tally.add(kind, "sent")
                while await stream.receive_some(65536):
                    answered = True
                outcome = "closed"
            except (trio.BrokenResourceError, OSError):
                outcome = "closed"
    tally.add(kind, outcome)
    tally.add(kind, "answered", answered)


async def random_bytes(tally: Tally, target: Target, rng: random.Random) -> None:
    payload = rng.randbytes(rng.randint(1, 4096))
    await raw_connection(tally, "random_bytes", target, payload, HOLD_SECONDS)


async def oversized_prefix(
    tally: Tally, target: Target, rng: random.Random, body_bytes: int
) -> None:
    if rng.random() < 0.5:
        size = rng.choice((MAX_FRAME_BYTES + 1, 2**31, 2**32 - 1))
        payload = size.to_bytes(4, "big")
    else:  # within the limit, and a body the node must buffer before it can judge it
        payload = MAX_FRAME_BYTES.to_bytes(4, "big") + b"\x00" * body_bytes
    await raw_connection(tally, "oversized_prefix", target, payload, HOLD_SECONDS)


async def half_open(tally: Tally, target: Target, rng: random.Random) -> None:
    """Many connections at once that never finish a handshake."""
    hello = m.encode_message(target.hello(fresh_key(rng)))
    half = len(hello).to_bytes(4, "big") + hello[: len(hello) // 2]
    async with trio.open_nursery() as nursery:
        for _ in range(rng.randint(8, 32)):
            payload = rng.choice((b"", half))
            nursery.start_soon(raw_connection, tally, "half_open", target, payload, HOLD_SECONDS)


async def mutated_frames(tally: Tally, target: Target, rng: random.Random) -> None:
    frames = [mutated_frame(rng, target) for _ in range(rng.randint(1, 6))]
    await run_fake(tally, "mutated_frames", target, rng, frames)


def confused(rng: random.Random) -> Responder:
    """Answers of the wrong type, or of the right type with another request id."""
    swap = rng.random() < 0.7

    def respond(message: Record) -> list[Record | bytes]:
        if isinstance(message, m.GetPeers | m.GetBlocks):
            rid = message.request_id if swap else message.request_id + rng.randint(1, 9)
            if isinstance(message, m.GetPeers) == swap:
                return [m.Blocks(rid, [rng.randbytes(rng.randint(0, 64))])]
            return [m.Peers(rid, [b"127.0.0.1:1"])]
        return []

    return respond


async def confusion(tally: Tally, target: Target, rng: random.Random) -> None:
    """A head above the node's, so it asks us for blocks; its requests get confused answers,
    and some unasked responses come first."""
    unasked = [
        m.encode_message(rng.choice((m.Blocks, m.Peers))(rng.randint(0, 2**32), []))
        for _ in range(rng.randint(0, 3))
    ]
    await run_fake(
        tally,
        "confusion",
        target,
        rng,
        unasked,
        head_bonus=rng.randint(1, 50),
        respond=confused(rng),
    )


async def poisoned_addresses(tally: Tally, target: Target, rng: random.Random) -> None:
    addresses = [poisoned_address(rng) for _ in range(rng.randint(1, 64))]

    def respond(message: Record) -> list[Record | bytes]:
        if isinstance(message, m.GetPeers):
            return [m.Peers(message.request_id, addresses)]
        return polite(message)

    await run_fake(
        tally,
        "poisoned_addresses",
        target,
        rng,
        [],
        listen=poisoned_address(rng),
        respond=respond,
    )


def side_block(rng: random.Random, target: Target, parent: dict[str, Any]) -> Block:
    """A block on `parent` (not the head: it is stored as a side block), signed by a key
    nobody scheduled, with up to 8 transactions of up to 64 KiB of junk payload."""
    key = fresh_key(rng)
    txs = tuple(
        Transaction.create(
            key,
            chain_id=target.chain_id,
            nonce=i,
            kind=TxKind.TRANSFER,
            payload=[rng.randbytes(rng.randint(0, 65536))],
            fee=rng.randint(0, 10**9),
        )
        for i in range(rng.randint(0, 8))
    )
    header = Header(
        parent_hash=bytes.fromhex(parent["hash"][2:]),
        number=parent["number"] + 1,
        slot=parent["slot"] + rng.randint(1, 2),
        producer=key.address,
        state_root=rng.randbytes(32),
        tx_root=compute_tx_root(txs),
        wsc_id=0,
        extra=rng.randbytes(rng.randint(0, 32)),
    )
    return Block(header.signed(key), txs)


async def side_blocks(tally: Tally, target: Target, rng: random.Random, rpc: RPCClient) -> None:
    depth = rng.randint(2, 6)
    number = max(0, target.head_number - depth)
    try:
        parent = await trio.to_thread.run_sync(rpc.call, "por_getBlockByNumber", number)
    except (RPCClientError, RemoteError):
        parent = None
    if parent is None:
        tally.add("side_blocks", "skipped")
        return
    blocks = [side_block(rng, target, parent) for _ in range(rng.randint(1, 3))]
    frames = [m.encode_message(m.NewBlock(b.encode())) for b in blocks]
    tally.add("side_blocks", "bytes", sum(map(len, frames)))
    await run_fake(tally, "side_blocks", target, rng, frames, respond=polite)


# -- RPC attacks -----------------------------------------------------------------------------


async def http_post(host: str, port: int, body: bytes) -> tuple[int | None, bytes]:
    """One POST on its own connection: (HTTP status or None if no answer, body)."""
    head = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    answer = bytearray()
    with trio.move_on_after(RPC_SECONDS):
        try:
            async with await trio.open_tcp_stream(host, port) as stream:
                await stream.send_all(head + body)
                while len(answer) < MAX_ANSWER_BYTES and (data := await stream.receive_some(65536)):
                    answer += data
        except (OSError, trio.BrokenResourceError):
            pass
    status_line, _, rest = bytes(answer).partition(b"\r\n")
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        return None, b""
    return int(parts[1]), rest.partition(b"\r\n\r\n")[2]


def is_jsonrpc(body: bytes) -> bool:
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    items = answer if isinstance(answer, list) else [answer]
    return bool(items) and all(isinstance(a, dict) and a.get("jsonrpc") == "2.0" for a in items)


async def post_and_count(tally: Tally, kind: str, target: Target, body: bytes) -> None:
    tally.add(kind, "attempts")
    status, answer = await http_post(target.rpc_host, target.rpc_port, body)
    tally.add(kind, "sent")
    tally.http[kind][str(status) if status else "no answer"] += 1
    if status is None:
        tally.add(kind, "closed")
    elif is_jsonrpc(answer):
        tally.add(kind, "answered")
    else:
        tally.add(kind, "not_jsonrpc")


def json_value(rng: random.Random, depth: int = 0) -> str:
    """JSON text of a random value, numbers as big as 5,000 digits."""
    choice = rng.randrange(9 if depth < 3 else 6)
    match choice:
        case 0:
            return str(rng.randint(-(2**70), 2**70))
        case 1:
            return rng.choice("123456789") + "0" * rng.randint(80, 5000)
        case 2:
            return json.dumps(rng.choice(["latest", "earliest", "0x", "0x" + "f" * 64, "", "ü"]))
        case 3:
            return rng.choice(["true", "false", "null", "1e400", "-0", "0.5"])
        case 4:
            return json.dumps("0x" + rng.randbytes(rng.randint(0, 40)).hex())
        case 5:
            return json.dumps(chr(rng.randint(0x20, 0x2FFF)) * rng.randint(1, 300))
        case 6:
            return (
                "[" + ",".join(json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))) + "]"
            )
        case 7:
            pairs = (
                f'"{rng.choice(["status", "limit", "a"])}":{json_value(rng, depth + 1)}'
                for _ in range(rng.randint(0, 3))
            )
            return "{" + ",".join(pairs) + "}"
        case _:
            depth_of = rng.randint(60, 20000)
            return "[" * depth_of + "]" * depth_of


def rpc_request(rng: random.Random, method: str, params: list[str]) -> str:
    request_id = rng.choice(["1", '"x"', "null", "[1]", "{}", "1.5", "9" * 400])
    version = rng.choices(['"2.0"', '"1.0"', "2", "null"], weights=(8, 1, 1, 1))[0]
    return (
        f'{{"jsonrpc":{version},"id":{request_id},"method":{json.dumps(method)},'
        f'"params":[{",".join(params)}]}}'
    )


def rpc_body(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.1:  # not JSON, or not UTF-8, or not a request
        return rng.choice(
            [
                rng.randbytes(rng.randint(0, 512)),
                b'{"jsonrpc":"2.0"',
                b"[]",
                b"null",
                b"\xff\xfe",
                b'{"jsonrpc":"2.0","id":1,"method":"por_blockNumber"' + b"," * 1000,
            ]
        )
    if roll < 0.2:  # a batch, sometimes over the batch limit
        calls = [
            rpc_request(rng, rng.choice(RPC_METHODS), [json_value(rng)])
            for _ in range(rng.randint(1, 120))
        ]
        return ("[" + ",".join(calls) + "]").encode()
    params = [json_value(rng) for _ in range(rng.randint(0, 5))]
    return rpc_request(rng, rng.choice(RPC_METHODS), params).encode()


async def rpc_mutation(tally: Tally, target: Target, rng: random.Random) -> None:
    await post_and_count(tally, "rpc_mutation", target, rpc_body(rng))


def raw_transaction(rng: random.Random, target: Target) -> str:
    """JSON text of a por_sendRawTransaction parameter: mostly a signed, mutated transaction."""
    roll = rng.random()
    if roll < 0.1:
        return json_value(rng)
    if roll < 0.25:  # well-formed RLP, impossible numbers
        fields = [huge_uint(rng), encode_uint(0), encode_uint(1), [], huge_uint(rng), b"\x00" * 65]
        return json.dumps("0x" + rlp_encode(fields).hex())
    key = fresh_key(rng)
    to = rng.randbytes(20)
    tx = Transaction.create(
        key,
        chain_id=target.chain_id,
        nonce=rng.randint(0, 5),
        kind=rng.choice(list(TxKind)),
        payload=Transfer(to, rng.randint(0, 10**20)).to_rlp(),
        fee=rng.randint(0, 10**12),
    )
    raw = tx.encoded if rng.random() < 0.1 else mutate(tx.encoded, rng)
    return json.dumps(rng.choice(["0x", ""]) + raw.hex())


async def raw_tx_mutation(tally: Tally, target: Target, rng: random.Random) -> None:
    body = rpc_request(rng, "por_sendRawTransaction", [raw_transaction(rng, target)])
    await post_and_count(tally, "raw_tx_mutation", target, body.encode())


# -- the eclipse -----------------------------------------------------------------------------


@dataclass
class Eclipse:
    """Fake peers that keep every slot of the target taken while the honest peer restarts."""

    peers: int
    seconds: float
    restart: Callable[[], None]
    honest_back_after: float | None = None  # seconds from its restart until the target has it
    honest_down_until: float = 0.0  # trio time: the honest peer is restarting (samples skipped)


async def eclipse(
    tally: Tally,
    target: Target,
    rng: random.Random,
    state: Eclipse,
    honest_seen: Callable[[], Awaitable[bool]],
) -> None:
    with trio.move_on_after(state.seconds):
        async with trio.open_nursery() as nursery:
            for _ in range(state.peers):
                nursery.start_soon(eclipse_peer, tally, target, fresh_key(rng), state)
            await trio.sleep(HANDSHAKE_SECONDS)  # the fakes take their slots first
            state.honest_down_until = trio.current_time() + 3600
            await trio.to_thread.run_sync(state.restart)
            back = trio.current_time()
            state.honest_down_until = back + RECONNECT_GRACE
            while not await honest_seen():
                await trio.sleep(1)
            state.honest_back_after = round(trio.current_time() - back, 1)
            await trio.sleep_forever()


async def eclipse_peer(tally: Tally, target: Target, key: PrivateKey, state: Eclipse) -> None:
    """Connect and hold; reconnect whenever the node drops us (as an attacker would)."""
    while True:
        peer = await FakePeer.connect(target, target.hello(key), key)
        tally.add("eclipse", "attempts")
        if peer is None:
            tally.add("eclipse", "refused")
            await trio.sleep(1)
            continue
        tally.add("eclipse", await peer.watch(state.seconds, polite))
        await trio.sleep(0.5)


# -- sampling --------------------------------------------------------------------------------


@dataclass
class Sample:
    t: float
    alive: bool
    head: int | None
    honest: bool | None  # the honest peer among the target's peers; None: skipped (restarting)
    rss_kb: int | None
    fds: int | None
    sockets: int | None
    peers: int | None
    addresses: int | None
    banned: int | None


def take_sample(target: NodeHandle, honest: NodeHandle, t: float, skip_honest: bool) -> Sample:
    pid = target.pid
    fds, sockets = fd_counts(pid)
    head = peers = addresses = banned = None
    connected: bool | None = False
    try:
        head = target.rpc.call("por_blockNumber")
        listed = target.rpc.call("net_peers")
        info = target.rpc.call("net_nodeInfo")
        peers, addresses, banned = len(listed), len(info["known_addresses"]), len(info["banned"])
        connected = any(p["node_id"].lower() == honest.node_id for p in listed)
    except (RPCClientError, RemoteError, KeyError, TypeError):
        pass  # unanswered: not connected, as far as anyone can tell
    return Sample(
        t,
        alive(pid),
        head,
        None if skip_honest else connected,
        rss_kb(pid),
        fds,
        sockets,
        peers,
        addresses,
        banned,
    )


# -- the campaign ----------------------------------------------------------------------------


@dataclass
class Campaign:
    args: argparse.Namespace
    root: Path
    target: NodeHandle
    honest: NodeHandle
    tally: Tally = field(default_factory=Tally)
    samples: list[Sample] = field(default_factory=list)
    settling: list[Sample] = field(default_factory=list)  # judged for life and blocks only
    eclipse: Eclipse | None = None

    def restart_honest(self) -> None:
        porchain_devnet(self.root, "restart", self.honest.name, "-o", "json")

    async def run(self) -> dict[str, Any]:
        info = await trio.to_thread.run_sync(self.target.rpc.call, "por_nodeInfo")
        host, port = info["rpc"].split("//", 1)[1].rstrip("/").rsplit(":", 1)
        view = Target(
            self.target.p2p,
            host,
            int(port),
            info["chain_id"],
            bytes.fromhex(info["genesis_hash"][2:]),
        )
        update_target(view, info)
        baseline = await self.sample(view)
        log = self.target.datadir / "node.log"
        honest_log = self.honest.datadir / "node.log"
        offsets = (log.stat().st_size, honest_log.stat().st_size)
        disk_before = disk_bytes(self.target.datadir)
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.sampler, view)
            await self.attack(view)
            nursery.cancel_scope.cancel()
        if self.eclipse is not None:  # cut short while the honest peer restarted: grace, then judge
            self.eclipse.honest_down_until = min(
                self.eclipse.honest_down_until, trio.current_time() + RECONNECT_GRACE
            )
        attack_seconds = trio.current_time() - started
        after = await self.settle(view, baseline)
        return self.report(baseline, after, attack_seconds, offsets, disk_before)

    async def sample(self, view: Target) -> Sample:
        skip = self.eclipse is not None and trio.current_time() < self.eclipse.honest_down_until
        sample = await trio.to_thread.run_sync(
            take_sample, self.target, self.honest, trio.current_time(), skip
        )
        with suppress(RPCClientError, RemoteError, KeyError, TypeError):
            update_target(view, await trio.to_thread.run_sync(self.target.rpc.call, "por_nodeInfo"))
        return sample

    async def sampler(self, view: Target) -> None:
        while True:
            self.samples.append(await self.sample(view))
            await trio.sleep(self.args.sample_seconds)

    async def attack(self, view: Target) -> None:
        args = self.args
        master = random.Random(args.seed)
        kinds = [k for k in KINDS if k in args.only] if args.only else list(KINDS)
        weights = [KINDS[k] for k in kinds]
        limiter = trio.Semaphore(args.concurrency)
        deadline = trio.current_time() + args.minutes * 60
        eclipse_at = trio.current_time() + args.minutes * 60 / 3
        async with trio.open_nursery() as nursery:
            while trio.current_time() < deadline:
                if (
                    self.eclipse is None
                    and args.eclipse_peers
                    and trio.current_time() >= eclipse_at
                ):
                    self.start_eclipse(nursery, view, random.Random(master.getrandbits(64)))
                kind = master.choices(kinds, weights)[0]
                rng = random.Random(master.getrandbits(64))  # each attempt reproducible alone
                await limiter.acquire()
                nursery.start_soon(self.one, limiter, kind, view, rng)
                await trio.sleep(1 / args.rate)
            nursery.cancel_scope.deadline = trio.current_time() + HOLD_SECONDS + 1

    def start_eclipse(self, nursery: trio.Nursery, view: Target, rng: random.Random) -> None:
        self.eclipse = Eclipse(
            self.args.eclipse_peers, self.args.eclipse_seconds, self.restart_honest
        )

        async def honest_seen() -> bool:
            try:
                return await trio.to_thread.run_sync(honest_connected, self.target, self.honest)
            except (RPCClientError, RemoteError):
                return False

        nursery.start_soon(eclipse, self.tally, view, rng, self.eclipse, honest_seen)

    async def one(
        self, limiter: trio.Semaphore, kind: str, view: Target, rng: random.Random
    ) -> None:
        try:
            match kind:
                case "oversized_prefix":
                    await oversized_prefix(self.tally, view, rng, int(self.args.prefix_mib * 2**20))
                case "side_blocks":
                    await side_blocks(self.tally, view, rng, self.target.rpc)
                case _:
                    await ATTACKS[kind](self.tally, view, rng)
        finally:
            limiter.release()

    async def settle(self, view: Target, baseline: Sample) -> Sample:
        """Poll until RSS, sockets and the honest peer are back, or `--settle` seconds pass."""
        deadline = trio.current_time() + self.args.settle
        while True:
            sample = await self.sample(view)
            self.settling.append(sample)
            if settled(baseline, sample) or trio.current_time() >= deadline:
                return sample
            await trio.sleep(2)

    def report(
        self,
        baseline: Sample,
        after: Sample,
        seconds: float,
        offsets: tuple[int, int],
        disk_before: int,
    ) -> dict[str, Any]:
        samples = [*self.samples, *self.settling]
        counted = [s.honest for s in [*self.samples, after] if s.honest is not None]
        own = blocks_by(self.target, baseline.head or 0, after.head or 0)
        stall = longest_stall(samples)
        rss_peak = max((s.rss_kb for s in samples if s.rss_kb), default=None)
        figures = {
            "seed": self.args.seed,
            "attack_seconds": round(seconds),
            "attacks": {k: dict(v) for k, v in sorted(self.tally.counts.items())},
            "rpc_http_status": {k: dict(v) for k, v in sorted(self.tally.http.items())},
            "eclipse": None
            if self.eclipse is None
            else {
                "fake_peers": self.eclipse.peers,
                "target_peers_peak": max_of(samples, "peers"),
                "honest_back_after_s": self.eclipse.honest_back_after,
            },
            "node_alive": all(s.alive for s in samples),
            "blocks": {
                "head_before": baseline.head,
                "head_after": after.head,
                "produced_by_target": own,
                "longest_stall_s": round(stall, 1),
            },
            "honest_connected_fraction": round(sum(counted) / len(counted), 3) if counted else None,
            "samples": len(samples),
            "rpc_unanswered_samples": sum(s.head is None for s in samples),
            "rss_mb": {
                "baseline": mb(baseline.rss_kb),
                "peak": mb(rss_peak),
                "after": mb(after.rss_kb),
            },
            "fds": {"baseline": baseline.fds, "after": after.fds, "peak": max_of(samples, "fds")},
            "sockets": {
                "baseline": baseline.sockets,
                "after": after.sockets,
                "peak": max_of(samples, "sockets"),
            },
            "known_addresses": {
                "baseline": baseline.addresses,
                "peak": max_of(samples, "addresses"),
                "after": after.addresses,
            },
            "banned": {"baseline": baseline.banned, "after": after.banned},
            "disk_mb": {
                "before": round(disk_before / 2**20, 1),
                "after": round(disk_bytes(self.target.datadir) / 2**20, 1),
            },
            "chains_agree": chains_agree(self.target, self.honest),
            "target_log": log_problems(self.target.datadir / "node.log", offsets[0]),
            "honest_log": log_problems(self.honest.datadir / "node.log", offsets[1]),
        }
        figures["checks"] = checks(figures, baseline, after)
        figures["verdict"] = "PASS" if all(figures["checks"].values()) else "FAIL"
        return figures


ATTACKS: dict[str, Callable[[Tally, Target, random.Random], Awaitable[None]]] = {
    "random_bytes": random_bytes,
    "half_open": half_open,
    "mutated_frames": mutated_frames,
    "confusion": confusion,
    "poisoned_addresses": poisoned_addresses,
    "rpc_mutation": rpc_mutation,
    "raw_tx_mutation": raw_tx_mutation,
}


def settled(baseline: Sample, sample: Sample) -> bool:
    return rss_ok(baseline, sample) and sockets_ok(baseline, sample) and sample.honest is True


def rss_ok(baseline: Sample, after: Sample) -> bool:
    if baseline.rss_kb is None or after.rss_kb is None:
        return False
    return after.rss_kb <= baseline.rss_kb * (1 + RSS_TOLERANCE)


def sockets_ok(baseline: Sample, after: Sample) -> bool:
    if baseline.sockets is None or after.sockets is None:
        return False
    return after.sockets <= baseline.sockets + SOCKET_SLACK


def checks(figures: dict[str, Any], baseline: Sample, after: Sample) -> dict[str, bool]:
    """Issue 10's acceptance: the node never dies, keeps producing, RSS back within 10% of its
    baseline, fds (sockets: what a peer can hold open) back to baseline, the honest peer
    connected throughout (every sample but those of its own restart)."""
    blocks = figures["blocks"]
    return {
        "node_never_died": figures["node_alive"],
        "kept_producing": blocks["produced_by_target"] > 0
        and blocks["longest_stall_s"] <= MAX_STALL_SECONDS,
        "rss_back_within_10pct": rss_ok(baseline, after),
        "sockets_back_to_baseline": sockets_ok(baseline, after),
        "honest_peer_connected_throughout": figures["honest_connected_fraction"] == 1.0,
    }


def longest_stall(samples: list[Sample]) -> float:
    """The longest time between two samples that saw the head rise (or since the last rise)."""
    longest, since, last = 0.0, None, None
    for s in samples:
        if since is not None:
            longest = max(longest, s.t - since)
        if s.head is not None and (last is None or s.head > last):
            since, last = s.t, s.head
    return longest


def blocks_by(node: NodeHandle, first: int, last: int) -> int:
    """Blocks after `first` up to `last` produced by `node` (on its canonical chain)."""
    try:
        return sum(
            node.rpc.call("por_getBlockByNumber", n)["producer"].lower() == node.address
            for n in range(first + 1, last + 1)
        )
    except (RPCClientError, RemoteError, TypeError):
        return 0


def chains_agree(a: NodeHandle, b: NodeHandle) -> bool | None:
    """Same block at both nodes' common finalized height (None if one cannot tell)."""
    try:
        height = min(n.rpc.call("por_nodeInfo")["finalized"]["number"] for n in (a, b))
        return len({n.rpc.call("por_getBlockByNumber", height)["hash"] for n in (a, b)}) == 1
    except (RPCClientError, RemoteError, TypeError, KeyError):
        return None


def mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def max_of(samples: list[Sample], name: str) -> int | None:
    return max((getattr(s, name) for s in samples if getattr(s, name) is not None), default=None)


# -- output ----------------------------------------------------------------------------------


def print_report(r: dict[str, Any]) -> None:
    print(f"live fuzzing: {r['attack_seconds']} s of attacks, seed {r['seed']}")
    for kind, counts in r["attacks"].items():
        print(f"  {kind:<19} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for kind, statuses in r["rpc_http_status"].items():
        print(
            f"  HTTP statuses of {kind}: "
            + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        )
    if r["eclipse"]:
        e = r["eclipse"]
        print(
            f"  eclipse: {e['fake_peers']} fake peers, target peers at most "
            f"{e['target_peers_peak']}; "
            f"honest peer back {e['honest_back_after_s']} s after its restart"
        )
    b = r["blocks"]
    print(
        f"node alive: {r['node_alive']}; head #{b['head_before']} -> #{b['head_after']}, "
        f"{b['produced_by_target']} produced by the target, longest stall {b['longest_stall_s']} s"
    )
    print(
        f"honest peer connected in {r['honest_connected_fraction']} of the samples "
        f"({r['samples']} samples, {r['rpc_unanswered_samples']} unanswered)"
    )
    print(f"RSS MB {r['rss_mb']}; fds {r['fds']}; sockets {r['sockets']}")
    print(
        f"known addresses {r['known_addresses']}; banned {r['banned']}; disk MB {r['disk_mb']}; "
        f"chains agree: {r['chains_agree']}"
    )
    print(f"target log: {r['target_log']}; honest log: {r['honest_log']}")
    for name, ok in r["checks"].items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    print(r["verdict"])


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops us as Ctrl-C does: through every `finally`


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=10.0, help="attack attempts per second")
    parser.add_argument("--concurrency", type=int, default=8, help="attempts at once")
    parser.add_argument("--devnet", type=Path, help="attack this devnet (left running) instead")
    parser.add_argument(
        "--only", type=lambda s: s.split(","), help=f"attack kinds: {','.join(KINDS)}"
    )
    parser.add_argument("--prefix-mib", type=float, default=4.0, help="body after a length prefix")
    parser.add_argument("--eclipse-peers", type=int, default=20, help="0: no eclipse")
    parser.add_argument("--eclipse-seconds", type=float, default=30.0)
    parser.add_argument("--sample-seconds", type=float, default=2.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="after ready, before baseline")
    parser.add_argument("--settle", type=float, default=60.0, help="at most, after the attack")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    unknown = set(args.only or ()) - set(KINDS)
    if unknown:
        parser.error(f"unknown attack kinds: {', '.join(sorted(unknown))}")
    return args


def campaign(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    target, honest = node_handles(root)[:2]
    wait_ready(target, honest)
    time.sleep(args.warmup)
    return trio.run(Campaign(args, root, target, honest).run)


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if args.devnet is not None:
            result = campaign(args, args.devnet.absolute())
        else:
            with tempfile.TemporaryDirectory(prefix="fuzz-live-") as tmp:
                root = Path(tmp) / "devnet"
                try:
                    porchain_devnet(root, "up", "-n", "2", "--detach")
                    result = campaign(args, root)
                finally:
                    with suppress(PorchainError):
                        porchain_devnet(root, "down")
    except PorchainError as exc:
        raise SystemExit(f"fuzz_live: {exc}") from None
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
    sys.exit(0 if result["verdict"] == "PASS" else 1)


if __name__ == "__main__":
    main()
