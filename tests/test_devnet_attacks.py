"""Behaviours on a devnet (issue 11): manifests, Twins, dev_setBehaviour, the `behave`
perturbation and the block records `devnet report` reads."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from rich.console import Console

from porchain.behaviours import make_behaviour
from porchain.cli.devnet_view import report_view
from porchain.clock import SlotClock
from porchain.crypto.keys import to_checksum_address
from porchain.devnet.errors import ManifestError
from porchain.devnet.layout import PRODUCER_KEY, create_devnet
from porchain.devnet.manifest import load_manifest, parse_manifest
from porchain.devnet.perturb import Perturber
from porchain.devnet.processes import Supervisor, node_command
from porchain.devnet.report import collect_report
from porchain.node import Node, NodeConfig
from porchain.rpc.consensus import ConsensusApi
from porchain.rpc.errors import INVALID_PARAMS, InvalidParams
from tests.factories import PRODUCER, new_chain
from tests.netsim import PRODUCER_KEYS, network_genesis, simulation
from tests.test_rpc import Client

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = sorted([*(REPO / "devnet").glob("*.toml"), *(REPO / "devnet/attacks").glob("*.toml")])
ATTACK_SCENARIOS = {
    "censor-jury",
    "censor-rival-votes",
    "censor-sender",
    "lazy-voter",
    "offline",
    "twins",
}


def manifest(**node4: Any) -> dict[str, Any]:
    nodes = [{"name": f"node{i}"} for i in range(1, 4)] + [{"name": "node4", **node4}]
    return {"name": "m", "preset": "minimal", "node": nodes}


# -- manifests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_manifest_loads_and_round_trips(path: Path) -> None:
    loaded = load_manifest(path)
    assert parse_manifest(loaded.to_dict(), source="again").to_dict() == loaded.to_dict()


def test_attack_scenarios_say_what_they_show_and_how_to_run_them() -> None:
    attacks = {p.stem: p for p in MANIFESTS if p.parent.name == "attacks"}
    assert set(attacks) >= ATTACK_SCENARIOS
    for name, path in attacks.items():
        header = path.read_text().split("\nname = ")[0]
        assert "What it shows" in header and "What to look at" in header, name
        assert f"up --manifest devnet/attacks/{name}.toml" in header, name
        assert "report" in header, name


def test_node_behaviour_args_from_toml_scalars() -> None:
    text = """
    name = "t"
    [[node]]
    name = "node1"
    [[node]]
    name = "node2"
    behaviour = "censor"
    [node.behaviour_args]
    senders = ["alice", "node1"]
    rival_votes = true
    fraction = 0.5
    seed = 7
    """
    spec = parse_manifest(tomllib.loads(text), source="t").node("node2")
    assert spec.behaviour == "censor"
    assert spec.behaviour_args == (
        "senders=alice,node1",
        "rival_votes=true",
        "fraction=0.5",
        "seed=7",
    )


@pytest.mark.parametrize(
    ("node4", "message"),
    [
        ({"behaviour": "sabotage"}, "node node4: unknown behaviour 'sabotage'"),
        ({"behaviour": "censor"}, "node node4: censor needs a target"),
        (
            {"behaviour": "censor", "behaviour_args": {"senders": "nobody"}},
            "node node4: censor senders (addresses)",
        ),
        (
            {"behaviour": "censor", "behaviour_args": {"speed": "1"}},
            "censor takes no argument 'speed'",
        ),
        ({"behaviour_args": {"fraction": "1"}}, "node node4: behaviour_args without a behaviour"),
        ({"behaviour": 3}, "node node4: behaviour must be a name"),
        (
            {"behaviour": "censor", "behaviour_args": {"senders": {"a": 1}}},
            "behaviour_args.senders: expected a string",
        ),
        ({"twin_of": "node9"}, "node node4: twin_of 'node9' must name a node listed before it"),
        ({"twin_of": "node1", "rep": "5"}, "takes no rep"),
    ],
)
def test_bad_behaviours_and_twins_are_refused_naming_the_node(
    node4: dict[str, Any], message: str
) -> None:
    with pytest.raises(ManifestError, match=r"^m: ") as refused:
        parse_manifest(manifest(**node4), source="m")
    assert message in str(refused.value)


def test_a_twin_of_a_twin_is_refused() -> None:
    data = manifest(twin_of="node1")
    data["node"].append({"name": "node5", "twin_of": "node4"})
    with pytest.raises(ManifestError, match="'node4' is a twin itself: name 'node1'"):
        parse_manifest(data, source="m")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"action": "behave", "behaviour": "honest"}, "nodes must name at least one node"),
        ({"action": "behave", "nodes": ["node1"]}, "say which behaviour"),
        (
            {
                "action": "behave",
                "nodes": ["node1"],
                "behaviour": "offline",
                "behaviour_args": {"from_slot": "soon"},
            },
            "perturbation 1 (behave): offline from_slot (slot): expected an integer",
        ),
        (
            {"action": "kill", "nodes": ["node1"], "behaviour": "honest"},
            "only a behave perturbation takes a behaviour",
        ),
    ],
)
def test_bad_behave_perturbations_are_refused(entry: dict[str, Any], message: str) -> None:
    data = {**manifest(), "perturbation": [{"at_height": 5, **entry}]}
    with pytest.raises(ManifestError) as refused:
        parse_manifest(data, source="m")
    assert message in str(refused.value)


# -- a created devnet ----------------------------------------------------------------------------


def test_twin_runs_its_originals_key_with_its_own_identity_and_no_allocation(
    tmp_path: Path,
) -> None:
    devnet = create_devnet(tmp_path / "d", load_manifest(REPO / "devnet/attacks/twins.toml"))
    original, twin = devnet.node("node4"), devnet.node("node4-twin")
    assert twin.address == original.address
    assert twin.node_id != original.node_id
    assert (twin.rpc_port, twin.p2p_port) != (original.rpc_port, original.p2p_port)
    for name in ("node4", "node4-twin"):
        key_file = devnet.datadir(name) / "keystore" / f"{PRODUCER_KEY}.json"
        assert json.loads(key_file.read_text())["address"].lower() in original.address.lower()
    alloc = json.loads(devnet.genesis_file.read_text())["alloc"]
    assert len(alloc) == 4 + len(devnet.accounts)  # the twin's account is node4's
    assert devnet.node_by_address()[original.address.lower()] == "node4"
    command = node_command(devnet, "node4-twin")
    assert str(devnet.datadir("node4-twin")) in command and "--behaviour" not in command


def test_node_command_passes_the_behaviour_with_names_resolved(tmp_path: Path) -> None:
    manifest_ = load_manifest(REPO / "devnet/attacks/censor-sender.toml")
    devnet = create_devnet(tmp_path / "d", manifest_)
    command = node_command(devnet, "node4")
    at = command.index("--behaviour")
    assert command[at : at + 4] == [
        "--behaviour",
        "censor",
        "--behaviour-arg",
        f"senders={devnet.accounts['alice']}",
    ]
    assert "--dev-rpc" in command
    assert "--behaviour" not in node_command(devnet, "node1")


class CallLog(Perturber):
    """The RPC calls a perturbation makes, in place of making them (tests/test_devnet.py
    does the same for dev_partition; dev_setBehaviour itself is tested on a real node below)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.calls: list[tuple[str, str, tuple[object, ...]]] = []

    def _call(self, name: str, out: Any, method: str, *params: object) -> bool:
        self.calls.append((name, method, params))
        return True


def test_behave_sends_dev_set_behaviour_with_addresses(tmp_path: Path) -> None:
    data = {
        **manifest(),
        "perturbation": [
            {
                "at_height": 5,
                "action": "behave",
                "nodes": ["node2", "node3"],
                "behaviour": "censor",
                "behaviour_args": {"senders": "bob,node1"},
            }
        ],
    }
    devnet = create_devnet(tmp_path / "d", parse_manifest(data, source="m"))
    perturber = CallLog(devnet, Supervisor(devnet))
    outcome = perturber.apply(devnet.manifest.perturbations[0])
    senders = f"senders={devnet.accounts['bob']},{devnet.node('node1').address}"
    assert perturber.calls == [
        (name, "dev_setBehaviour", ("censor", [senders])) for name in ("node2", "node3")
    ]
    assert outcome.lines == [
        "node2: behaviour censor senders=bob,node1",
        "node3: behaviour censor senders=bob,node1",
    ]
    assert perturber.behaviours["node2"] is devnet.manifest.perturbations[0]


# -- dev_setBehaviour on a real node -------------------------------------------------------------


async def serve(nursery: trio.Nursery, *, dev_rpc: bool) -> tuple[Node, Client]:
    from tests.factories import new_chain

    chain = new_chain()
    state = chain.state()
    clock = SlotClock(state.chain.genesis_time_ms, state.params.slot_ms)
    config = NodeConfig(rpc_port=0, produce=False, dev_rpc=dev_rpc)
    node = Node(chain, clock, key=PRODUCER, config=config)
    await nursery.start(node.run)
    assert node.rpc_url is not None
    return node, Client(node.rpc_url)


async def test_dev_set_behaviour_switches_and_refuses_bad_input(nursery: trio.Nursery) -> None:
    node, client = await serve(nursery, dev_rpc=True)
    target = to_checksum_address(PRODUCER_KEYS[0].address)
    info = await client.call("dev_setBehaviour", "censor", [f"senders={target}", "fraction=0.5"])
    assert info["name"] == "censor" and info["args"]["senders"] == [target]
    assert (await client.call("por_nodeInfo"))["behaviour"] == info
    for params, message in [
        (("sabotage",), "unknown behaviour 'sabotage'"),
        (("censor", ["fraction=2"]), "censor fraction (number 0..1)"),
        (("censor", "fraction=1"), "args must be a list"),
        (("censor", ["x=1"] * 33), "args must be a list of at most 32"),
        ((7,), "name must be a behaviour's name"),
        (("x" * 100,), "name must be a behaviour's name"),
    ]:
        error = await client.error("dev_setBehaviour", *params)
        assert error["code"] == INVALID_PARAMS and message in error["message"]
    assert (await client.call("por_nodeInfo"))["behaviour"] == info  # nothing changed
    assert (await client.call("dev_setBehaviour", "honest"))["name"] == "honest"
    assert node.behaviour.name == "honest"


async def test_dev_set_behaviour_needs_dev_rpc(nursery: trio.Nursery) -> None:
    node, client = await serve(nursery, dev_rpc=False)
    error = await client.error("dev_setBehaviour", "lazy_voter")
    assert error["code"] == -32601
    assert node.behaviour.name == "honest"


# -- the block records a report reads ------------------------------------------------------------


async def test_block_records_show_producers_missed_slots_and_verdicts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    away, back = 12, 40
    censor, quiet = PRODUCER_KEYS[2].address, PRODUCER_KEYS[3].address
    async with simulation(network_genesis(4)) as sim:
        for i in range(2):
            await sim.start_node(i)
        await sim.start_node(2, behaviour=make_behaviour("censor", ["rival_votes=true"]))
        offline = make_behaviour("offline", [f"from_slot={away}", f"until_slot={back}"])
        await sim.start_node(3, behaviour=offline)
        observer = sim.nodes[0]
        while observer.chain.head.slot < back + 8:
            await trio.sleep(0.1)
        api = ConsensusApi(observer)
        records, cursor = [], 1
        while cursor is not None:
            page = api.por_getBlockRecords(cursor, 16)
            records += page["records"]
            cursor = page["next"]
    blocks = list(observer.chain.iter_canonical(1))
    assert [r["number"] for r in records] == [b.number for b in blocks]
    assert [r["producer"] for r in records] == [
        to_checksum_address(b.header.producer) for b in blocks
    ]
    missed = [m for r in records for m in r["missed"]]
    by_quiet = [m["slot"] for m in missed if m["producer"] == to_checksum_address(quiet)]
    # its slots in the window until the ASC releases it (after 4 in a row), none outside
    assert by_quiet and all(away <= slot < back for slot in by_quiet)
    filled = {b.slot for b in blocks}
    assert not {m["slot"] for m in missed} & filled
    censor_records = [r for r in records if r["producer"] == to_checksum_address(censor)]
    against = [r for r in censor_records if r["verdict"] and r["verdict"]["verdict"] == "against"]
    kinds = {tx["kind"] for r in against for tx in r["verdict"]["censored"]}
    # a VOTE left out takes its sender's later transactions with it (a COMMIT or REVEAL)
    assert "VOTE" in kinds and kinds <= {"VOTE", "COMMIT", "REVEAL"}
    honest_verdicts = [
        r["verdict"] for r in records if r["producer"] != to_checksum_address(censor)
    ]
    assert all(v is None or v["verdict"] != "against" for v in honest_verdicts)


def test_block_records_refuse_a_bad_range() -> None:
    class Bare:
        chain = new_chain()

    api = ConsensusApi(Bare())  # type: ignore[arg-type]
    assert api.por_getBlockRecords(1, 5) == {"head": 0, "records": [], "next": None}
    for first, count in [(0, 1), (1, 0), (1, 65), ("x", 1)]:
        with pytest.raises(InvalidParams):
            api.por_getBlockRecords(first, count)


def test_report_of_a_stopped_devnet_lists_its_nodes_and_their_twins(tmp_path: Path) -> None:
    devnet = create_devnet(tmp_path / "d", load_manifest(REPO / "devnet/attacks/twins.toml"))
    report = collect_report(devnet, {})
    assert report["source"] is None and report["producers"] == []
    assert [(n["name"], n["state"], n["twin_of"]) for n in report["nodes"]][-2:] == [
        ("node4", "down", None),
        ("node4-twin", "down", "node4"),
    ]
    console = Console(file=io.StringIO(), width=200)
    console.print(report_view(report))
    text = console.file.getvalue()
    assert "no node answers, nothing to report" in text and "twin of node4" in text
