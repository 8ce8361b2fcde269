"""Block building and mempool admission: blocks of 4,000 transfers built per second, and the
transactions a mempool admits per second, in one process on one core.

4,001 funded accounts on LevelDB; `--block-txs` pre-signed transfers (each from a different
sender) are admitted into a fresh mempool as a node admits RPC and gossip transactions (decode,
recover the sender, check every rule against the pending state), then a producer builds blocks
from the mempool's candidates as a node does at its slot: every transaction executed and
checked, the state root computed, the header signed. Each build starts from the same head, so
every block holds all the transactions. The first build is timed apart: it executes every
transaction for the first time; later builds of the same candidates on the same state do it
again in full (nothing is cached between builds but the senders).

    python benchmarks/block_build.py [--block-txs 4000] [--builds 5] [--profile 10]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import tempfile
import time
from pathlib import Path

from transfer_throughput import make_genesis, make_keys, presign

from porchain import caches
from porchain.builder import build_block
from porchain.chain import Chain
from porchain.composition import default_rules
from porchain.consensus.slots import scheduled_producer
from porchain.db import LevelDB
from porchain.mempool import Mempool
from porchain.types.transactions import Transaction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block-txs", type=int, default=4000)
    parser.add_argument("--builds", type=int, default=5)
    parser.add_argument("--profile", type=int, default=0, help="print the top N of a profile")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rng = random.Random(7)
    producer = make_keys(1, b"bench producer")[0]
    senders = make_keys(max(4000, args.block_txs), b"bench sender")
    genesis = make_genesis(producer, senders)
    (batch,) = presign(senders, 1, args.block_txs, rng)
    tmp = tempfile.TemporaryDirectory()
    chain = Chain.initialize(LevelDB(Path(tmp.name) / "chaindata"), genesis, default_rules())
    slot = 1
    assert scheduled_producer(chain.state(), slot, chain.rules) == producer.address

    caches.clear()  # admission meets the transactions as a node does: fresh off the wire
    wire = [tx.encoded for tx in batch]
    mempool = Mempool(chain.rules, max_txs=2 * args.block_txs)
    state = chain.state()
    start = time.perf_counter()
    for raw in wire:
        mempool.add(Transaction.decode(raw), state)
    admitted_s = time.perf_counter() - start
    assert len(mempool) == args.block_txs

    def build() -> float:
        start = time.perf_counter()
        built = build_block(
            chain.state(), chain.head, slot, producer, mempool.candidates(), chain.rules
        )
        elapsed = time.perf_counter() - start
        assert len(built.block.transactions) == args.block_txs, built.rejected[:1]
        return elapsed

    first = build()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    times = [build() for _ in range(args.builds)]
    if profiler is not None:
        profiler.disable()
    result = {
        "block_txs": args.block_txs,
        "admitted_per_second": round(args.block_txs / admitted_s),
        "first_build_ms": round(1000 * first, 1),
        "build_ms": [round(1000 * t, 1) for t in times],
        "blocks_per_second": round(len(times) / sum(times), 2),
        "transfers_built_per_second": round(args.block_txs * len(times) / sum(times)),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"admitted {args.block_txs} transfers at {result['admitted_per_second']}/s; "
            f"built blocks of {args.block_txs}: first {result['first_build_ms']} ms, then "
            f"{result['blocks_per_second']} blocks/s "
            f"({result['transfers_built_per_second']} transfers/s)"
        )
    chain.db.close()
    tmp.cleanup()
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())


if __name__ == "__main__":
    main()
