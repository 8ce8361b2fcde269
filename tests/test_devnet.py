"""The devnet without running nodes: manifests, the directory layout, process bookkeeping,
status collection against fake and absent nodes, the perturbation scheduler, the CLI's errors."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from porchain.chain import Chain
from porchain.cli import invocation
from porchain.cli.devnet_view import accounts_block, chain_lines, status_view
from porchain.cli.main import cli
from porchain.composition import default_rules
from porchain.crypto.keys import PrivateKey
from porchain.crypto.keystore import Keystore
from porchain.db.level import LevelDB
from porchain.devnet import layout
from porchain.devnet.errors import DevnetError, ManifestError
from porchain.devnet.layout import (
    Devnet,
    NodeInfo,
    create_devnet,
    open_devnet,
    pick_ports,
    port_is_free,
    remove_devnet,
)
from porchain.devnet.manifest import (
    AccountSpec,
    Manifest,
    Perturbation,
    default_manifest,
    load_manifest,
    parse_manifest,
)
from porchain.devnet.perturb import Perturber, Scheduler
from porchain.devnet.processes import (
    DOWN,
    PAUSED,
    RUNNING,
    ProcState,
    Supervisor,
    node_command,
    process_state,
)
from porchain.devnet.status import DevnetStatus, collect_status
from porchain.genesis import Genesis
from porchain.units import parse_amount
from tests.procs import wait_for

REPO = Path(__file__).resolve().parent.parent
MANIFESTS = REPO / "devnet"

NODES_TOML = "".join(f'[[node]]\nname = "node{i}"\nrep = "1000"\n\n' for i in range(1, 5))


def manifest_text(extra: str = "", *, head: str = 'name = "t"\npreset = "minimal"\n') -> str:
    return head + "\n" + NODES_TOML + extra


def small_manifest(nodes: int = 2) -> Manifest:
    return parse_manifest(
        {
            "name": "small",
            "preset": "minimal",
            "node": [{"name": f"node{i}", "rep": "1000"} for i in range(1, nodes + 1)],
            "accounts": {"alice": "1000000", "bob": {"balance": "5", "grep": "100"}},
        },
        source="test",
    )


# -- manifests ---------------------------------------------------------------------------------


def test_local4_is_the_default_manifest() -> None:
    assert load_manifest(MANIFESTS / "local4.toml") == default_manifest()


@pytest.mark.parametrize("path", sorted(MANIFESTS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_manifests_parse_and_round_trip(path: Path) -> None:
    manifest = load_manifest(path)
    assert manifest.name == path.stem
    assert parse_manifest(manifest.to_dict(), source="again") == manifest
    assert json.loads(json.dumps(manifest.to_dict())) == manifest.to_dict()


def test_shipped_perturbation_manifests() -> None:
    kill = load_manifest(MANIFESTS / "kill-restart.toml").perturbations
    assert [(p.action, p.nodes) for p in kill] == [("kill", ("node3",)), ("restart", ("node3",))]
    partition = load_manifest(MANIFESTS / "partition.toml").perturbations
    assert partition[0].groups == (("node1", "node2"), ("node3", "node4"))
    assert partition[1].action == "heal"


def test_manifest_defaults_and_amounts(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(
        manifest_text('[accounts]\nzoe = "2.5"\n', head='preset = "minimal"\nchain_id = 42\n')
    )
    manifest = load_manifest(path)
    assert manifest.name == "m"  # from the file name
    assert manifest.chain_id == 42
    assert manifest.nodes[0].rep == parse_amount("1000")
    assert manifest.nodes[0].balance == parse_amount("1000")
    assert manifest.accounts == {"zoe": AccountSpec(parse_amount("2.5"))}
    assert manifest.params.slot_ms == 100


def test_accounts_may_hold_grep(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(
        manifest_text(
            '[accounts]\nzoe = "2.5"\nyan = { balance = "10", grep = "100" }\n'
            'xia = { grep = "0.5" }\n'
        )
    )
    manifest = load_manifest(path)
    assert manifest.accounts == {
        "zoe": AccountSpec(parse_amount("2.5")),
        "yan": AccountSpec(parse_amount("10"), parse_amount("100")),
        "xia": AccountSpec(0, parse_amount("0.5")),
    }
    assert manifest.to_dict()["accounts"] == {
        "zoe": "2.5",
        "yan": {"balance": "10", "grep": "100"},
        "xia": {"balance": "0", "grep": "0.5"},
    }
    assert parse_manifest(manifest.to_dict(), source="again") == manifest


def test_default_dev_accounts_hold_grep() -> None:
    accounts = default_manifest().accounts
    assert sorted(accounts) == ["alice", "bob", "carol", "dave"]
    assert set(accounts.values()) == {AccountSpec(parse_amount("1000000"), parse_amount("100"))}


def test_wsc_overrides_go_through_the_parameter_checks() -> None:
    manifest = parse_manifest(
        {"preset": "minimal", "wsc": {"slot_ms": 250}, "node": [{"name": "a"}]}, source="m"
    )
    assert manifest.params.slot_ms == 250
    assert manifest.params.epoch_slots == 4  # the rest is the preset's


BAD_MANIFESTS = [
    ("not toml [", "not valid TOML"),
    (manifest_text(head='name = "t"\ncolour = "red"\n'), "unknown field(s) colour"),
    (manifest_text(head='preset = "mainnet"\n'), "unknown preset 'mainnet'"),
    (manifest_text(head='name = "a b"\n'), "name must be"),
    (manifest_text(head="chain_id = 0\n"), "chain_id must be a positive integer"),
    (manifest_text("[wsc]\nslot_speed = 3\n"), "[wsc]: unknown WSC parameter(s): slot_speed"),
    (manifest_text("[wsc]\nslot_ms = 1\n"), "[wsc]: "),
    ('name = "t"\n', "at least one [[node]]"),
    ('[[node]]\nname = "a"\nrep = "1"\nport = 3\n', "node 1: unknown field(s) port"),
    ('[[node]]\nname = "a"\n[[node]]\nname = "a"\n', "node name 'a' is used twice"),
    ('[[node]]\nname = "accounts"\n', "reserved"),
    ('[[node]]\nname = "../x"\n', "name must be"),
    ('[[node]]\nname = "a"\nrep = 1.5\n', "not floats"),
    ('[[node]]\nname = "a"\nrep = "lots"\n', "node a: rep: not an amount"),
    ('[[node]]\nname = "a"\nrep = "0"\n', "no node has REP"),
    ('[[node]]\nname = "a"\nmax_peers = 0\n', "max_peers must be a positive integer"),
    (manifest_text('[accounts]\n"al ice" = "1"\n'), "[accounts]: name must be"),
    (manifest_text('[accounts]\nalice = "-1"\n'), "[accounts] alice: amount must be"),
    (
        manifest_text('[accounts]\nalice = { balance = "1", rep = "5" }\n'),
        "[accounts] alice: unknown field(s) rep (expected: balance, grep)",
    ),
    (manifest_text("[accounts]\nalice = { grep = 1.5 }\n"), "[accounts] alice: grep: write"),
    (manifest_text('[accounts]\nalice = { grep = "x" }\n'), "[accounts] alice: grep: not an"),
    (manifest_text("[accounts]\nalice = [1]\n"), "[accounts] alice: expected an amount"),
    (
        manifest_text('[[perturbation]]\naction = "kill"\nnodes = ["node1"]\n'),
        "perturbation 1 (kill): give exactly one of at_height and at_time",
    ),
    (
        manifest_text('[[perturbation]]\nat_height = 5\nat_time = 3\naction = "kill"\n'),
        "give exactly one of at_height and at_time",
    ),
    (
        manifest_text('[[perturbation]]\nat_height = 5\naction = "explode"\n'),
        "perturbation 1: action must be one of kill, pause",
    ),
    (
        manifest_text('[[perturbation]]\nat_height = 5\naction = "kill"\nnodes = ["node9"]\n'),
        "perturbation 1 (kill): unknown node 'node9' (nodes: node1, node2, node3, node4)",
    ),
    (
        manifest_text('[[perturbation]]\nat_height = 5\naction = "kill"\n'),
        "perturbation 1 (kill): nodes must name at least one node",
    ),
    (
        manifest_text('[[perturbation]]\nat_height = 5\naction = "pause"\nnodes = []\n'),
        "nodes must name at least one node",
    ),
    (
        manifest_text('[[perturbation]]\nat_height = 0\naction = "heal"\n'),
        "at_height must be a block number >= 1",
    ),
    (
        manifest_text('[[perturbation]]\nat_time = -1\naction = "heal"\n'),
        "at_time must be seconds >= 0",
    ),
    (
        manifest_text('[[perturbation]]\nat_time = true\naction = "heal"\n'),
        "at_time must be seconds >= 0",
    ),
    (
        manifest_text('[[perturbation]]\nat_time = 1\naction = "heal"\nwhen = 3\n'),
        "perturbation 1: unknown field(s) when",
    ),
    (
        manifest_text(
            '[[perturbation]]\nat_time = 1\naction = "kill"\nnodes = ["node1", "node1"]\n'
        ),
        "nodes lists a node twice",
    ),
    (
        manifest_text(
            '[[perturbation]]\nat_time = 1\naction = "partition"\ngroups = [["node1"]]\n'
        ),
        "groups must list at least two groups",
    ),
    (
        manifest_text(
            '[[perturbation]]\nat_time = 1\naction = "partition"\n'
            'groups = [["node1", "node2"], ["node3"]]\n'
        ),
        "every node must be in a group (missing: node4)",
    ),
    (
        manifest_text(
            '[[perturbation]]\nat_time = 1\naction = "partition"\n'
            'groups = [["node1", "node2"], ["node2", "node3", "node4"]]\n'
        ),
        "a node is in two groups",
    ),
    (
        manifest_text(
            '[[perturbation]]\nat_time = 1\naction = "partition"\n'
            'groups = [["node1", "node2"], ["node3", "node5"]]\n'
        ),
        "unknown node 'node5'",
    ),
    (
        manifest_text(
            '[[perturbation]]\nat_time = 1\naction = "partition"\nnodes = ["node1"]\n'
            'groups = [["node1", "node2"], ["node3", "node4"]]\n'
        ),
        "a partition takes groups, not nodes",
    ),
    (
        manifest_text(
            '[[perturbation]]\nat_time = 1\naction = "kill"\nnodes = ["node1"]\n'
            'groups = [["node1"], ["node2"]]\n'
        ),
        "only a partition takes groups",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_MANIFESTS)
def test_bad_manifests_are_refused_with_a_clear_message(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    assert message in str(raised.value)
    assert str(raised.value).startswith(str(path))
    assert "\n" not in str(raised.value)


def test_missing_manifest_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest file at"):
        load_manifest(tmp_path / "nope.toml")


def test_default_manifest_bounds() -> None:
    assert default_manifest(1).node_names == ["node1"]
    with pytest.raises(ManifestError, match="1 to 32 nodes"):
        default_manifest(0)


# -- layout ------------------------------------------------------------------------------------


@pytest.fixture
def created(tmp_path: Path) -> Devnet:
    return create_devnet(tmp_path / "dn", small_manifest())


def test_create_devnet_makes_keys_genesis_ports_and_chains(created: Devnet) -> None:
    root = created.root
    stored = json.loads((root / "devnet.json").read_text())
    assert stored["manifest"] == small_manifest().to_dict()
    assert [n["name"] for n in stored["nodes"]] == ["node1", "node2"]
    assert Devnet.load(root) == created

    genesis_text = (root / "genesis.json").read_text()
    genesis = Genesis.from_json(json.loads(genesis_text))
    assert genesis.params.slot_ms == 100  # the minimal preset
    genesis_hashes = set()
    for node in created.nodes:
        datadir = created.datadir(node.name)
        password_file = created.password_file(node.name)
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        key = Keystore(datadir / "keystore").unlock("producer", password_file.read_text().strip())
        assert "0x" + key.address.hex() == node.address.lower()
        allocation = genesis.alloc[key.address]
        assert allocation.rep_encumbered == parse_amount("1000")
        assert allocation.balance == parse_amount("1000")
        node_key = (datadir / "nodekey").read_text().strip()
        assert stat.S_IMODE((datadir / "nodekey").stat().st_mode) == 0o600
        assert "0x" + PrivateKey(bytes.fromhex(node_key)).address.hex() == node.node_id
        assert (datadir / "genesis.json").read_text() == genesis_text
        with LevelDB(datadir / "chaindata", create=False) as db:
            chain = Chain(db, default_rules())
            assert chain.head.number == 0
            genesis_hashes.add(chain.genesis_hash)
    assert len(genesis_hashes) == 1

    accounts = created.accounts_keystore
    for name, address in created.accounts.items():
        assert "0x" + accounts.unlock(name, "").address.hex() == address.lower()
    alice = genesis.alloc[bytes.fromhex(created.accounts["alice"][2:])]
    assert alice.balance == parse_amount("1000000") and alice.grep == 0
    bob = genesis.alloc[bytes.fromhex(created.accounts["bob"][2:])]
    assert (bob.balance, bob.grep) == (parse_amount("5"), parse_amount("100"))
    pointer = json.loads((created.accounts_dir / "node.json").read_text())
    assert pointer == {"rpc": created.nodes[0].rpc_url}

    ports = [n.rpc_port for n in created.nodes] + [n.p2p_port for n in created.nodes]
    assert len(set(ports)) == len(ports)
    assert all(n.rpc_url == f"http://127.0.0.1:{n.rpc_port}" for n in created.nodes)
    assert all(n.p2p_address == f"127.0.0.1:{n.p2p_port}" for n in created.nodes)


def test_open_devnet_reuses_an_existing_devnet(created: Devnet) -> None:
    before = {p: p.read_bytes() for p in created.root.rglob("*") if p.is_file()}
    again, was_created = open_devnet(created.root, None)
    assert not was_created and again == created
    again, was_created = open_devnet(created.root, small_manifest())  # the same manifest
    assert not was_created and again == created
    after = {p: p.read_bytes() for p in created.root.rglob("*") if p.is_file()}
    assert after == before


def test_open_devnet_refuses_another_manifest(created: Devnet) -> None:
    with pytest.raises(DevnetError, match=r"created from manifest 'small'.*devnet reset"):
        open_devnet(created.root, small_manifest(3))


def test_open_devnet_creates_the_default(tmp_path: Path) -> None:
    devnet, was_created = open_devnet(tmp_path / "dn")
    assert was_created
    assert devnet.node_names == ["node1", "node2", "node3", "node4"]
    assert sorted(devnet.accounts) == ["alice", "bob", "carol", "dave"]
    genesis = Genesis.load(devnet.genesis_file)
    assert all(
        genesis.alloc[bytes.fromhex(address[2:])].grep == parse_amount("100")
        for address in devnet.accounts.values()
    )


def test_create_refuses_a_directory_that_is_not_a_devnet(tmp_path: Path) -> None:
    (tmp_path / "dn").mkdir()
    (tmp_path / "dn" / "precious.txt").write_text("mine")
    with pytest.raises(DevnetError, match="exists and is not a devnet"):
        create_devnet(tmp_path / "dn", small_manifest())
    assert [p.name for p in (tmp_path / "dn").iterdir()] == ["precious.txt"]


def test_a_failed_creation_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Genesis:
        raise DevnetError("boom")

    monkeypatch.setattr(layout, "build_genesis", broken)
    with pytest.raises(DevnetError, match="boom"):
        create_devnet(tmp_path / "dn", small_manifest())
    assert list(tmp_path.iterdir()) == []


def test_load_without_a_devnet(tmp_path: Path) -> None:
    with pytest.raises(DevnetError, match=r"no devnet in .*porchain devnet up"):
        Devnet.load(tmp_path)


def test_remove_devnet_refuses_other_directories(tmp_path: Path, created: Devnet) -> None:
    (tmp_path / "other").mkdir()
    with pytest.raises(DevnetError, match="refusing to delete"):
        remove_devnet(tmp_path / "other")
    assert (tmp_path / "other").exists()
    remove_devnet(created.root)
    assert not created.root.exists()


def test_pick_ports_prefers_the_given_ports_and_avoids_taken_ones() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert not port_is_free(taken)
        ports = pick_ports(3, taken, avoid=[taken + 1])
        assert taken not in ports and taken + 1 not in ports
        assert len(set(ports)) == 3
        assert all(port_is_free(port) for port in ports)
    free = pick_ports(1, 0)[0]  # any free port ...
    assert pick_ports(1, free) == [free]  # ... is taken as preferred while still free


def test_the_first_preferred_ports_can_be_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(layout.PORTS_ENV, raising=False)
    assert layout.preferred_ports() == (8645, 30400)
    monkeypatch.setenv(layout.PORTS_ENV, "9645,31400")
    assert layout.preferred_ports() == (9645, 31400)
    for bad in ("9645", "a,b", "0,31400", "9645,70000", "1,2,3"):
        monkeypatch.setenv(layout.PORTS_ENV, bad)
        with pytest.raises(DevnetError) as refused:
            layout.preferred_ports()
        assert str(refused.value) == (
            f"PORCHAIN_DEVNET_PORTS must be two ports, RPC,P2P (e.g. 9645,31400); not {bad!r}"
        )


# -- processes ---------------------------------------------------------------------------------


def test_node_command_joins_every_other_node(tmp_path: Path) -> None:
    manifest = parse_manifest(
        {"node": [{"name": "a"}, {"name": "b", "max_peers": 5}, {"name": "c"}]}, source="m"
    )
    devnet = create_devnet(tmp_path / "dn", manifest)
    cmd = node_command(devnet, "b")
    assert cmd[cmd.index("--datadir") + 1] == str(devnet.datadir("b"))
    assert cmd[cmd.index("--rpc-port") + 1] == str(devnet.node("b").rpc_port)
    assert cmd[cmd.index("--p2p-port") + 1] == str(devnet.node("b").p2p_port)
    assert cmd[cmd.index("--p2p-host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--password-file") + 1] == str(devnet.password_file("b"))
    assert cmd[cmd.index("--max-peers") + 1] == "5"
    assert "--dev-rpc" in cmd
    bootnodes = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--bootnode"]
    assert bootnodes == [devnet.node("a").p2p_address, devnet.node("c").p2p_address]
    assert "--max-peers" not in node_command(devnet, "a")


def test_porchain_runs_from_a_directory_holding_a_porchain_folder(tmp_path: Path) -> None:
    """A checkout's parent: `python -m porchain` put its `porchain/` folder in place of the
    package (`ImportError: cannot import name '__version__'`), and so did every devnet node."""
    checkout = tmp_path / "porchain"
    (checkout / "porchain").mkdir(parents=True)
    (checkout / "porchain" / "__init__.py").write_text("raise ImportError('the fake one')\n")
    (checkout / "pyproject.toml").write_text("")
    devnet = create_devnet(tmp_path / "dn", small_manifest())
    # a node's own interpreter line, from a folder that is a (fake) package itself, too
    node_python = node_command(devnet, "node1")[: node_command(devnet, "node1").index("--datadir")]
    for cwd, cmd in (
        (tmp_path, [sys.executable, "-m", "porchain"]),
        (tmp_path, node_python),
        (checkout, node_python),
    ):
        done = subprocess.run(
            [*cmd, "--version"], cwd=cwd, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("porchain, version")


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Stand-in node processes; every one is killed when the test ends."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def start_sleeper(devnet: Devnet, name: str, procs: list[subprocess.Popen[bytes]]) -> int:
    """A process whose command line names the node's datadir, as a node's does."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", str(devnet.datadir(name))]
    )
    procs.append(proc)
    devnet.pid_file(name).write_text(f"{proc.pid}\n")
    return proc.pid


def test_supervisor_sees_and_stops_running_and_paused_nodes(
    created: Devnet, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    supervisor = Supervisor(created)
    assert supervisor.states() == {"node1": ProcState(None, DOWN), "node2": ProcState(None, DOWN)}
    pids = [start_sleeper(created, name, sleepers) for name in created.node_names]
    wait_for(lambda: all(s.state == RUNNING for s in supervisor.states().values()), "running")
    assert supervisor.send("node2", signal.SIGSTOP) == pids[1]
    wait_for(lambda: supervisor.state("node2").state == PAUSED, "node2 paused")

    assert sorted(supervisor.stop()) == ["node1", "node2"]  # SIGTERM, and SIGCONT for node2
    for proc in sleepers:
        assert proc.wait(timeout=30) == -signal.SIGTERM
    assert supervisor.states() == {"node1": ProcState(None, DOWN), "node2": ProcState(None, DOWN)}
    assert not created.pid_file("node1").exists()
    assert supervisor.stop() == []


def test_a_recycled_pid_is_not_taken_for_a_node(created: Devnet) -> None:
    # this test process is alive, but it is not node1: signalling it would be a disaster
    assert process_state(os.getpid(), created.datadir("node1")) == DOWN
    created.pid_file("node1").write_text(f"{os.getpid()}\n")
    supervisor = Supervisor(created)
    assert supervisor.state("node1").state == DOWN
    assert supervisor.send("node1", signal.SIGTERM) is None
    assert supervisor.stop() == []


# -- status ------------------------------------------------------------------------------------


class FakeNode(BaseHTTPRequestHandler):
    """Answers the RPC methods the status uses, like a node at height 7."""

    answers: dict[str, Any] = {}

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["content-length"])))
        method = request["method"]
        if method in self.answers:
            body = {"jsonrpc": "2.0", "id": request["id"], "result": self.answers[method]}
        else:
            error = {"code": -32601, "message": f"method not found: {method}"}
            body = {"jsonrpc": "2.0", "id": request["id"], "error": error}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serving_fake_node(port: int = 0) -> Iterator[int]:
    """A FakeNode on the port (0: any free one); its port."""
    server = HTTPServer(("127.0.0.1", port), FakeNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_node() -> Iterator[int]:
    with serving_fake_node() as port:
        yield port


def fake_devnet(root: Path, rpc_ports: list[int]) -> Devnet:
    nodes = tuple(
        NodeInfo(f"node{i}", port, 30400 + i, "0x" + f"{i:02x}" * 20, "0x" + f"{i:02x}" * 20)
        for i, port in enumerate(rpc_ports, 1)
    )
    manifest = parse_manifest(
        {"name": "fake", "node": [{"name": n.name} for n in nodes]}, source="m"
    )
    accounts = {"alice": "0x" + "aa" * 20}
    genesis = layout.build_genesis(manifest, nodes, accounts, 0)
    (root / "genesis.json").write_text(json.dumps(genesis.to_json()))
    return Devnet(root, manifest, nodes, accounts, 0)


def test_status_of_absent_nodes(tmp_path: Path) -> None:
    free = pick_ports(2, 0)
    devnet = fake_devnet(tmp_path, free)
    status = collect_status(devnet, {}, timeout=0.5)
    assert [n.state for n in status.nodes] == ["down", "down"]
    assert all(n.height is None and n.error is None for n in status.nodes)
    assert status.next_producers == [] and status.open_pools is None
    lonely = Devnet(devnet.root, devnet.manifest, devnet.nodes, {}, 0)
    assert collect_status(lonely, {}).hint is None  # no dev account to send from
    # a node that should be running but does not answer says why
    status = collect_status(devnet, {"node1": ProcState(123, RUNNING)}, timeout=0.5)
    assert status.nodes[0].alive and status.nodes[0].height is None
    assert "cannot reach a node at" in (status.nodes[0].error or "")
    data = status.to_json()
    assert data["nodes"][0]["pid"] == 123 and data["nodes"][0]["alive"] is True
    assert data["nodes"][1]["pid"] is None and data["nodes"][1]["alive"] is False


def node_answers(devnet: Devnet, name: str, **info: Any) -> dict[str, Any]:
    """What a node of `devnet` answers to the status's questions, at height 7."""
    return {
        "por_nodeInfo": {
            "chain_id": 1337,
            "genesis_hash": devnet.genesis_hash,
            "head": {"number": 7, "hash": "0x07", "slot": 9},
            "finalized": {"number": 4, "hash": "0x04"},
            **info,
        },
        "net_nodeInfo": {"node_id": devnet.node(name).node_id, "peers": 3},
        "por_blockNumber": 7,
        "por_getSchedule": [
            {"slot": 10, "epoch": 2, "start_ms": 0, "producer": "0x" + "02" * 20},
            {"slot": 11, "epoch": 2, "start_ms": 0, "producer": "0x" + "99" * 20},
        ],
        "por_listPools": [{"id": 1}, {"id": 2}],
        "por_getAccount": {"balance": "1500000000", "grep": "7"},
    }


def test_status_from_fake_nodes(tmp_path: Path, fake_node: int) -> None:
    devnet = fake_devnet(tmp_path, [fake_node, fake_node])
    FakeNode.answers = node_answers(devnet, "node1")
    states = {"node1": ProcState(11, RUNNING), "node2": ProcState(12, PAUSED)}
    status = collect_status(
        devnet, states, controller_pid=99, balances=True, program=".venv/bin/porchain"
    )
    node1, node2 = status.nodes
    assert (node1.height, node1.finalized, node1.peers, node1.head_hash) == (7, 4, 3, "0x07")
    assert node2.state == "paused" and node2.height is None  # not asked: it cannot answer
    assert [(p["slot"], p["node"]) for p in status.next_producers] == [(10, "node2"), (11, None)]
    assert status.open_pools == 2
    data = status.to_json()
    assert data["controller_pid"] == 99
    assert data["accounts"] == [
        {
            "name": "alice",
            "address": "0x" + "aa" * 20,
            "key_file": str(tmp_path / "accounts" / "keystore" / "alice.json"),
            "password": "",
            "balance": "1500000000",
            "grep": "7",
        }
    ]
    assert data["hint"] == (  # as run by the README's install, which puts nothing on PATH
        f".venv/bin/porchain --datadir {tmp_path / 'accounts'} "
        "tx transfer alice 1.5 --from alice --wait"
    )
    found = collect_status(devnet, states, program="porchain", found_by_cli=True)
    assert found.hint == "porchain tx transfer alice 1.5 --from alice --wait"  # no --datadir
    text = status_text(status)  # issue 17, friction 6: slots said as slots; heads shown
    assert "next producers by slot: 10 node2, 11 0x99999999" in text
    assert re.search(r"node1\s+running\s+11\s+7\s+0x07\s+4\s+3", text), text


def test_status_never_shows_another_network_as_a_node(tmp_path: Path, fake_node: int) -> None:
    """node1's port answers for a network of another genesis: no height, no producers, not up."""
    devnet = fake_devnet(tmp_path, [fake_node, pick_ports(1, 0)[0]])
    other = "0x" + "5e" * 32
    FakeNode.answers = node_answers(devnet, "node1", genesis_hash=other, chain_id=7)
    for state in (RUNNING, DOWN):  # our process starting, or dead of `Address already in use`
        status = collect_status(devnet, {"node1": ProcState(11, state)})
        node1 = status.nodes[0]
        assert node1.foreign == (
            f"port {fake_node} answers for another network (genesis 0x5e5e5e5e.., chain 7), "
            "not devnet fake"
        )
        assert (node1.height, node1.finalized, node1.peers, node1.up) == (None, None, None, False)
        assert status.next_producers == [] and status.open_pools is None
        assert "0/2 nodes up" in chain_lines(status).plain
        assert node1.foreign in status_text(status)
        assert status.to_json()["nodes"][0]["up"] is False

    # our genesis, but another node's identity on node1's port: not node1 either
    FakeNode.answers = node_answers(devnet, "node2")
    node1 = collect_status(devnet, {"node1": ProcState(11, RUNNING)}).nodes[0]
    assert node1.foreign == f"port {fake_node} answers as node2, not node1"
    assert node1.height is None and not node1.up


def status_text(status: DevnetStatus) -> str:
    console = Console(width=400, file=io.StringIO())
    console.print(status_view(status))
    return console.file.getvalue()  # type: ignore[attr-defined]


# -- perturbations -----------------------------------------------------------------------------


def test_scheduler_fires_in_manifest_order() -> None:
    kill = Perturbation("kill", at_height=10, nodes=("a",))
    restart = Perturbation("restart", at_time=0.0, nodes=("a",))
    heal = Perturbation("heal", at_time=50.0)
    scheduler = Scheduler((kill, restart, heal))
    assert scheduler.pop_due(None, 100.0) == []  # restart is due by time, but kill is not yet
    assert scheduler.seconds_to_next(100.0) is None  # waiting for a height
    assert scheduler.pop_due(9, 100.0) == []
    assert scheduler.pop_due(10, 20.0) == [(1, kill), (2, restart)]
    assert scheduler.seconds_to_next(20.0) == 30.0
    assert scheduler.pop_due(10, 49.9) == []
    assert scheduler.pop_due(None, 50.0) == [(3, heal)]
    assert scheduler.done and scheduler.pop_due(99, 99.0) == []


class RecordingPerturber(Perturber):
    """Records the RPC calls instead of making them."""

    def __init__(self, devnet: Devnet) -> None:
        super().__init__(devnet, Supervisor(devnet))
        self.calls: list[tuple[str, str, tuple[object, ...]]] = []

    def _call(self, name: str, out: Any, method: str, *params: object) -> bool:
        self.calls.append((name, method, params))
        return True

    def take(self) -> dict[str, tuple[str, ...]]:
        """node -> the names it was told to cut off (empty: healed)."""
        ids = {node.node_id: node.name for node in self.devnet.nodes}
        out = {}
        for name, method, params in self.calls:
            out[name] = tuple(ids[i] for i in params[0]) if method == "dev_partition" else ()
        self.calls = []
        return out


def test_network_perturbations_send_each_node_its_whole_blocked_set(tmp_path: Path) -> None:
    devnet = fake_devnet(tmp_path, pick_ports(4, 0))
    perturber = RecordingPerturber(devnet)
    groups = (("node1", "node2"), ("node3", "node4"))
    perturber.apply(Perturbation("partition", at_time=0, groups=groups))
    assert perturber.take() == {
        "node1": ("node3", "node4"),
        "node2": ("node3", "node4"),
        "node3": ("node1", "node2"),
        "node4": ("node1", "node2"),
    }
    perturber.apply(Perturbation("disconnect", at_time=0, nodes=("node1",)))
    assert perturber.take() == {
        "node1": ("node2", "node3", "node4"),
        "node2": ("node1", "node3", "node4"),  # the partition is kept, node1 added
        "node3": ("node1", "node2"),
        "node4": ("node1", "node2"),
    }
    perturber.apply(Perturbation("heal", at_time=0, nodes=("node1",)))
    assert perturber.take() == {
        "node1": (),
        "node2": ("node3", "node4"),
        "node3": ("node2",),
        "node4": ("node2",),
    }
    perturber.apply(Perturbation("heal", at_time=0))
    assert perturber.take() == {f"node{i}": () for i in range(1, 5)}


def test_network_perturbations_skip_nodes_that_are_not_running(tmp_path: Path) -> None:
    devnet = fake_devnet(tmp_path, pick_ports(2, 0))
    outcome = Perturber(devnet, Supervisor(devnet)).apply(Perturbation("heal", at_time=0))
    assert outcome.lines == ["node1: down, dev_heal skipped", "node2: down, dev_heal skipped"]
    assert not outcome.failed


# -- the CLI -----------------------------------------------------------------------------------


def devnet_cli(root: Path, *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, ["devnet", "--dir", str(root), *args], input=input)


def test_cli_refuses_a_bad_manifest_and_creates_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(manifest_text('[[perturbation]]\nat_height = 3\naction = "kill"\n'))
    result = devnet_cli(tmp_path / "dn", "up", "--manifest", str(bad))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {bad}: perturbation 1 (kill): nodes must name at least one node"
    ]
    assert not (tmp_path / "dn").exists()


def test_cli_usage_errors(tmp_path: Path) -> None:
    result = devnet_cli(tmp_path / "dn", "up", "-n", "2", "--manifest", "x.toml")
    assert result.exit_code == 2 and "drop -n and --preset" in result.output
    result = devnet_cli(tmp_path / "dn", "up", "-n", "99")
    assert result.exit_code == 2
    assert not (tmp_path / "dn").exists()


def test_cli_commands_without_a_devnet(tmp_path: Path) -> None:
    for args in (["status"], ["down"], ["logs", "node1"], ["restart", "node1"]):
        result = devnet_cli(tmp_path / "dn", *args)
        assert result.exit_code == 1, args
        assert result.output.startswith(f"Error: no devnet in {tmp_path / 'dn'}"), args
    result = devnet_cli(tmp_path / "dn", "reset")
    assert result.exit_code == 0 and "nothing to reset" in result.output


def test_cli_status_down_logs_reset_on_a_stopped_devnet(created: Devnet) -> None:
    root = created.root
    result = devnet_cli(root, "status", "-o", "json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert [n["name"] for n in status["nodes"]] == ["node1", "node2"]
    for node, info in zip(status["nodes"], created.nodes, strict=True):
        assert node["rpc"] == info.rpc_url and node["p2p"] == info.p2p_address
        assert node["alive"] is False and node["pid"] is None and node["height"] is None
    assert [a["name"] for a in status["accounts"]] == ["alice", "bob"]
    assert all(Path(a["key_file"]).is_file() and a["password"] == "" for a in status["accounts"])

    text = devnet_cli(root, "status").output
    assert created.nodes[0].rpc_url in text and "password: empty, press Enter" in text

    result = devnet_cli(root, "down")
    assert result.exit_code == 0 and "no node was running" in result.output

    result = devnet_cli(root, "logs", "node1")
    assert result.exit_code == 1 and "node1 has no log yet" in result.output
    created.log_file("node1").write_text("".join(f"line {i}\n" for i in range(100)))
    result = devnet_cli(root, "logs", "node1", "-n", "3")
    assert result.output == "line 97\nline 98\nline 99\n"
    result = devnet_cli(root, "logs", "node9")
    assert result.exit_code == 1 and "no node 'node9'" in result.output
    result = devnet_cli(root, "restart", "node9")
    assert result.exit_code == 1 and "no node 'node9'" in result.output

    result = devnet_cli(root, "reset")  # no terminal to ask on
    assert result.exit_code == 1 and "--yes" in result.output
    assert root.exists()
    result = devnet_cli(root, "reset", "--yes")
    assert result.exit_code == 0 and not root.exists()


def test_cli_reset_refuses_a_directory_that_is_not_a_devnet(tmp_path: Path) -> None:
    (tmp_path / "dn").mkdir()
    result = devnet_cli(tmp_path / "dn", "reset", "--yes")
    assert result.exit_code == 1 and "not a devnet" in result.output
    assert (tmp_path / "dn").exists()


def test_devnet_dir_from_the_environment(tmp_path: Path, created: Devnet) -> None:
    result = CliRunner().invoke(
        cli, ["devnet", "status", "-o", "json"], env={"PORCHAIN_DEVNET": str(created.root)}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["dir"] == str(created.root)


def test_dir_is_also_accepted_after_the_command(tmp_path: Path, created: Devnet) -> None:
    result = CliRunner().invoke(
        cli, ["devnet", "--dir", str(tmp_path / "elsewhere"), "status", "--dir", str(created.root)]
    )
    assert result.exit_code == 0, result.output
    assert created.nodes[0].rpc_url in result.output


# -- another network on a devnet's ports ------------------------------------------------------

FOREIGN_GENESIS = "0x" + "5e" * 32


def foreign_line(devnet: Devnet, port: int) -> str:
    return (
        f"port {port} answers for another network (genesis 0x5e5e5e5e.., chain 7), "
        f"not devnet {devnet.manifest.name}"
    )


def test_up_refuses_a_port_another_network_answers_on(created: Devnet) -> None:
    """The bug: `up` printed `2/2 nodes up` with the other network's height and exit code 0."""
    port = created.node("node2").rpc_port
    FakeNode.answers = node_answers(created, "node2", genesis_hash=FOREIGN_GENESIS, chain_id=7)
    with serving_fake_node(port):
        result = devnet_cli(created.root, "up", "--detach")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: cannot start node2: {foreign_line(created, port)}; "
        "stop that first, or run this devnet from another --dir"
    )
    assert "nodes up" not in result.output and "started" not in result.output
    assert Supervisor(created).states() == {n: ProcState(None, DOWN) for n in created.node_names}
    assert not any(created.pid_file(n).exists() for n in created.node_names)


def test_up_refuses_a_p2p_port_in_use(created: Devnet) -> None:
    port = created.node("node1").p2p_port
    with socket.socket() as holder:
        # SO_REUSEADDR: connections of an earlier devnet on this port may still be in TIME_WAIT
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(DevnetError) as refused:
            Supervisor(created).check_ports(created.node_names)
    assert str(refused.value) == (
        f"cannot start node1: its P2P port {port} is in use by another program; "
        "stop that first, or run this devnet from another --dir"
    )


def test_start_fails_when_another_network_answers_first(
    created: Devnet, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    """The race the port check cannot close: the port taken after the check, answered by another
    network while our node is still starting (it will die of `Address already in use`)."""
    start_sleeper(created, "node1", sleepers)  # our node process, alive, not serving yet
    port = created.node("node1").rpc_port
    FakeNode.answers = node_answers(created, "node1", genesis_hash=FOREIGN_GENESIS, chain_id=7)
    supervisor = Supervisor(created)
    with serving_fake_node(port), pytest.raises(DevnetError) as failed:
        supervisor.wait_ready(["node1"], timeout=30)
    assert str(failed.value) == (
        f"node1 did not start: {foreign_line(created, port)} (see `porchain devnet logs node1`)"
    )
    # and our genesis with our node's id is node1 answering: ready
    FakeNode.answers = node_answers(created, "node1")
    with serving_fake_node(port):
        supervisor.wait_ready(["node1"], timeout=30)


def test_a_restart_perturbation_on_a_taken_port_fails_and_the_run_goes_on(
    created: Devnet,
) -> None:
    port = created.node("node1").p2p_port
    restart = Perturbation("restart", at_time=0.0, nodes=("node1",))
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as above: TIME_WAIT
        holder.bind(("127.0.0.1", port))
        holder.listen()
        outcome = Perturber(created, Supervisor(created)).apply(restart)
    assert outcome.failed
    assert outcome.lines == [
        f"node1: not restarted: cannot start node1: its P2P port {port} is in use by another "
        "program; stop that first, or run this devnet from another --dir"
    ]
    assert not created.pid_file("node1").exists()


def test_devnet_up_prints_the_accounts_block(tmp_path: Path, fake_node: int) -> None:
    """Issue 17, friction 1: the dev accounts with their `$` and gREP, key files and password,
    every node's RPC, and commands that work as pasted."""
    devnet = fake_devnet(tmp_path, [fake_node, fake_node])
    FakeNode.answers = node_answers(devnet, "node1")
    states = {"node1": ProcState(11, RUNNING), "node2": ProcState(12, RUNNING)}
    status = collect_status(devnet, states, balances=True, program=".venv/bin/porchain")
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(accounts_block(status))
    text = console.export_text()
    assert "password: empty, press Enter at the prompt" in text
    assert re.search(r"alice\s+0x(aa){20}\s+1\.5\s+0\.000000007\s+\S+alice\.json", text), text
    assert f"node1  http://127.0.0.1:{fake_node}  (the accounts' node)" in text
    datadir = f"--datadir {tmp_path / 'accounts'}"
    assert f".venv/bin/porchain {datadir} tx transfer alice 1.5 --from alice --wait" in text
    assert f".venv/bin/porchain {datadir} chain account alice" in text
    assert f".venv/bin/porchain chain head --rpc http://127.0.0.1:{fake_node}" in text


@pytest.mark.parametrize(
    ("argv0", "on_path", "shown"),
    [
        (".venv/bin/porchain", None, ".venv/bin/porchain"),  # the README's install
        ("/opt/x/bin/porchain", "/opt/x/bin/porchain", "porchain"),  # activated
        ("/opt/x/bin/porchain", "/usr/bin/porchain", "/opt/x/bin/porchain"),  # another on PATH
        ("/src/porchain/__main__.py", None, "/usr/bin/python3 -m porchain"),  # python -m
    ],
)
def test_printed_commands_run_this_porchain(
    argv0: str, on_path: str | None, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invocation.shutil, "which", lambda name: on_path)
    assert invocation.program(argv0, "/usr/bin/python3") == shown
