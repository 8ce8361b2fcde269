"""`porchain sim`: scenarios, reproducible runs of the real nodes on virtual time, outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from porchain.cli.main import cli
from porchain.devnet.errors import ManifestError
from porchain.devnet.manifest import MAX_NODES, load_manifest, parse_manifest
from porchain.sim.runner import link_latency, run_scenario
from porchain.sim.scenario import load_scenario, parse_scenario
from porchain.units import parse_amount
from tests.netsim import node_salts, simulation

SCENARIOS = Path(__file__).parent.parent / "devnet" / "scenarios"
FILES = ("metrics.csv", "events.jsonl", "summary.json")


def run(name: str, tmp_path: Path, *, seed: int, slots: int, out: str = "out", **kw) -> dict:
    return run_scenario(
        load_scenario(SCENARIOS / f"{name}.toml"), seed=seed, slots=slots, out=tmp_path / out, **kw
    )


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def small(**extra: object) -> dict:
    """A two-node scenario as TOML would give it."""
    return {
        "name": "small",
        "preset": "minimal",
        "node": [{"name": "a", "rep": "1000"}, {"name": "b", "rep": "1000"}],
        "accounts": {"alice": "1000"},
        **extra,
    }


# -- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_another_run(tmp_path: Path) -> None:
    run("censor", tmp_path, seed=7, slots=30, out="first")
    run("censor", tmp_path, seed=7, slots=30, out="second")
    run("censor", tmp_path, seed=8, slots=30, out="third")
    for name in FILES:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()
    for name in ("metrics.csv", "summary.json"):
        assert (tmp_path / "first" / name).read_bytes() != (tmp_path / "third" / name).read_bytes()


def test_link_delays_are_drawn_once_per_link_from_the_seed() -> None:
    delay = link_latency(1, 20, 10)
    again = link_latency(1, 20, 10)
    links = [(f"n{i}", f"n{j}") for i in range(4) for j in range(4) if i != j]
    drawn = [delay(a, b) for a, b in links]
    assert drawn == [again(a, b) for a, b in links]
    assert all(0.010 <= d <= 0.030 for d in drawn)
    assert len(set(drawn)) == len(links)
    assert drawn != [link_latency(2, 20, 10)(a, b) for a, b in links]


async def test_netsim_nodes_draw_beacon_and_jury_salts_from_their_seed(autojump_clock) -> None:
    from tests.netsim import network_genesis

    async with simulation(network_genesis(1)) as sim:
        node = await sim.start_node(0)
        (juror,) = [p for p in node.plugins if p.name == "judicial-jurors"]
        assert juror.new_salt(5) == node_salts(0)("judicial-jurors")(5)
        assert node.beacon_duty.new_salt(3) == node_salts(0)("beacon")(3)


# -- the ready scenarios -------------------------------------------------------------------------


def test_honest_baseline_rejects_no_block(tmp_path: Path) -> None:
    summary = run("honest", tmp_path, seed=1, slots=40)
    metrics = rows(tmp_path / "out" / "metrics.csv")
    assert [int(r["slot"]) for r in metrics] == list(range(1, 41))
    assert summary["run"]["head"] >= 38 and summary["run"]["transfers_sent"] == 80
    for node in summary["nodes"].values():
        assert node["blocks_rejected"] == 0 and node["slashes"] == 0
        assert parse_amount(node["rep_end"]) > parse_amount(node["rep_start"])
    assert sum(n["blocks_produced"] for n in summary["nodes"].values()) == summary["run"]["head"]
    assert {r["pool"] for r in metrics[:-5]} == {"accepted"}
    assert not [e for e in events(tmp_path / "out" / "events.jsonl") if e["event"] == "censored"]


def test_censor_loses_rep_while_the_honest_gain_and_its_victims_wait(tmp_path: Path) -> None:
    summary = run("censor", tmp_path, seed=1, slots=80)
    nodes = summary["nodes"]
    censor = nodes.pop("node4")
    assert censor["blocks_rejected"] > 0
    assert parse_amount(censor["rep_end"]) < parse_amount(censor["rep_start"])
    for node in nodes.values():
        assert node["blocks_rejected"] == 0
        assert parse_amount(node["rep_end"]) > parse_amount(node["rep_start"])
    found = events(tmp_path / "out" / "events.jsonl")
    censored = [e for e in found if e["event"] == "censored"]
    assert censored and {e["producer"] for e in censored} == {censor["address"]}
    included = [e for e in found if e["event"] == "included"]
    assert included and all(e["delay_ms"] > 0 for e in included)
    metrics = rows(tmp_path / "out" / "metrics.csv")
    rejected = [r for r in metrics if r["pool"] == "rejected"]
    assert rejected and all(r["producer"] == "node4" for r in rejected)
    assert all(parse_amount(r["votes_against"]) > 0 for r in rejected)


def test_a_killed_node_misses_its_slots(tmp_path: Path) -> None:
    scenario = parse_scenario(
        small(perturbation=[{"at_time": 1.0, "action": "kill", "nodes": ["b"]}]), source="t"
    )
    summary = run_scenario(scenario, seed=3, slots=40, out=tmp_path)
    assert summary["nodes"]["b"]["missed_slots"] > 0 and summary["nodes"]["a"]["missed_slots"] == 0
    (applied,) = [e for e in events(tmp_path / "events.jsonl") if e["event"] == "perturbation"]
    assert applied["what"] == "kill b at 1 s" and applied["t_ms"] == 1000


def test_events_are_capped_and_the_rest_counted(tmp_path: Path) -> None:
    summary = run("censor", tmp_path, seed=1, slots=40, max_events=2)
    assert len(events(tmp_path / "out" / "events.jsonl")) == 2
    assert summary["run"]["events_written"] == 2 and summary["run"]["events_dropped"] > 0


# -- scenario files ------------------------------------------------------------------------------


def test_a_devnet_refuses_the_simulator_models(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"\[load\], \[network\] only the simulator"):
        load_manifest(SCENARIOS / "honest.toml")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"network": {"latency": 5}}, r"\[network\]: unknown field\(s\) latency"),
        ({"network": {"latency_ms": 5, "link_spread_ms": 6}}, "link_spread_ms must be"),
        ({"network": {"loss": 0.9}}, "loss must be a number from 0 to 0.5"),
        ({"load": {"senders": ["mallory"]}}, "senders mallory are not dev accounts"),
        ({"load": {"transfers_per_slot": -1}}, "transfers_per_slot is 0 to 1000"),
        ({"load": {"amount": 1}}, "amount is a string"),
        (
            {"perturbation": [{"at_height": 3, "action": "pause", "nodes": ["a"]}]},
            "the simulator cannot pause a node",
        ),
    ],
)
def test_the_simulator_refuses_what_it_cannot_run(extra: dict, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_scenario(small(**extra), source="t")


def test_a_scenario_may_have_more_nodes_than_a_devnet() -> None:
    many = small(node=[{"name": f"n{i}", "rep": "1000"} for i in range(MAX_NODES + 1)])
    assert len(parse_scenario(many, source="t").manifest.nodes) == MAX_NODES + 1
    with pytest.raises(ManifestError, match=f"at most {MAX_NODES} nodes"):
        parse_manifest(many, source="t")


def test_sim_run_command_writes_the_files_and_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "sim",
            "run",
            str(SCENARIOS / "honest.toml"),
            "--seed",
            "2",
            "--slots",
            "12",
            "--out",
            str(tmp_path / "o"),
            "--quiet",
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["run"]["seed"] == 2 and data["run"]["slots"] == 12
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["nodes"] == data["nodes"]
    assert all((tmp_path / "o" / name).is_file() for name in FILES)


def test_sim_run_command_names_a_bad_scenario(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('name = "bad"\n[[node]]\nname = "a"\n[network]\nloss = 2\n')
    result = CliRunner().invoke(cli, ["sim", "run", str(tmp_path / "bad.toml"), "--quiet"])
    assert result.exit_code == 1
    assert "loss must be a number from 0 to 0.5, got 2" in result.output
