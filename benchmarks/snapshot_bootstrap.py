"""Snapshot create, verify and bootstrap, against replaying the chain that made the same state.

A chain on LevelDB creates `--accounts` new accounts by transfers (blocks of `--block-txs`, each
from a different funded sender to a new address), then a few empty blocks make the last of them
final. Then, each on its own, timed:

- create: `write_snapshot` of the finalized block (both passes: the root check and the file);
- verify: `verify` of the file (read, recompute the lattice hash, check it);
- bootstrap: a fresh node's database (at genesis) bootstrapped from the signed file, as
  `node run --snapshot` does (the whole check, then the bounded batches);
- replay: a fresh node's database importing every block up to the snapshot block from a history
  file, as `porchain db import` does (decode, recover the senders with one worker beside the
  main process, every rule, one synced batch per block).

    python -m benchmarks.snapshot_bootstrap --accounts 100000 [--block-txs 4000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from benchmarks.transfer_throughput import CHAIN_ID, FEE, make_genesis, make_keys
from porchain import caches
from porchain.builder import build_block
from porchain.chain import Chain
from porchain.composition import default_rules
from porchain.consensus.transfer import Transfer
from porchain.crypto.recovery import RecoveryPool
from porchain.db import LevelDB
from porchain.genesis import Genesis
from porchain.history import export_blocks, import_blocks, read_blocks
from porchain.snapshot.bootstrap import bootstrap
from porchain.snapshot.check import verify
from porchain.snapshot.make import write_snapshot
from porchain.snapshot.sign import add_signature
from porchain.snapshot.trustnet import TrustNet
from porchain.types.transactions import Transaction, TxKind

T = TypeVar("T")
# The lone producer's bond (a tenth of its encumbered REP) is the only stake on its block pools,
# as no node votes here: it must stay over the block quorum (5% of all REP) as the fees mint REP,
# or no block would be final.
PRODUCER_REP = "1000000"
MAX_EMPTY_BLOCKS = 64  # after the transfers, for the last of them to be final


def build_chain(db: LevelDB, accounts: int, block_txs: int, seed: int) -> tuple[Chain, Genesis]:
    """The source node: `accounts` new accounts made by transfers, then final."""
    rng = random.Random(seed)
    producer = make_keys(1, b"bench producer")[0]
    senders = make_keys(block_txs, b"bench sender")
    genesis = make_genesis(producer, senders, rep=PRODUCER_REP)
    chain = Chain.initialize(db, genesis, default_rules())
    nonce, made, last = 0, 0, 0
    while made < accounts or chain.checkpoint.number < last:
        count = min(block_txs, accounts - made)
        txs = [
            Transaction.create(
                sender,
                chain_id=CHAIN_ID,
                nonce=nonce,
                kind=TxKind.TRANSFER,
                payload=Transfer(rng.randbytes(20), 1).to_rlp(),
                fee=FEE,
            )
            for sender in senders[:count]
        ]
        slot = chain.head.slot + 1
        built = build_block(chain.state(), chain.head, slot, producer, txs, chain.rules)
        assert not built.rejected, built.rejected[:1]
        chain.import_block(built.block)
        if count:
            nonce, made, last = nonce + 1, made + count, chain.head.number
            if chain.head.number % 25 == 0:
                print(f"building: #{chain.head.number}, {made} accounts", file=sys.stderr)
        elif chain.head.number > last + MAX_EMPTY_BLOCKS:
            raise SystemExit(f"no block became final after #{chain.checkpoint.number}")
    return chain, genesis


def timed(work: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def fresh_node(directory: Path, genesis: Genesis) -> tuple[LevelDB, Chain]:
    db = LevelDB(directory)
    return db, Chain.initialize(db, genesis, default_rules())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--block-txs", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    authority = make_keys(1, b"bench authority")[0]
    trust = TrustNet(1, {authority.address: "authority"})

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with LevelDB(root / "source") as db:
            source, genesis = build_chain(db, args.accounts, args.block_txs, args.seed)
            snapshot = root / "state.porsnap"
            header, create_s = timed(lambda: write_snapshot(source, snapshot))
            history = root / "history.bin"
            with history.open("wb") as out:
                export_blocks(source, out, end=header.number)
        add_signature(snapshot, authority)
        file_bytes = snapshot.stat().st_size
        caches.clear()  # the other nodes meet the data for the first time

        def check() -> None:
            with snapshot.open("rb") as file:
                verify(file, trust=trust)

        _, verify_s = timed(check)
        db, chain = fresh_node(root / "bootstrapped", genesis)
        with db:
            _, bootstrap_s = timed(lambda: bootstrap(chain, snapshot, trust))
        caches.clear()
        db, chain = fresh_node(root / "replayed", genesis)
        with db, RecoveryPool(1) as recovery, history.open("rb") as source_file:
            recovery.start()

            def replay() -> None:
                blocks = read_blocks(source_file, chain.genesis_hash)
                for _ in import_blocks(chain, blocks, recovery=recovery):
                    pass

            _, replay_s = timed(replay)
            assert chain.head.state_root == header.state_root

    result = {
        "accounts": args.accounts,
        "entries": header.entry_count,
        "blocks": header.number,
        "file_mib": round(file_bytes / 2**20, 1),
        "create_s": round(create_s, 2),
        "verify_s": round(verify_s, 2),
        "bootstrap_s": round(bootstrap_s, 2),
        "replay_s": round(replay_s, 2),
        "replay_over_bootstrap": round(replay_s / bootstrap_s, 1),
    }
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
