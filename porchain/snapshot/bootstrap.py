"""Bootstrapping a new node from a trusted snapshot instead of replaying every block.

The whole file is checked before anything is written: its chain, k of the trust net's
signatures, then the lattice hash of its entries. Then it is written in bounded batches, the
first of which records the bootstrap as started (`BOOTSTRAP_KEY`) and the last of which (the
head, the block, the finalized checkpoint and the anchor) ends it: a crash in between leaves a
database that refuses to open until the same bootstrap is run again, never a half state.

The node then holds the snapshot block as its head and finalized block (its anchor): blocks after
it are synced and served as usual; below it, it holds headers only, fetched from peers and
checked back to genesis by their hashes (porchain.net.backfill).
"""

from __future__ import annotations

import logging
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.error import URLError

from porchain.chain import Chain, Checkpoint
from porchain.consensus.modules import Rules
from porchain.db import schema
from porchain.db.level import LevelDB
from porchain.genesis import Genesis
from porchain.integrity import Watermark, check_at_open
from porchain.snapshot.check import ChainIdentity, Progress, check_entries, open_trusted
from porchain.snapshot.format import (
    SnapshotError,
    SnapshotHeader,
    encode_entry,
    read_entries,
    read_preamble,
)
from porchain.snapshot.store import snapshot_path
from porchain.snapshot.trustnet import TrustNet
from porchain.state.lthash import LtHash, sum_entries
from porchain.types.codec import encode_uint, rlp_encode

log = logging.getLogger(__name__)

WRITE_BATCH_ENTRIES = 50_000  # state entries per database batch while writing
FETCH_TIMEOUT_SECONDS = 30.0


def identity(chain: Chain) -> ChainIdentity:
    interrupted = chain.db.get(schema.BOOTSTRAP_KEY)
    if interrupted is not None:  # the genesis state is gone; the marker kept the chain id
        return ChainIdentity(int.from_bytes(interrupted[-8:], "big"), chain.genesis_hash)
    return ChainIdentity(chain.state().chain.chain_id, chain.genesis_hash)


def anchor_value(number: int, block_hash: bytes) -> bytes:
    return number.to_bytes(8, "big") + block_hash


def bootstrap(
    chain: Chain, path: Path, trust: TrustNet, progress: Progress | None = None
) -> Chain | None:
    """Bootstrap `chain`'s database (a new one, at genesis) from the snapshot file at `path`.
    Returns the chain reopened on it, or None when the database already holds the snapshot
    block (a node restarted with the same --snapshot). Refuses, changing nothing, a snapshot
    that is not of this chain, not trusted, or whose entries do not give its state root."""
    try:
        with path.open("rb") as source:
            header = open_trusted(source, identity(chain), trust).header
            if _already_there(chain, header):
                return None
            check_entries(source, header, progress)
        with path.open("rb") as source:
            read_preamble(source)
            _write(chain, header, read_entries(source, header))
    except OSError as exc:
        raise SnapshotError(f"cannot read the snapshot {path}: {exc.strerror}") from None
    log.info("bootstrapped from snapshot block=#%d entries=%d", header.number, header.entry_count)
    return Chain(chain.db, chain.rules)


def _already_there(chain: Chain, header: SnapshotHeader) -> bool:
    """Whether the database has the snapshot block; refuse one with another chain on it."""
    if chain.db.exists(schema.BOOTSTRAP_KEY):
        return False  # an interrupted bootstrap: run it again
    if chain.get_canonical_hash(header.number) == header.block_hash:
        return True
    if chain.head.number > 0:
        raise SnapshotError(
            f"the data directory already holds a chain (head #{chain.head.number}): a snapshot "
            "starts a new node; move the directory away and `porchain init` a new one"
        )
    return False


def _write(chain: Chain, header: SnapshotHeader, entries: Iterator[tuple[bytes, bytes]]) -> None:
    db = chain.db
    block = header.decoded_block()
    with db.atomic_batch() as batch:
        marker = anchor_value(block.number, block.hash) + header.chain_id.to_bytes(8, "big")
        batch.put(schema.BOOTSTRAP_KEY, marker)
        for key, _ in db.iterate(schema.STATE_PREFIX):  # the genesis state (or a torn one)
            batch.delete(key)
    lthash, pending = LtHash(), []
    for key, value in entries:
        pending.append((key, value))
        if len(pending) == WRITE_BATCH_ENTRIES:
            _write_entries(chain, pending, lthash)
            pending = []
    _write_entries(chain, pending, lthash)
    if lthash.root() != header.state_root:  # the file changed since it was checked
        raise SnapshotError("the snapshot file changed while it was being written; run again")
    checkpoint = Checkpoint(block.number, block.hash)
    with db.atomic_batch() as batch:
        batch.put(schema.LTHASH_KEY, lthash.to_bytes())
        batch.put(schema.block_key(block.hash), block.encode())
        for index, tx in enumerate(block.transactions):
            batch.put(schema.tx_location_key(tx.hash), rlp_encode([block.hash, encode_uint(index)]))
        batch.put(schema.canonical_key(block.number), block.hash)
        batch.put(schema.HEAD_KEY, block.hash)
        batch.put(schema.FINALIZED_KEY, checkpoint.encode())
        batch.put(schema.ANCHOR_KEY, anchor_value(block.number, block.hash))
        batch.put(schema.BACKFILL_KEY, block.number.to_bytes(8, "big"))
        batch.delete(schema.BOOTSTRAP_KEY)


def _write_entries(chain: Chain, entries: list[tuple[bytes, bytes]], lthash: LtHash) -> None:
    with chain.db.atomic_batch() as batch:
        for key, value in entries:
            batch.put(schema.state_db_key(key), value)
    lthash.lanes = lthash.lanes + sum_entries(entries)


def fetch(url: str, dest: Path, chain: Chain, trust: TrustNet) -> None:
    """Download the snapshot at `url` to `dest`, refusing it from its header (another chain,
    not trusted) before its entries are downloaded, and each entry over the format's limits."""
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            preamble = open_trusted(response, identity(chain), trust)
            with dest.open("wb") as sink:
                sink.write(preamble.encode())
                for key, value in read_entries(response, preamble.header):
                    sink.write(encode_entry(key, value))
    except (URLError, OSError, ValueError) as exc:
        raise SnapshotError(f"cannot download the snapshot from {url}: {exc}") from None


def open_from_snapshot(
    path: Path,
    rules: Rules,
    source: str,
    trust: TrustNet,
    snapshot_dir: Path,
    progress: Progress | None = None,
) -> tuple[LevelDB, Chain]:
    """Open the data directory at `path` (initialised with the genesis) as `node run` does,
    bootstrapped first from the snapshot at `source` (a file, or an http(s) URL) unless it
    holds the snapshot block already. The snapshot is kept in `snapshot_dir`, to be served."""
    db = LevelDB(path, create=False)
    try:
        chain = Chain(db, rules)
        snapshot_dir.mkdir(parents=True, exist_ok=True)
        download = snapshot_dir / "download.tmp"
        try:
            if source.startswith(("http://", "https://")):
                fetch(source, download, chain, trust)
                file = download
            else:
                file = Path(source)
            bootstrapped = bootstrap(chain, file, trust, progress)
            if bootstrapped is not None:
                chain = bootstrapped
                _keep(file, snapshot_path(snapshot_dir, chain.anchor), moved=file == download)
                Watermark.of(db).advance(chain.finalized)
        finally:
            download.unlink(missing_ok=True)
        check_at_open(chain, Watermark.of(db))
        return db, chain
    except BaseException:
        db.close()
        raise


def replace_chain(
    chaindata: Path,
    genesis: Genesis,
    rules: Rules,
    source: str,
    trust: TrustNet,
    snapshot_dir: Path,
) -> int:
    """Replace a stopped node's chain data with a new one bootstrapped from the snapshot at
    `source` (a devnet node reset to rejoin from a peer's snapshot). The new database is built
    beside the old one and swapped in only once complete: a refused snapshot, or a crash, leaves
    the old one in place. Returns the snapshot's block number."""
    fresh = chaindata.with_name(chaindata.name + ".from-snapshot")
    old = chaindata.with_name(chaindata.name + ".replaced")
    shutil.rmtree(fresh, ignore_errors=True)  # what an interrupted reset left
    try:
        with LevelDB(fresh) as db:
            Chain.initialize(db, genesis, rules)
        db, chain = open_from_snapshot(fresh, rules, source, trust, snapshot_dir)
        db.close()
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if chaindata.exists():
        chaindata.rename(old)
    fresh.rename(chaindata)
    shutil.rmtree(old, ignore_errors=True)
    return chain.anchor


def _keep(file: Path, kept: Path, *, moved: bool) -> None:
    """Keep the snapshot a node started from where it serves snapshots from: a download is
    moved there, a file given is copied."""
    if moved:
        file.replace(kept)
    elif file.resolve() != kept.resolve():
        tmp = kept.with_name(kept.name + ".tmp")
        shutil.copyfile(file, tmp)
        tmp.replace(kept)
