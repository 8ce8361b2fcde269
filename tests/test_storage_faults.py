"""Storage faults are loud: a real LevelDB chain is damaged on disk (garbled or truncated log,
a lost CURRENT file, lost keys) and the node's open path (`porchain.integrity.open_chain`, what
`porchain node run` calls) refuses it with an error that says what is wrong and what to do.
`db verify` reads the transaction index and first-seen log, `db repair` repairs then verifies,
`init` never writes into a non-empty chain directory, and a full disk is a clear RPC error."""

from __future__ import annotations

import functools
import json
import random
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from click.testing import CliRunner, Result

from porchain.chain import Chain
from porchain.cli.main import cli
from porchain.clock import SlotClock
from porchain.composition import core_modules
from porchain.consensus.modules import Rules
from porchain.db import schema
from porchain.db.level import LevelDB
from porchain.errors import DatabaseError, DiskWriteError
from porchain.integrity import WATERMARK_FILE, Watermark, check_at_open, open_chain
from porchain.node import Node, NodeConfig
from porchain.rpc import errors
from porchain.types.blocks import Block
from porchain.types.codec import encode_uint, rlp_encode
from porchain.verify import verify_chain
from tests.factories import GENESIS_TIME_MS, KEYS, extend, make_genesis, new_chain, transfer
from tests.test_forkchoice import Finalizer
from tests.test_rpc import Client

BLOCKS = 30
LAG = 2  # each block makes the block LAG below it final
RULES = Rules([*core_modules(), Finalizer(LAG)])
SENDER, RECIPIENT = KEYS[1], KEYS[2]


def node_at(chain: Chain, slot: int, *, rpc: bool = False) -> Node:
    """A node without a key whose clock (in trio) reads the start of `slot` now."""
    slot_ms = chain.state().params.slot_ms
    offset_ms = GENESIS_TIME_MS + slot * slot_ms - trio.current_time() * 1000
    config = NodeConfig(rpc_port=0 if rpc else None, produce=False)
    return Node(chain, SlotClock(GENESIS_TIME_MS, slot_ms, offset_ms=offset_ms), config=config)


@functools.cache
def chain_blocks() -> tuple[Block, ...]:
    """BLOCKS blocks of one transfer each (the same bytes in every run)."""
    source = new_chain(make_genesis(), rules=RULES)
    return tuple(
        extend(source, [transfer(SENDER, RECIPIENT.address, 1, nonce=nonce)])
        for nonce in range(BLOCKS)
    )


def write_chain(path: Path) -> None:
    """A LevelDB chain of the test blocks imported through the node, so its finality watermark
    is kept as `porchain node run` keeps it; then closed, the blocks still in its log."""
    blocks = chain_blocks()

    async def import_all() -> None:
        with LevelDB(path) as db:
            chain = new_chain(make_genesis(), db, RULES)
            node = node_at(chain, blocks[-1].slot)
            for block in blocks:
                node.import_block(block)
            assert chain.state().chain.finalized == BLOCKS - LAG

    trio.run(import_all)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / "chaindata"
    write_chain(path)
    return path


@pytest.fixture
def datadir(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the pristine chain, as a node's data directory."""
    shutil.copytree(pristine, tmp_path / "node" / "chaindata")
    return tmp_path / "node"


def the_log(chaindata: Path) -> Path:
    (log,) = chaindata.glob("*.log")
    return log


def refusal(chaindata: Path) -> str:
    with pytest.raises(DatabaseError) as info:
        db, _ = open_chain(chaindata, RULES)
        db.close()
    return str(info.value)


def run(datadir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--datadir", str(datadir), *args])


def test_pristine_chain_opens_with_its_watermark(datadir: Path) -> None:
    chaindata = datadir / "chaindata"
    assert (chaindata / WATERMARK_FILE).read_text() == (
        f"{BLOCKS - LAG} 0x{open_and_read_hash(chaindata, BLOCKS - LAG).hex()}\n"
    )
    db, chain = open_chain(chaindata, RULES)
    with db:
        assert chain.head.number == BLOCKS
        assert verify_chain(chain).transactions == BLOCKS


def open_and_read_hash(chaindata: Path, number: int) -> bytes:
    with LevelDB(chaindata, create=False) as db:
        value = db.get(schema.canonical_key(number))
    assert value is not None
    return value


@pytest.mark.parametrize("seed", range(12))
def test_a_garbled_log_is_refused_at_open(datadir: Path, seed: int) -> None:
    """The fault that made finalized blocks vanish from the middle of the chain: now the open
    fails, whatever bytes the garble hit."""
    log = the_log(datadir / "chaindata")
    data = bytearray(log.read_bytes())
    rng = random.Random(seed)
    for _ in range(3):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    log.write_bytes(bytes(data))
    message = refusal(datadir / "chaindata")
    assert "porchain db repair" in message and "is corrupt: Corruption" in message


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.85])
def test_a_truncated_log_is_a_refused_rollback(datadir: Path, keep: float) -> None:
    log = the_log(datadir / "chaindata")
    data = log.read_bytes()
    log.write_bytes(data[: int(len(data) * keep)])
    message = refusal(datadir / "chaindata")
    assert f"block #{BLOCKS - LAG} was final and on disk, but the head is now #" in message
    assert "rolled back" in message and "porchain db repair" in message


def damage(chaindata: Path, *, delete: tuple[bytes, ...] = (), put: dict | None = None) -> None:
    with LevelDB(chaindata, create=False) as db, db.atomic_batch() as batch:
        for key in delete:
            batch.delete(key)
        for key, value in (put or {}).items():
            batch.put(key, value)


def canonical(chaindata: Path, number: int) -> bytes:
    return open_and_read_hash(chaindata, number)


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        ("block", "canonical block #25 is missing"),
        ("index", "the canonical index at #25 is wrong or missing"),
        ("swapped", "the stored block 0x{hash} (#25) is another block"),
        ("journal", "canonical block #25 has no undo journal"),
        ("above", "the canonical index ends at #31 but the head pointer is at #30"),
        ("head", "the canonical index ends at #30 but the head pointer is at #29"),
        ("lthash", "the stored state does not match the state_root of the head #30"),
        ("watermark", "finalized block #28 0x0000000000000000.. is no longer on its canonical"),
    ],
)
def test_lost_or_stray_keys_are_refused_at_open(datadir: Path, what: str, expected: str) -> None:
    chaindata = datadir / "chaindata"
    block_hash = canonical(chaindata, 25)
    changes = {
        "block": {"delete": (schema.block_key(block_hash),)},
        "index": {"delete": (schema.canonical_key(25),)},
        "swapped": {"put": {schema.block_key(block_hash): chain_blocks()[23].encode()}},
        "journal": {"delete": (schema.journal_key(block_hash),)},
        "above": {"put": {schema.canonical_key(31): b"\x01" * 32}},
        "head": {"put": {schema.HEAD_KEY: canonical(chaindata, 29)}},
        "lthash": {"delete": (schema.LTHASH_KEY,)},
    }
    if what == "watermark":
        (chaindata / WATERMARK_FILE).write_text(f"{BLOCKS - LAG} 0x{'00' * 32}\n")
    else:
        damage(chaindata, **changes[what])
    message = refusal(chaindata)
    assert expected.format(hash=block_hash.hex()[:16] + "..") in message
    assert "porchain db repair" in message


@pytest.mark.parametrize("stored", [None, encode_uint(1), encode_uint(3)])
def test_a_state_made_by_another_commitment_version_is_refused(
    datadir: Path, stored: bytes | None
) -> None:
    """A database without the version key is from before version 2 (SHAKE-128 digests)."""
    chaindata = datadir / "chaindata"
    if stored is None:
        damage(chaindata, delete=(schema.COMMITMENT_KEY,))
    else:
        damage(chaindata, put={schema.COMMITMENT_KEY: stored})
    with LevelDB(chaindata, create=False) as db:
        before = list(db.iterate(b""))
    result = run(datadir, "node", "run", "--no-rpc", "--no-p2p")
    assert result.exit_code == 1 and "Traceback" not in result.output
    version = 1 if stored is None else int.from_bytes(stored, "big")
    assert f"made with state commitment version {version}; this porchain computes" in result.output
    with LevelDB(chaindata, create=False) as db:
        assert list(db.iterate(b"")) == before  # nothing written


def test_the_startup_walk_is_bounded(datadir: Path) -> None:
    """Below the walk, only `db verify` sees a lost block: the start-up check stays cheap."""
    chaindata = datadir / "chaindata"
    damage(chaindata, delete=(schema.block_key(canonical(chaindata, 3)),))
    with LevelDB(chaindata, create=False) as db:
        chain = Chain(db, RULES)
        check_at_open(chain, Watermark.of(db), walk=10)
        with pytest.raises(DatabaseError, match="canonical block #3 is missing"):
            check_at_open(chain, Watermark.of(db), walk=BLOCKS)
        with pytest.raises(DatabaseError, match="canonical block #3 is missing"):
            verify_chain(chain)


def test_node_run_refuses_a_damaged_database(datadir: Path) -> None:
    log = the_log(datadir / "chaindata")
    log.write_bytes(log.read_bytes()[: len(log.read_bytes()) // 2])
    result = run(datadir, "node", "run", "--no-rpc", "--no-p2p")
    assert result.exit_code == 1
    assert "rolled back" in result.output and "porchain db repair" in result.output
    assert "Traceback" not in result.output


def snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_lost_current_file_init_refuses_and_repair_recovers(datadir: Path) -> None:
    chaindata = datadir / "chaindata"
    (chaindata / "CURRENT").unlink()
    message = refusal(chaindata)
    assert "its CURRENT file is missing" in message and "porchain db repair" in message
    assert "porchain init" not in message

    genesis = datadir / "genesis.json"
    genesis.write_text(json.dumps(make_genesis().to_json()))
    before = snapshot(chaindata)
    result = run(datadir, "init")
    assert result.exit_code == 1, result.output
    assert "is not empty and holds no intact chain" in result.output
    assert "CURRENT file is missing" in result.output
    assert snapshot(chaindata) == before  # nothing deleted, nothing written

    result = run(datadir, "db", "repair", "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["repaired"] and report["ok"]
    assert (report["head"], report["transactions"]) == (BLOCKS, BLOCKS)


def test_repair_keeps_a_garbled_block_and_verify_finds_it(datadir: Path) -> None:
    """LevelDB's repair replays the log without checksums, so a garbled value survives it:
    verify after repair must find it."""
    chaindata = datadir / "chaindata"
    log = the_log(chaindata)
    data = bytearray(log.read_bytes())
    # from block #15 on, the first whose record does not straddle one of the log's 32 KiB blocks
    # (it would be split by a record header there)
    block = next(b for b in chain_blocks()[14:] if b.encode() in data)
    raw = block.encode()
    data[data.index(raw) + len(raw) - 1] ^= 0x01  # the last byte of its transaction
    log.write_bytes(bytes(data))
    assert "is corrupt: Corruption: checksum mismatch" in refusal(chaindata)
    result = run(datadir, "db", "repair")
    assert result.exit_code == 1
    assert "LevelDB repair done; verifying" in result.output
    assert f"transactions of canonical block #{block.number} do not match its tx_root" in (
        result.output
    )


def test_init_refuses_a_non_empty_chain_directory(tmp_path: Path) -> None:
    datadir = tmp_path / "node"
    (datadir / "chaindata").mkdir(parents=True)
    genesis = datadir / "genesis.json"
    genesis.write_text(json.dumps(make_genesis().to_json()))
    (datadir / "chaindata" / "notes.txt").write_text("mine")
    result = run(datadir, "init")
    assert result.exit_code == 1 and "is not empty and holds no intact chain" in result.output
    assert snapshot(datadir / "chaindata") == {"notes.txt": b"mine"}

    (datadir / "chaindata" / "notes.txt").unlink()
    first = run(datadir, "init", "-o", "json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["created"] is True
    again = run(datadir, "init", "-o", "json")  # the same intact chain: nothing to do
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {**json.loads(first.stdout), "created": False}

    genesis.write_text(json.dumps(make_genesis(chain_id=7).to_json()))
    other = run(datadir, "init")
    assert other.exit_code == 1 and "initialised with a different genesis" in other.output


# -- db verify: the transaction index and the first-seen log ------------------------------------


def verify_message(datadir: Path) -> str:
    result = run(datadir, "db", "verify")
    assert result.exit_code == 1
    return result.output


def test_verify_reports_the_index_and_first_seen_counts(datadir: Path) -> None:
    seen = {
        schema.first_seen_key(bytes([i]) * 32): GENESIS_TIME_MS.to_bytes(8, "big") for i in (1, 2)
    }
    damage(datadir / "chaindata", put=seen)
    result = run(datadir, "db", "verify", "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["ok"], report["transactions"], report["first_seen"]) == (True, BLOCKS, 2)


def tx_hash_in(chaindata: Path, number: int) -> bytes:
    with LevelDB(chaindata, create=False) as db:
        block = Chain(db, RULES).get_block_by_number(number)
        assert block is not None
        return block.transactions[0].hash


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        ("missing", "index entry of tx 0x{tx} (#5, index 0) is missing or points elsewhere"),
        ("elsewhere", "index entry of tx 0x{tx} (#5, index 0) is missing or points elsewhere"),
        ("garbled", "corrupt transaction index entry"),
        ("stray", "holds 31 entries for 30 canonical transactions"),
        ("seen-short", "malformed first-seen record"),
        ("seen-future", "the first-seen time of tx 0x{stray} is in the future"),
    ],
)
def test_verify_reads_the_index_and_first_seen_log(datadir: Path, what: str, expected: str) -> None:
    chaindata = datadir / "chaindata"
    tx = tx_hash_in(chaindata, 5)
    stray = b"\x07" * 32
    in_block_6 = rlp_encode([canonical(chaindata, 6), encode_uint(0)])
    changes = {
        "missing": {"delete": (schema.tx_location_key(tx),)},
        "elsewhere": {"put": {schema.tx_location_key(tx): in_block_6}},
        "garbled": {"put": {schema.tx_location_key(tx): b"\x01"}},
        "stray": {"put": {schema.tx_location_key(stray): in_block_6}},
        "seen-short": {"put": {schema.first_seen_key(stray): b"\x01"}},
        "seen-future": {"put": {schema.first_seen_key(stray): (2**63).to_bytes(8, "big")}},
    }
    damage(chaindata, **changes[what])
    assert expected.format(tx=tx.hex(), stray=stray.hex()) in verify_message(datadir)


# -- a full disk --------------------------------------------------------------------------------


class FullDisk(LevelDB):
    """A LevelDB whose disk fills up on demand: every write then fails as LevelDB's does."""

    full = False

    def _commit(self, changes: object) -> None:  # type: ignore[override]
        if self.full:
            raise DiskWriteError("IO error: /data/000005.log: No space left on device")
        super()._commit(changes)  # type: ignore[arg-type]


@pytest.fixture
async def full_disk_node(
    tmp_path: Path, nursery: trio.Nursery
) -> AsyncIterator[tuple[Node, Client]]:
    db = FullDisk(tmp_path / "chaindata")
    chain = new_chain(make_genesis(), db, RULES)
    node = node_at(chain, 1, rpc=True)
    await nursery.start(node.run)
    assert node.rpc_url is not None
    yield node, Client(node.rpc_url)
    db.full = False


async def test_a_transaction_sent_while_the_disk_is_full_is_refused_whole(
    full_disk_node: tuple[Node, Client],
) -> None:
    node, client = full_disk_node
    assert isinstance(node.chain.db, FullDisk)
    tx = transfer(SENDER, RECIPIENT.address, 1, nonce=0)
    node.chain.db.full = True
    error = await client.error("por_sendRawTransaction", "0x" + tx.encoded.hex())
    assert error == {
        "code": errors.STORAGE_FAULT,
        "message": "the node cannot write to its disk (No space left on device); "
        "the request was not carried out",
    }
    assert tx.hash not in node.mempool and tx.hash not in node.tx_journal
    assert node.first_seen.get(tx.hash) is None

    node.chain.db.full = False  # space again: the same transaction is admitted and journaled
    assert await client.call("por_sendRawTransaction", "0x" + tx.encoded.hex()) == (
        "0x" + tx.hash.hex()
    )
    assert tx.hash in node.mempool and tx.hash in node.tx_journal


async def test_mempool_full_and_disk_full_evicts_nothing(tmp_path: Path) -> None:
    """A transaction that would evict another from a full mempool, refused for the disk, leaves
    the evicted one in place."""
    db = FullDisk(tmp_path / "chaindata")
    chain = new_chain(make_genesis(), db, RULES)
    node = node_at(chain, 1)
    node.mempool.max_txs = 1
    cheap = transfer(SENDER, RECIPIENT.address, 1, nonce=0)
    node.submit_transaction(cheap.encoded)
    richer = transfer(RECIPIENT, SENDER.address, 1, nonce=0, fee=cheap.fee * 10)
    db.full = True
    with pytest.raises(DiskWriteError, match="No space left on device"):
        node.submit_transaction(richer.encoded)
    assert node.mempool.transactions() == [cheap]
    db.close()


REAL_WRITE_FAILURE = """
import resource, signal, sys
from pathlib import Path
from porchain.db.level import LevelDB
from porchain.errors import DiskWriteError
db = LevelDB(Path(sys.argv[1]))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    db.put(b"big", b"x" * (1 << 17))
except DiskWriteError as exc:
    print("refused:", exc)
"""


def test_a_real_failed_write_is_a_disk_write_error(tmp_path: Path) -> None:
    """LevelDB's own error for a write the OS refused (a file-size limit stands in for a full
    disk) comes out as DiskWriteError."""
    done = subprocess.run(
        [sys.executable, "-c", REAL_WRITE_FAILURE, str(tmp_path / "db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.startswith("refused: the node cannot write to its disk: IO error: "), (
        done.stdout + done.stderr
    )


def test_a_finalized_checkpoint_below_the_watermark_is_a_refused_rollback(datadir: Path) -> None:
    """Fork choice keeps to the chain's finalized checkpoint: one that came back lower than the
    watermark would let a branch revert a block that was final."""
    chaindata = datadir / "chaindata"
    with LevelDB(chaindata, create=False) as db:
        genesis = db.get(schema.canonical_key(0))
        db.put(schema.FINALIZED_KEY, rlp_encode([encode_uint(0), genesis]))
    message = refusal(chaindata)
    assert f"block #{BLOCKS - LAG} was final and on disk" in message
    assert "records only #0 as final" in message
