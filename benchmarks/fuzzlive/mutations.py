"""What the attacks send: mutated bytes and frames, poisoned addresses, side blocks, JSON
values and JSON-RPC bodies, mutated transactions. Each draws from the generator it is given."""

from __future__ import annotations

import json
import random
from typing import Any

from fuzzlive.wire import Target, fresh_key
from porchain.consensus.transfer import Transfer
from porchain.net import messages as m
from porchain.types.blocks import Block, Header, compute_tx_root
from porchain.types.codec import encode_uint, rlp_encode
from porchain.types.records import Record
from porchain.types.transactions import Transaction, TxKind

MAX_MUTATIONS = 3  # edits of one frame or transaction
RPC_METHODS = (  # every method the node serves, and one it does not
    "por_blockNumber", "por_chainId", "por_getAccount", "por_getBlockByHash",
    "por_getBlockByNumber", "por_getEpoch", "por_getParams", "por_getPool", "por_getSchedule",
    "por_getSupply", "por_getTransaction", "por_listPools", "por_nodeInfo",
    "por_pendingTransactions", "por_sendRawTransaction", "gov_activeWsc", "gov_citationGraph",
    "gov_dryRun", "gov_getPost", "gov_getProposal", "gov_listPosts", "gov_tally",
    "gov_wscHistory", "net_nodeInfo", "net_peerCount", "net_peers", "no_suchMethod",
)  # fmt: skip
POISONED = (  # listen addresses no node should dial
    b"\xff:1", b"a" * 64 + b".example:1", b"x" * 300 + b":1", b"127.0.0.1:0", b":1",
    b"localhost:99999", b"[::1]:65535", b"127.0.0.1", b"\x00\x00:30303", b"-.-:1",
    b"\xc3\x28.example:80", b"256.256.256.256:1",
)  # fmt: skip


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


def poisoned_address(rng: random.Random) -> bytes:
    if rng.random() < 0.5:  # a stranger's port on a loopback address: dialable, and wrong
        return b"127.%d.%d.%d:%d" % (*rng.randbytes(3), rng.randint(1, 65535))
    return rng.choice(POISONED)


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
