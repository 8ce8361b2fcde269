"""Trust-net snapshots: a snapshot holds exactly the state committed at its block; a new node
bootstraps from one only when k of its authorities signed it and its entries give its root; every
refusal is one clear line and leaves the node's database as it was (issue 16)."""

from __future__ import annotations

import io
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trio
from click.testing import CliRunner, Result

from porchain.backfill import BadHeaders, check_headers, lowest_held, store_headers, wanted
from porchain.chain import Chain
from porchain.cli.main import cli
from porchain.clock import SlotClock
from porchain.composition import default_rules
from porchain.crypto.keys import PrivateKey
from porchain.db import LevelDB
from porchain.history import HistoryError, export_blocks, import_blocks, read_blocks
from porchain.integrity import CorruptDatabase, Watermark, check_at_open
from porchain.node import Node, NodeConfig
from porchain.rpc import snapshot as rpc_snapshot
from porchain.rpc.errors import NOT_WRITTEN, STATE_UNAVAILABLE
from porchain.rpc.server import serve_rpc
from porchain.snapshot import bootstrap as bootstrap_module
from porchain.snapshot.bootstrap import open_from_snapshot, replace_chain
from porchain.snapshot.check import verify
from porchain.snapshot.format import (
    SnapshotError,
    encode_entry,
    read_entries,
    read_preamble,
)
from porchain.snapshot.make import write_snapshot
from porchain.snapshot.sign import add_signature
from porchain.snapshot.store import snapshot_path
from porchain.snapshot.trustnet import TrustNet, TrustNetError
from porchain.verify import verify_chain
from tests.factories import (
    CHAIN_ID,
    GENESIS_TIME_MS,
    KEYS,
    extend,
    key,
    make_genesis,
    new_chain,
    state_entries,
    transfer,
)
from tests.test_rpc import Client

pytestmark = pytest.mark.usefixtures("quiet_cli_logging")

BLOCKS = 12
AUTHORITIES = {"alice": key(20), "bob": key(21), "carol": key(22)}
STRANGER = key(23)
OTHER_CHAIN_ID = 4242


def source_chain(chain_id: int = CHAIN_ID, seed: int = 16) -> tuple[Chain, list[list]]:
    """A chain of random transfers (on the node's rules), with its state after every block."""
    chain = new_chain(make_genesis(chain_id=chain_id), rules=default_rules())
    rng = random.Random(seed)
    nonces = dict.fromkeys(KEYS, 0)
    states = [state_entries(chain.db)]
    for _ in range(BLOCKS):
        txs = []
        for sender in rng.sample(KEYS, 3):
            to = rng.choice(KEYS).address
            amount = rng.randrange(1, 10**9)
            txs.append(transfer(sender, to, amount, nonce=nonces[sender], chain_id=chain_id))
            nonces[sender] += 1
        extend(chain, txs)
        states.append(state_entries(chain.db))
    return chain, states


@pytest.fixture(scope="module")
def source() -> tuple[Chain, list[list]]:
    return source_chain()


def trust_net(k: int = 2) -> TrustNet:
    return TrustNet(k, {signer.address: name for name, signer in AUTHORITIES.items()})


def signed_snapshot(chain: Chain, out: Path, signers: list[PrivateKey]) -> Path:
    write_snapshot(chain, out)
    for signer in signers:
        assert add_signature(out, signer)
    return out


def entries_of(path: Path) -> list[tuple[bytes, bytes]]:
    with path.open("rb") as file:
        header = read_preamble(file).header
        return list(read_entries(file, header))


def fresh_home(tmp_path: Path) -> Path:
    """A data directory initialised with the genesis and nothing else (`porchain init`)."""
    home = tmp_path / "home"
    with LevelDB(home / "chaindata") as db:
        Chain.initialize(db, make_genesis(), default_rules())
    return home


def database_contents(home: Path) -> list[tuple[bytes, bytes]]:
    with LevelDB(home / "chaindata", create=False) as db:
        return list(db.iterate())


def write_trust(tmp_path: Path, trust: TrustNet) -> Path:
    path = tmp_path / "trustnet.toml"
    path.write_text(trust.to_toml())
    return path


# -- what a snapshot holds ----------------------------------------------------------------------


def test_a_snapshot_holds_the_state_committed_at_its_block(source, tmp_path: Path) -> None:
    chain, states = source
    assert 0 < chain.checkpoint.number < chain.head.number  # taken below the head
    for at in (None, chain.checkpoint.number - 2):
        out = tmp_path / f"{at}.porsnap"
        header = write_snapshot(chain, out, at=at)
        number = chain.checkpoint.number if at is None else at
        assert header.number == number
        assert header.state_root == chain.get_block_by_number(number).header.state_root
        assert entries_of(out) == states[number]
        with out.open("rb") as file:
            assert verify(file).header == header


def test_a_block_not_final_yet_is_refused(source, tmp_path: Path) -> None:
    chain, _ = source
    with pytest.raises(SnapshotError, match=r"is not final yet"):
        write_snapshot(chain, tmp_path / "s.porsnap", at=chain.head.number)
    with pytest.raises(SnapshotError, match=r"cannot write the snapshot to .*: No such file"):
        write_snapshot(chain, tmp_path / "nowhere" / "s.porsnap")
    assert not list(tmp_path.iterdir())


def test_an_authority_signs_once(source, tmp_path: Path) -> None:
    chain, _ = source
    path = signed_snapshot(chain, tmp_path / "s.porsnap", [AUTHORITIES["alice"]])
    entries = entries_of(path)
    assert not add_signature(path, AUTHORITIES["alice"])
    assert add_signature(path, AUTHORITIES["bob"])
    with path.open("rb") as file:
        checked = verify(file, trust=trust_net())
    assert checked.signatures.trusted == ["alice", "bob"]
    assert entries_of(path) == entries  # signing copies the entries as they are


# -- bootstrapping a node -----------------------------------------------------------------------


def test_a_node_bootstrapped_from_a_snapshot_follows_the_chain(source, tmp_path: Path) -> None:
    chain, states = source
    path = signed_snapshot(chain, tmp_path / "s.porsnap", list(AUTHORITIES.values())[:2])
    home = fresh_home(tmp_path)
    snapshots = home / "snapshots"
    db, node_chain = open_from_snapshot(
        home / "chaindata", default_rules(), str(path), trust_net(), snapshots
    )
    with db:
        anchor = chain.checkpoint.number
        assert node_chain.head == chain.get_block_by_number(anchor).header
        assert node_chain.anchor == anchor and node_chain.checkpoint.number == anchor
        assert state_entries(db) == states[anchor]
        assert (snapshots / f"{anchor}.porsnap").read_bytes() == path.read_bytes()  # served
        for number in range(anchor + 1, chain.head.number + 1):  # synced after the snapshot
            node_chain.import_block(chain.get_block_by_number(number))
        assert node_chain.head == chain.head
        assert state_entries(db) == states[-1]
        assert lowest_held(node_chain) == anchor
        assert verify_chain(node_chain).head_hash == chain.head.hash  # raises on damage

    # restarted with the same --snapshot, the node goes on from its database as it is
    db, again = open_from_snapshot(
        home / "chaindata", default_rules(), str(path), trust_net(), snapshots
    )
    with db:
        assert again.head == chain.head


def test_a_chain_in_the_data_directory_is_not_overwritten(source, tmp_path: Path) -> None:
    chain, _ = source
    path = signed_snapshot(chain, tmp_path / "s.porsnap", list(AUTHORITIES.values()))
    home = fresh_home(tmp_path)
    with LevelDB(home / "chaindata", create=False) as db:
        local = Chain(db, default_rules())
        local.import_block(chain.get_block_by_number(1))
    before = database_contents(home)
    with pytest.raises(SnapshotError, match=r"already holds a chain \(head #1\)"):
        open_from_snapshot(home / "chaindata", default_rules(), str(path), trust_net(), home)
    assert database_contents(home) == before


def test_an_interrupted_bootstrap_is_refused_until_it_is_run_again(
    source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain, states = source
    path = signed_snapshot(chain, tmp_path / "s.porsnap", list(AUTHORITIES.values()))
    home = fresh_home(tmp_path)
    monkeypatch.setattr(bootstrap_module, "WRITE_BATCH_ENTRIES", 3)
    write_entries = bootstrap_module._write_entries
    batches = []

    def crash_after_first_batch(*args: object) -> None:
        if batches:
            raise KeyboardInterrupt  # the process is stopped mid-bootstrap
        batches.append(args)
        write_entries(*args)

    monkeypatch.setattr(bootstrap_module, "_write_entries", crash_after_first_batch)
    with pytest.raises(KeyboardInterrupt):
        open_from_snapshot(home / "chaindata", default_rules(), str(path), trust_net(), home)

    with LevelDB(home / "chaindata", create=False) as db:
        half = Chain(db, default_rules())
        with pytest.raises(CorruptDatabase, match="a bootstrap from a snapshot was interrupted"):
            check_at_open(half, Watermark.of(db))

    monkeypatch.setattr(bootstrap_module, "_write_entries", write_entries)
    db, node_chain = open_from_snapshot(
        home / "chaindata", default_rules(), str(path), trust_net(), home / "snapshots"
    )
    with db:
        assert node_chain.head.number == chain.checkpoint.number
        assert state_entries(db) == states[chain.checkpoint.number]


# -- refusals: one clear line, nothing written --------------------------------------------------


def fewer_than_k(chain: Chain, out: Path) -> Path:
    return signed_snapshot(chain, out, [AUTHORITIES["alice"]])


def stranger_signed(chain: Chain, out: Path) -> Path:
    return signed_snapshot(chain, out, [AUTHORITIES["alice"], STRANGER])


def tampered_entry(chain: Chain, out: Path) -> Path:
    signed_snapshot(chain, out, list(AUTHORITIES.values()))
    with out.open("rb") as file:
        preamble = read_preamble(file)
        entries = list(read_entries(file, preamble.header))
    at = len(entries) // 2
    key_, value = entries[at]
    entries[at] = (key_, value[:-1] + bytes([value[-1] ^ 1]))
    out.write_bytes(preamble.encode() + b"".join(encode_entry(k, v) for k, v in entries))
    return out


def test_entries_past_the_header_s_size_are_refused(source, tmp_path: Path) -> None:
    """A server cannot make a download grow: the reader stops at the size the signed header
    gives."""
    path = signed_snapshot(source[0], tmp_path / "s.porsnap", list(AUTHORITIES.values()))
    with path.open("rb") as file:
        preamble = read_preamble(file)
        entries = list(read_entries(file, preamble.header))
    key_, value = entries[-1]
    entries[-1] = (key_, value + b"\x00" * 2**20)
    padded = preamble.encode() + b"".join(encode_entry(k, v) for k, v in entries)
    stream = io.BytesIO(padded)
    read_preamble(stream)
    with pytest.raises(
        SnapshotError, match=rf"entries pass its header's size at entry {len(entries)} "
    ):
        list(read_entries(stream, preamble.header))
    assert stream.tell() < len(padded) - 2**20  # the padding was never read


def truncated_file(chain: Chain, out: Path) -> Path:
    signed_snapshot(chain, out, list(AUTHORITIES.values()))
    out.write_bytes(out.read_bytes()[:-7])
    return out


def another_chain(chain: Chain, out: Path) -> Path:
    other, _ = source_chain(OTHER_CHAIN_ID)
    return signed_snapshot(other, out, list(AUTHORITIES.values()))


STRANGER_ADDRESS = "0x" + STRANGER.address.hex()
REFUSED: dict[str, tuple[Callable[[Chain, Path], Path], str, bool]] = {
    # case: (make the file, the error line, whether `snapshot verify --trust` sees it too)
    "fewer than k": (
        fewer_than_k,
        r"is not trusted: signed by 1 trusted authorities \(alice\); it needs 2$",
        True,
    ),
    "stranger's signature": (
        stranger_signed,
        r"signed by 1 trusted authorities \(alice\); it needs 2; 1 signature\(s\) by keys not "
        rf"in the trust net \({STRANGER_ADDRESS}\)",
        True,
    ),
    "tampered entry": (
        tampered_entry,
        r"the snapshot's entries give state root 0x[0-9a-f]{16}\.\., its header says "
        r"0x[0-9a-f]{16}\.\.: the entries were changed or damaged",
        True,
    ),
    "another chain": (
        another_chain,
        r"the snapshot is of another chain: its genesis is 0x[0-9a-f]{16}\.\., this node's",
        False,
    ),
    "truncated file": (truncated_file, r"the snapshot file is truncated \(in entry \d+ of", True),
}


def one_error_line(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert re.search(message, lines[0], re.IGNORECASE), lines[0]


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_snapshot_is_one_line_and_writes_nothing(
    source, tmp_path: Path, case: str
) -> None:
    make, message, verify_sees_it = REFUSED[case]
    path = make(source[0], tmp_path / "s.porsnap")
    home = fresh_home(tmp_path)
    trust = write_trust(tmp_path, trust_net())
    before = database_contents(home)
    run = ["--datadir", str(home), "node", "run", "--no-p2p", "--no-rpc"]

    result = CliRunner().invoke(cli, [*run, "--trustnet", str(trust), "--snapshot", str(path)])

    one_error_line(result, message)
    assert database_contents(home) == before
    assert not list((home / "snapshots").glob("*.porsnap"))
    if verify_sees_it:
        checked = CliRunner().invoke(cli, ["snapshot", "verify", str(path), "--trust", str(trust)])
        one_error_line(checked, message)


def test_snapshot_verify_reports_the_signers(source, tmp_path: Path) -> None:
    path = stranger_signed(source[0], tmp_path / "s.porsnap")
    add_signature(path, AUTHORITIES["carol"])
    trust = write_trust(tmp_path, trust_net())
    result = CliRunner().invoke(
        cli, ["snapshot", "verify", str(path), "--trust", str(trust), "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["ok"] and shown["k"] == 2 and shown["number"] == source[0].checkpoint.number
    assert shown["trusted_signers"] == ["alice", "carol"]
    assert [a.lower() for a in shown["other_signers"]] == [STRANGER_ADDRESS]


def test_snapshot_needs_a_trust_net(tmp_path: Path) -> None:
    home = fresh_home(tmp_path)
    result = CliRunner().invoke(
        cli, ["--datadir", str(home), "node", "run", "--no-p2p", "--snapshot", "x.porsnap"]
    )
    assert result.exit_code == 2 and "--snapshot needs --trustnet FILE" in result.output


# -- the trust-net file -------------------------------------------------------------------------

ALICE = "0x" + AUTHORITIES["alice"].address.hex()
BOB = "0x" + AUTHORITIES["bob"].address.hex()
BAD_TRUST_NETS = {
    "not toml": ("k = = 2", r"is not valid TOML"),
    "no authorities": ("k = 1", r"list the authorities as \[\[authority\]\] tables"),
    "k too high": (
        f'k = 3\n[[authority]]\nname = "a"\naddress = "{ALICE}"\n',
        r"k must be a whole number from 1 to the 1 authorities",
    ),
    "k zero": (
        f'k = 0\n[[authority]]\nname = "a"\naddress = "{ALICE}"\n',
        r"k must be a whole number from 1",
    ),
    "listed twice": (
        f'k = 1\n[[authority]]\nname = "a"\naddress = "{ALICE}"\n'
        f'[[authority]]\nname = "b"\naddress = "{ALICE}"\n',
        r"authority 2: b 0x[0-9a-fA-F]{40} is listed twice",
    ),
    "bad address": (
        'k = 1\n[[authority]]\nname = "a"\naddress = "0x1234"\n',
        r"authority 1: ",
    ),
    "unknown key": (
        f'k = 1\nm = 3\n[[authority]]\nname = "a"\naddress = "{BOB}"\n',
        r"unknown keys m",
    ),
    "extra field": (
        f'k = 1\n[[authority]]\nname = "a"\naddress = "{BOB}"\nweight = 2\n',
        r"authority 1 needs exactly a name and an address",
    ),
}


@pytest.mark.parametrize("case", BAD_TRUST_NETS)
def test_a_bad_trust_net_file_is_one_line(tmp_path: Path, case: str) -> None:
    text, message = BAD_TRUST_NETS[case]
    path = tmp_path / "trustnet.toml"
    path.write_text(text)
    with pytest.raises(TrustNetError, match=message):
        TrustNet.load(path)
    snapshot = tmp_path / "s.porsnap"
    snapshot.write_bytes(b"")
    result = CliRunner().invoke(cli, ["snapshot", "verify", str(snapshot), "--trust", str(path)])
    one_error_line(result, message)


def test_a_trust_net_round_trips_through_its_file(tmp_path: Path) -> None:
    trust = trust_net(k=3)
    assert TrustNet.load(write_trust(tmp_path, trust)) == trust
    odd = TrustNet(2, {AUTHORITIES["alice"].address: 'a "quoted" one', STRANGER.address: "c\\d é"})
    assert TrustNet.load(write_trust(tmp_path, odd)) == odd


# -- headers below the snapshot, back to genesis ------------------------------------------------


def anchored_node(source: tuple[Chain, list], tmp_path: Path) -> tuple[LevelDB, Chain]:
    path = signed_snapshot(source[0], tmp_path / "s.porsnap", list(AUTHORITIES.values()))
    home = fresh_home(tmp_path)
    return open_from_snapshot(
        home / "chaindata", default_rules(), str(path), trust_net(), home / "snapshots"
    )


def test_headers_are_backfilled_to_genesis_by_their_hashes(
    source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain, _ = source
    monkeypatch.setattr("porchain.backfill.MAX_HEADERS", 3)
    db, node_chain = anchored_node(source, tmp_path)
    with db:
        rounds = 0
        while (run := wanted(node_chain)) is not None:
            start, count = run
            headers = [chain.get_block_by_number(n).header for n in range(start, start + count)]
            check_headers(node_chain, headers, start)
            store_headers(node_chain, headers)
            rounds += 1
        anchor = chain.checkpoint.number
        assert rounds == -(-(anchor - 1) // 3) and lowest_held(node_chain) == 0
        for number in range(anchor + 1):
            assert node_chain.get_canonical_header(number) == chain.get_canonical_header(number)
        check_at_open(node_chain, Watermark.of(db))


def test_headers_that_do_not_link_are_refused(source, tmp_path: Path) -> None:
    chain, _ = source
    other, _ = source_chain(OTHER_CHAIN_ID)
    db, node_chain = anchored_node(source, tmp_path)
    with db:
        anchor = node_chain.anchor
        good = [chain.get_block_by_number(n).header for n in range(1, anchor)]
        with pytest.raises(BadHeaders, match=r"are not blocks #1\.\.#"):
            check_headers(node_chain, good[1:], 1)
        swapped = [*good[:-2], good[-1], good[-2]]
        with pytest.raises(BadHeaders, match=r"are not blocks"):
            check_headers(node_chain, swapped, 1)
        foreign = [other.get_block_by_number(n).header for n in range(1, anchor)]
        with pytest.raises(BadHeaders, match=rf"header #{anchor - 1} is not the parent"):
            check_headers(node_chain, foreign, 1)
        assert lowest_held(node_chain) == anchor  # nothing stored


# -- served over the RPC port -------------------------------------------------------------------


async def test_a_node_makes_and_serves_snapshots(source, tmp_path: Path) -> None:
    chain, states = source
    directory = tmp_path / "snapshots"
    clock = SlotClock(GENESIS_TIME_MS, chain.state().params.slot_ms)
    config = NodeConfig(rpc_port=0, produce=False, snapshot_dir=directory)
    node = Node(chain, clock, config=config)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_rpc, node, "127.0.0.1", 0)
        client = Client(url)
        assert await client.call("por_snapshots") == []
        made = await client.call("por_createSnapshot")
        assert made["number"] == chain.checkpoint.number and made["signatures"] == 0
        earlier = await client.call("por_createSnapshot", chain.checkpoint.number - 1)
        listed = await client.call("por_snapshots")
        assert [s["number"] for s in listed] == [made["number"], earlier["number"]]
        assert listed[0] == made
        error = await client.error("por_createSnapshot", "latest")
        assert error["code"] == STATE_UNAVAILABLE and "is not final yet" in error["message"]
        with rpc_snapshot._writing:  # another snapshot is being written
            error = await client.error("por_createSnapshot")
        assert error["code"] == NOT_WRITTEN and "a snapshot is being written" in error["message"]
        add_signature(directory / made["name"], AUTHORITIES["alice"])
        again = await client.call("por_createSnapshot")  # kept, with its signature
        assert again == {**made, "signatures": 1}
        for number in range(chain.checkpoint.number - 7, chain.checkpoint.number - 1):
            await client.call("por_createSnapshot", number)
        error = await client.error("por_createSnapshot", chain.checkpoint.number - 8)
        assert (
            error["code"] == NOT_WRITTEN and "at most 8 snapshots and holds 8" in error["message"]
        )
        async with httpx.AsyncClient(timeout=30) as http:
            latest = await http.get(f"{url}/snapshots/latest")
            named = await http.get(f"{url}/snapshots/{earlier['name']}")
            missing = await http.get(f"{url}/snapshots/..%2F..%2Fchaindata")
            absent = await http.get(f"{url}/snapshots/999.porsnap")
        nursery.cancel_scope.cancel()
    assert latest.status_code == 200
    assert latest.content == (directory / made["name"]).read_bytes()
    checked = verify(io.BytesIO(latest.content))
    assert checked.header.number == made["number"]
    file = io.BytesIO(named.content)
    header = read_preamble(file).header
    assert list(read_entries(file, header)) == states[earlier["number"]]
    assert missing.status_code == 404 and absent.status_code == 404


def test_a_history_file_is_checked_against_the_headers_below_the_snapshot(
    source, tmp_path: Path
) -> None:
    """Below its snapshot block a node holds no bodies: a full history's blocks there are checked
    against the headers it holds (skipped where it has none yet), and the rest imported."""
    chain, states = source
    history = io.BytesIO()
    export_blocks(chain, history)
    db, node_chain = anchored_node(source, tmp_path)
    with db:
        list(
            import_blocks(
                node_chain, read_blocks(io.BytesIO(history.getvalue()), chain.genesis_hash)
            )
        )
        assert node_chain.head == chain.head and state_entries(db) == states[-1]

    fork, _ = source_chain(seed=17)  # the same genesis, other transfers
    (tmp_path / "again").mkdir()
    db, node_chain = anchored_node(source, tmp_path / "again")
    with db:
        headers = [chain.get_block_by_number(n).header for n in range(1, node_chain.anchor)]
        store_headers(node_chain, headers)
        with pytest.raises(HistoryError, match=r"forks from the finalized chain at #1 "):
            list(import_blocks(node_chain, fork.iter_canonical(1)))
        assert node_chain.head.number == node_chain.anchor


def test_a_node_s_chain_data_is_replaced_only_by_a_whole_bootstrap(source, tmp_path: Path) -> None:
    """`devnet restart --snapshot`: a refused snapshot leaves the old chain data; a trusted one
    replaces it, built beside it."""
    chain, states = source
    home = fresh_home(tmp_path)
    with LevelDB(home / "chaindata", create=False) as db:
        Chain(db, default_rules()).import_block(chain.get_block_by_number(1))
    before = database_contents(home)
    untrusted = fewer_than_k(chain, tmp_path / "one.porsnap")
    genesis, rules, kept = make_genesis(), default_rules(), home / "snapshots"
    with pytest.raises(SnapshotError, match="is not trusted"):
        replace_chain(home / "chaindata", genesis, rules, str(untrusted), trust_net(), kept)
    assert database_contents(home) == before
    assert sorted(p.name for p in home.iterdir()) == ["chaindata", "snapshots"]

    trusted = signed_snapshot(chain, tmp_path / "s.porsnap", list(AUTHORITIES.values()))
    anchor = replace_chain(home / "chaindata", genesis, rules, str(trusted), trust_net(), kept)
    assert anchor == chain.checkpoint.number
    assert sorted(p.name for p in home.iterdir()) == ["chaindata", "snapshots"]
    with LevelDB(home / "chaindata", create=False) as db:
        assert state_entries(db) == states[anchor]


async def test_a_new_node_bootstraps_from_a_peer_s_url(source, tmp_path: Path) -> None:
    """`node run --snapshot http://peer/snapshots/latest`: downloaded, checked, kept to be
    served on; an untrusted one is refused from its header, and nothing is left behind."""
    chain, states = source
    served = tmp_path / "peer"
    served.mkdir()
    signed_snapshot(chain, snapshot_path(served, chain.checkpoint.number), [AUTHORITIES["bob"]])
    clock = SlotClock(GENESIS_TIME_MS, chain.state().params.slot_ms)
    node = Node(chain, clock, config=NodeConfig(rpc_port=0, produce=False, snapshot_dir=served))
    home = fresh_home(tmp_path)
    kept = home / "snapshots"

    def start(trust: TrustNet) -> int:
        db, started = open_from_snapshot(
            home / "chaindata", default_rules(), f"{url}/snapshots/latest", trust, kept
        )
        db.close()
        return started.anchor

    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_rpc, node, "127.0.0.1", 0)
        with pytest.raises(SnapshotError, match=r"signed by 1 trusted authorities \(bob\)"):
            await trio.to_thread.run_sync(start, trust_net(k=2))
        assert not list(kept.iterdir())  # no partial download left
        assert await trio.to_thread.run_sync(start, trust_net(k=1)) == chain.checkpoint.number
        nursery.cancel_scope.cancel()
    assert sorted(p.name for p in kept.iterdir()) == [f"{chain.checkpoint.number}.porsnap"]
    name = f"{chain.checkpoint.number}.porsnap"
    assert (kept / name).read_bytes() == (served / name).read_bytes()
    with LevelDB(home / "chaindata", create=False) as db:
        assert state_entries(db) == states[chain.checkpoint.number]
