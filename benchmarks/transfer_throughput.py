"""Transfer throughput: pre-signed transfers validated, applied and committed on LevelDB.

Blocks of `--block-txs` transfers (default 1,000) are built once on an in-memory chain, then
imported by a fresh chain on LevelDB, as a node importing gossiped blocks does: decode the block,
recover every sender, check every rule, apply, commit one atomic batch per block. The figure is
transactions per second on one core. The signature-recovery rate alone is printed beside it: it
bounds what any implementation of these rules can reach on this machine.

    python benchmarks/transfer_throughput.py [--blocks 20] [--block-txs 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from porchain import caches
from porchain.builder import build_block
from porchain.chain import Chain
from porchain.composition import default_rules
from porchain.consensus.slots import scheduled_producer
from porchain.consensus.transfer import Transfer
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey, recover_address_uncached, to_checksum_address
from porchain.crypto.recovery import RecoveryPool, default_workers
from porchain.db import LevelDB, MemoryDB
from porchain.genesis import Genesis
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction, TxKind

CHAIN_ID = 1337
FEE = 2_000_000  # above the minimum for a transfer's size under the devnet preset


def make_keys(count: int, seed: bytes) -> list[PrivateKey]:
    return [PrivateKey(keccak(seed + i.to_bytes(4, "big"))) for i in range(count)]


def make_genesis(
    producer: PrivateKey, senders: list[PrivateKey], *, genesis_time: int = 0, rep: str = "1000"
) -> Genesis:
    alloc = {to_checksum_address(k.address): {"balance": "1000000"} for k in senders}
    alloc[to_checksum_address(producer.address)] = {"balance": "1", "rep_encumbered": rep}
    return Genesis.from_json(
        {
            "chain_id": CHAIN_ID,
            "genesis_time": genesis_time,
            "preset": "devnet",
            "wsc": {"max_block_txs": 4096, "max_block_bytes": 4 * 2**20},
            "alloc": alloc,
        }
    )


def presign(senders: list[PrivateKey], blocks: int, per_block: int, rng: random.Random):
    """Per block, `per_block` transfers, each from a different sender, to random accounts."""
    nonces = dict.fromkeys((k.address for k in senders), 0)
    out = []
    for _ in range(blocks):
        batch = []
        for sender in rng.sample(senders, per_block):
            to = rng.choice(senders).address
            batch.append(
                Transaction.create(
                    sender,
                    chain_id=CHAIN_ID,
                    nonce=nonces[sender.address],
                    kind=TxKind.TRANSFER,
                    payload=Transfer(to, rng.randrange(1, 10**9)).to_rlp(),
                    fee=FEE,
                )
            )
            nonces[sender.address] += 1
        out.append(batch)
    return out


def build_blocks(genesis: Genesis, producer: PrivateKey, batches) -> list[bytes]:
    chain = Chain.initialize(MemoryDB(), genesis, default_rules())
    encoded = []
    for slot, batch in enumerate(batches, start=1):
        state = chain.state()
        assert scheduled_producer(chain.state(), slot, chain.rules) == producer.address
        built = build_block(state, chain.head, slot, producer, batch, chain.rules)
        assert not built.rejected, built.rejected[:1]
        chain.import_block(built.block)
        encoded.append(built.block.encode())
    return encoded


def recovery_rate(txs: list[Transaction]) -> float:
    pairs = [(tx.signing_hash, tx.signature) for tx in txs]
    start = time.perf_counter()
    for message_hash, signature in pairs:
        recover_address_uncached(message_hash, signature)
    return len(pairs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--block-txs", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=4000)
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="sender-recovery worker processes (default: the cores but one; 0: one core)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    rng = random.Random(7)
    producer = make_keys(1, b"bench producer")[0]
    senders = make_keys(max(args.senders, args.block_txs), b"bench sender")
    genesis = make_genesis(producer, senders)
    batches = presign(senders, args.blocks, args.block_txs, rng)
    encoded = build_blocks(genesis, producer, batches)
    caches.clear()  # the import meets these blocks as a node receiving them does: cold

    with (
        RecoveryPool(args.workers) as recovery,
        tempfile.TemporaryDirectory() as tmp,
        LevelDB(Path(tmp) / "chaindata") as db,
    ):
        recovery.start()  # a node starts its workers once, not per block
        chain = Chain.initialize(db, genesis, default_rules())
        start = time.perf_counter()
        for block in recovery.ahead(Block.decode(raw) for raw in encoded):
            chain.import_block(block)
        elapsed = time.perf_counter() - start
    total = args.blocks * args.block_txs
    caches.clear()
    fresh = [Transaction.decode(tx.encoded) for batch in batches[:5] for tx in batch]
    result = {
        "blocks": args.blocks,
        "workers": args.workers,
        "block_txs": args.block_txs,
        "transfers": total,
        "seconds": round(elapsed, 3),
        "transfers_per_second": round(total / elapsed),
        "ms_per_block": round(1000 * elapsed / args.blocks, 1),
        "recoveries_per_second": round(recovery_rate(fresh)),
    }
    result["ratio"] = round(result["transfers_per_second"] / result["recoveries_per_second"], 2)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"imported {total} transfers in {args.blocks} blocks of {args.block_txs} on LevelDB "
            f"({args.workers} recovery workers): "
            f"{result['transfers_per_second']} transfers/s ({result['ms_per_block']} ms/block); "
            f"signature recovery alone, one core: {result['recoveries_per_second']} /s "
            f"(ratio {result['ratio']})"
        )


if __name__ == "__main__":
    main()
