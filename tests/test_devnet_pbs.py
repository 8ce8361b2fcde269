"""Relays and builders in a devnet manifest: checked at load, given keys, ports and `$`, and
started with the right command lines (the processes themselves: tests/test_e2e_pbs.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from porchain.devnet.errors import ManifestError
from porchain.devnet.layout import Devnet, create_devnet
from porchain.devnet.manifest import parse_manifest
from porchain.devnet.processes import command
from porchain.genesis import Genesis
from porchain.sim.scenario import parse_scenario
from porchain.units import parse_amount

REPO = Path(__file__).resolve().parents[1]
BASE = """
[[node]]
name = "node1"
relays = ["relay1"]
[[node]]
name = "node2"
[[relay]]
name = "relay1"
behaviour = "censor"
behaviour_args = { senders = "alice" }
[[builder]]
name = "builder1"
node = "node2"
pay = "0.5"
[accounts]
alice = "10"
"""


def manifest(text: str = BASE):
    return parse_manifest(tomllib.loads(text), source="test")


def test_relays_and_builders_round_trip() -> None:
    loaded = manifest()
    assert [(s.kind, s.name, s.node) for s in loaded.services] == [
        ("relay", "relay1", "node1"),
        ("builder", "builder1", "node2"),
    ]
    builder = loaded.service("builder1")
    assert (
        builder is not None and builder.relays == ("relay1",) and builder.pay == parse_amount("0.5")
    )
    assert parse_manifest(loaded.to_dict(), source="again").to_dict() == loaded.to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('relays = ["relay1"]', 'relays = ["nope"]'),
            "node node1: relays: no [[relay]] named nope",
        ),
        (('name = "builder1"', 'name = "node2"'), "the name 'node2' is taken"),
        (('behaviour = "censor"', 'behaviour = "lie"'), "unknown behaviour 'lie'"),
        (('senders = "alice"', 'after = "3"'), "censor takes no argument 'after'"),
        (('node = "node2"', 'node = "node9"'), "node 'node9' is not a node of this devnet"),
        (('pay = "0.5"', "pay = 0.5"), "write amounts as strings"),
        (('pay = "0.5"', "relays = []"), "a builder needs a [[relay]]"),
        (('name = "builder1"', 'name = "b1"\nfoo = 1'), "unknown field(s) foo"),
    ],
)
def test_mistakes_are_one_clear_line(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ManifestError) as error:
        manifest(BASE.replace(*change))
    assert message in str(error.value)


def test_a_devnet_gives_them_keys_ports_funds_and_command_lines(tmp_path: Path) -> None:
    devnet = create_devnet(tmp_path / "d", manifest())
    again = Devnet.load(devnet.root)
    assert again.services == devnet.services
    relay, builder = devnet.services
    assert relay.port > 0 and builder.port == 0
    assert devnet.process_names == ["node1", "node2", "relay1", "builder1"]
    alloc = Genesis.load(devnet.genesis_file).to_json()["alloc"]
    assert alloc[builder.address]["balance"] == "100000"
    node1, node2 = command(devnet, "node1"), command(devnet, "node2")
    assert node1[node1.index("--relay") + 1] == relay.url and "--builder-api" in node1
    assert "--relay" not in node2 and "--builder-api" in node2  # the builder builds on it
    relay_cmd = command(devnet, "relay1")
    assert relay_cmd[relay_cmd.index("--port") + 1] == str(relay.port)
    assert relay_cmd[relay_cmd.index("--rpc") + 1] == devnet.node("node1").rpc_url
    assert f"senders={devnet.accounts['alice']}" in relay_cmd  # a name stands for its address
    builder_cmd = command(devnet, "builder1")
    assert builder_cmd[builder_cmd.index("--relay") + 1] == relay.plain_url
    assert builder_cmd[builder_cmd.index("--pay") + 1] == "0.5"
    assert builder_cmd[builder_cmd.index("--rpc") + 1] == devnet.node("node2").rpc_url


def test_the_shipped_pbs_manifests_load() -> None:
    for path in (REPO / "devnet/pbs.toml", REPO / "devnet/attacks/relay-withhold.toml"):
        assert len(parse_manifest(tomllib.loads(path.read_text()), source=str(path)).services) == 3


def test_the_simulator_refuses_them_clearly() -> None:
    with pytest.raises(ManifestError, match=r"\[\[relay\]\] and \[\[builder\]\] are processes"):
        parse_scenario(tomllib.loads(BASE), source="s")
