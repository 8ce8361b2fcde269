"""The ready scenarios of devnet/scenarios/ and their expected effects; the simulator's
perturbations and network model, each seen in a run's outputs."""

from __future__ import annotations

import collections
import csv
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from porchain.cli.main import cli
from porchain.devnet.errors import ManifestError
from porchain.devnet.manifest import parse_manifest, read_toml
from porchain.sim.expect import METRICS
from porchain.sim.runner import run_scenario
from porchain.sim.scenario import load_scenario, parse_scenario
from porchain.units import parse_amount

SCENARIOS = Path(__file__).parent.parent / "devnet" / "scenarios"
READY = sorted(SCENARIOS.glob("*.toml"))
SHORT_SLOTS = 40  # enough for every scenario's effect on the minimal preset (100 ms slots)
SLOTS = {  # scenarios whose effect takes longer, or with more nodes
    "cartel-25pct": 24,  # 8 nodes; the cartel's first blocks are already rejected
    "withhold-reveal": 64,  # equal REP: a reveal is worth withholding about one epoch in six
}
SEED = 1


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def events(path: Path, kind: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in path.read_text().splitlines()]
    return [e for e in found if e["event"] == kind]


def four_nodes(**extra: Any) -> dict[str, Any]:
    """Four equal honest producers, as a scenario's TOML gives them."""
    return {
        "name": "four",
        "preset": "minimal",
        "node": [{"name": f"n{i}", "rep": "1000"} for i in range(1, 5)],
        **extra,
    }


# -- the ready scenarios -------------------------------------------------------------------------


def test_every_attack_but_the_jury_has_a_ready_scenario() -> None:
    attacks = {p.stem for p in (SCENARIOS.parent / "attacks").glob("*.toml")}
    ready = {p.stem for p in READY}
    # censor-jury needs an operator's `porchain jud accuse`: no behaviour files an accusation;
    # relay-withhold needs relays and builders, which the simulator does not run (yet): its
    # in-process counterpart is tests/test_pbs_network.py
    assert attacks - ready == {"censor-jury", "relay-withhold"}
    assert {"honest", "censor", "last-revealer"} <= ready


@pytest.mark.parametrize("path", READY, ids=lambda p: p.stem)
def test_ready_scenario_runs_and_shows_its_expected_effect(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    header = path.read_text().split("\nname = ", 1)[0]
    assert f"porchain sim run devnet/scenarios/{path.name} " in header, "say how to run it"
    assert scenario.expect, "a ready scenario says which effect it shows ([[expect]])"
    slots = SLOTS.get(path.stem, SHORT_SLOTS)
    summary = run_scenario(scenario, seed=SEED, slots=slots, out=tmp_path)
    assert summary["run"]["slots"] == slots and len(rows(tmp_path / "metrics.csv")) == slots
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["expect"] == summary["expect"]
    assert len(summary["expect"]) == len(scenario.expect)
    failed = [e["text"] for e in summary["expect"] if not e["held"]]
    assert not failed, failed


def test_a_devnet_refuses_expectations_like_the_other_simulator_tables() -> None:
    data = read_toml(SCENARIOS / "censor-rival-votes.toml", "scenario")  # no [load]
    del data["network"]
    with pytest.raises(ManifestError, match=r"\[expect\] only the simulator can run"):
        parse_manifest(data, source="t")
    del data["expect"]
    assert parse_manifest(data, source="t").name == "censor-rival-votes"


# -- expectations --------------------------------------------------------------------------------


def test_an_expectation_that_does_not_hold_says_so(tmp_path: Path) -> None:
    expect = [
        {"metric": "rep", "change": "falls", "why": "it should not"},
        {"node": ["n1", "n2"], "metric": "rep_share", "change": "holds", "within": 5, "why": "w"},
        {"metric": "blocks_produced", "at_least": 15, "at_most": 1000, "why": "every slot"},
        {"metric": "finalized", "at_most": 3, "why": "it finalizes more"},
        {"node": "n1", "metric": "proposal_share", "at_least": 0, "why": "its slots"},
    ]
    summary = run_scenario(
        parse_scenario(four_nodes(expect=expect), source="t"), seed=2, slots=20, out=tmp_path
    )
    first, pair, produced, final, proposals = summary["expect"]
    assert not first["held"] and first["start"] == 4000 and first["end"] > 4000  # REP is minted
    assert first["text"].startswith("all nodes' REP falls (4000.00 REP -> ")
    assert first["text"].endswith("): it should not")
    assert pair["held"] and pair["text"].startswith("n1+n2's REP share holds within 5.0% (50.0%")
    assert produced["held"] and produced["text"].startswith(
        f"all nodes' produced-block count is 15 to 1000 (0 -> {produced['end']:g})"
    )
    assert produced["end"] == summary["run"]["head"]
    assert not final["held"] and final["end"] == summary["run"]["finalized"] > 3
    scheduled = [r["producer"] for r in rows(tmp_path / "metrics.csv")]
    assert proposals["start"] == 25.0  # its REP share: the fair share of slots
    assert proposals["end"] == round(100 * scheduled.count("n1") / 20, 6)


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ({"metric": "rep_share", "change": "falls", "why": "w"}, "always 100%: name the node"),
        ({"node": "n1", "metric": "rep_shares", "change": "falls", "why": "w"}, "metric must be"),
        ({"node": "n9", "metric": "rep", "change": "falls", "why": "w"}, "unknown node 'n9'"),
        ({"node": "n1", "metric": "rep", "change": "drops", "why": "w"}, "change must be one of"),
        ({"node": "n1", "metric": "rep", "why": "w"}, "give either change"),
        ({"node": "n1", "metric": "rep", "change": "falls", "at_least": 1, "why": "w"}, "either"),
        ({"node": "n1", "metric": "rep", "change": "falls"}, "say why"),
        ({"node": "n1", "metric": "rep", "change": "falls", "why": "w", "by": 3}, "unknown field"),
        ({"node": "n1", "metric": "rep", "change": "rises", "within": 1, "why": "w"}, "within"),
        ({"node": "n1", "metric": "rep", "at_least": "1", "why": "w"}, "at_least must be a number"),
        ({"node": "n1", "metric": "rep", "at_least": 5, "at_most": 2, "why": "w"}, "is above"),
        ({"node": "n1", "metric": "finalized", "at_least": 1, "why": "w"}, "leave node out"),
        ({"node": ["n1", "n1"], "metric": "slashes", "at_most": 0, "why": "w"}, "a node twice"),
        ({"node": 4, "metric": "slashes", "at_most": 0, "why": "w"}, "node is a node's name"),
    ],
)
def test_bad_expectations_are_refused_with_the_reason(expect: dict, message: str) -> None:
    with pytest.raises(ManifestError, match=message) as caught:
        parse_scenario(four_nodes(expect=[expect]), source="t.toml")
    assert str(caught.value).startswith("t.toml: expect 1")


def test_expect_must_be_tables_and_a_twin_has_no_tallies_of_its_own() -> None:
    with pytest.raises(ManifestError, match=r"expect must be \[\[expect\]\] tables"):
        parse_scenario(four_nodes(expect={"metric": "rep"}), source="t")
    data = four_nodes(expect=[{"node": "n4b", "metric": "slashes", "at_least": 1, "why": "w"}])
    data["node"].append({"name": "n4b", "twin_of": "n4"})
    with pytest.raises(ManifestError, match="n4b is a twin: its tallies are n4's"):
        parse_scenario(data, source="t")


def test_every_metric_is_named_in_the_research_guide() -> None:
    guide = (SCENARIOS.parent.parent / "docs" / "research.md").read_text()
    missing = [name for name in METRICS if f"`{name}`" not in guide]
    assert not missing


# -- perturbations and the network model ---------------------------------------------------------


def test_a_partition_stalls_finality_until_it_heals(tmp_path: Path) -> None:
    """n1 (the observer) and n2 hold half the REP: their side keeps building, nobody finalizes
    (finality needs two thirds); after the heal the others' blocks reach n1 again."""
    perturbations = [
        {"at_time": 1.5, "action": "partition", "groups": [["n1", "n2"], ["n3", "n4"]]},
        {"at_time": 3.0, "action": "heal"},
    ]
    run_scenario(
        parse_scenario(four_nodes(perturbation=perturbations), source="t"),
        seed=1,
        slots=50,
        out=tmp_path,
    )
    applied = events(tmp_path / "events.jsonl", "perturbation")
    assert [(e["t_ms"], e["what"]) for e in applied] == [
        (1500, "partition n1,n2 | n3,n4 at 1.5 s"),
        (3000, "heal all at 3 s"),
    ]
    by_slot = {int(r["slot"]): r for r in rows(tmp_path / "metrics.csv")}
    apart = [by_slot[s] for s in range(16, 30)]  # 100 ms slots: 1.5 s to 3.0 s
    assert {r["producer"] for r in apart if r["block"]} <= {"n1", "n2"}
    assert any(r["producer"] in {"n3", "n4"} and not r["block"] for r in apart)
    assert len({r["finalized"] for r in apart[-6:]}) == 1  # finality stalled
    healed = [by_slot[s] for s in range(31, 51)]
    assert any(r["producer"] in {"n3", "n4"} and r["block"] for r in healed)
    assert int(healed[-1]["finalized"]) > int(apart[-1]["finalized"])


def test_behave_turns_a_node_at_its_height(tmp_path: Path) -> None:
    """n4 turns censor at block 15: only its blocks after that are rejected."""
    turn = {
        "at_height": 15,
        "action": "behave",
        "nodes": ["n4"],
        "behaviour": "censor",
        "behaviour_args": {"rival_votes": True},
    }
    summary = run_scenario(
        parse_scenario(four_nodes(perturbation=[turn]), source="t"),
        seed=1,
        slots=40,
        out=tmp_path,
    )
    (applied,) = events(tmp_path / "events.jsonl", "perturbation")
    assert applied["height"] == 15 and applied["what"].startswith("behave n4 as censor")
    metrics = rows(tmp_path / "metrics.csv")
    n4_blocks = [r for r in metrics if r["producer"] == "n4" and r["block"]]
    assert any(int(r["block"]) < 15 for r in n4_blocks)
    rejected = [r for r in metrics if r["pool"] == "rejected"]
    assert rejected and {r["producer"] for r in rejected} == {"n4"}
    assert all(int(r["block"]) > 15 for r in rejected)
    assert summary["nodes"]["n4"]["blocks_rejected"] == len(rejected)
    censored = events(tmp_path / "events.jsonl", "censored")
    assert censored and all(e["block"] > 15 for e in censored)


def test_frame_loss_costs_blocks_and_finality(tmp_path: Path) -> None:
    """The same seed with 30% of frames lost: blocks arrive late or never, slots are missed
    and the observer finalizes less."""
    outcome = {}
    for loss in (0.0, 0.3):
        scenario = parse_scenario(four_nodes(network={"latency_ms": 20, "loss": loss}), source="t")
        outcome[loss] = run_scenario(scenario, seed=1, slots=30, out=tmp_path / str(loss))
    missed = {
        loss: sum(n["missed_slots"] for n in s["nodes"].values()) for loss, s in outcome.items()
    }
    assert missed[0.0] == 0 and missed[0.3] > 0
    assert outcome[0.3]["run"]["finalized"] < outcome[0.0]["run"]["finalized"]
    lossy = rows(tmp_path / "0.3" / "metrics.csv")
    assert any(not r["block"] for r in lossy)


def test_rep_drops_and_censorship_counts_read_the_run_files(tmp_path: Path) -> None:
    """A censor loses REP at each rejected block (its bond and vote stake): rep_drops sees it,
    and honest producers have none."""
    expect = [
        {"node": "n4", "metric": "rep_drops", "at_least": 1, "why": "rejected blocks cost"},
        {"node": ["n1", "n2", "n3"], "metric": "rep_drops", "at_most": 0, "why": "no loss"},
        {"metric": "censored_txs", "at_least": 1, "why": "the VOTEs it left out"},
        {"node": "n4", "metric": "censored_blocks", "at_least": 1, "why": "judged censored"},
    ]
    data = four_nodes(expect=expect)
    data["node"][3].update(behaviour="censor", behaviour_args={"rival_votes": True})
    summary = run_scenario(parse_scenario(data, source="t"), seed=1, slots=30, out=tmp_path)
    metrics = rows(tmp_path / "metrics.csv")
    rep = [parse_amount(r["rep_n4"]) for r in metrics]
    drops = sum(after < before for before, after in itertools.pairwise(rep))
    censor, honest, txs, blocks = summary["expect"]
    assert censor["held"] and censor["end"] == drops >= 1
    assert honest["held"] and honest["end"] == 0
    censored = events(tmp_path / "events.jsonl", "censored")
    assert txs["held"] and txs["end"] == len({t["hash"] for e in censored for t in e["txs"]})
    assert blocks["held"] and blocks["end"] == len({e["block"] for e in censored})


def test_sim_run_prints_each_expectation_and_whether_it_held(tmp_path: Path) -> None:
    (tmp_path / "two.toml").write_text(
        'name = "two"\npreset = "minimal"\n'
        '[[node]]\nname = "a"\nrep = "1000"\n[[node]]\nname = "b"\nrep = "1000"\n'
        '[[expect]]\nmetric = "slashes"\nchange = "holds"\nwhy = "nobody cheats"\n'
        '[[expect]]\nmetric = "finalized"\nat_most = 0\nwhy = "a claim that fails"\n'
    )
    result = CliRunner().invoke(
        cli,
        ["sim", "run", str(tmp_path / "two.toml"), "--slots", "12", "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 0, result.output
    assert "holds: all nodes' slash count holds (0 -> 0): nobody cheats" in result.output
    assert "DOES NOT HOLD: the run's finalized height is at most 0 (0 -> " in result.output


def test_last_revealer_choices_predict_the_schedule_they_win(tmp_path: Path) -> None:
    """Each epoch's `reveal_choice` counts the e+2 slots of the attacker's side both ways; the
    way it chose is what the observer's chain then scheduled, so `slots_gained` (withholding
    over revealing, summed) is the bias won, free of the schedule draw's noise."""
    summary = run_scenario(
        load_scenario(SCENARIOS / "last-revealer.toml"), seed=3, slots=96, out=tmp_path
    )
    epoch_slots = summary["run"]["epoch_slots"]
    side = collections.Counter(
        int(row["slot"]) // epoch_slots
        for row in rows(tmp_path / "metrics.csv")
        if row["producer"] in ("attacker", "partner")
    )
    full_epochs = 96 // epoch_slots  # slot 96 opens epoch 12: epochs 0-11 are whole
    choices = events(tmp_path / "events.jsonl", "reveal_choice")
    checked = [c for c in choices if c["epoch"] + 2 < full_epochs]
    assert len(checked) >= 6 and any(not c["revealed"] for c in checked)
    for choice in checked:
        chosen = choice["slots_revealing" if choice["revealed"] else "slots_withholding"]
        assert side[choice["epoch"] + 2] == chosen, choice
        assert choice["slots_gained"] == chosen - choice["slots_revealing"] >= 0
    attacker = summary["nodes"]["attacker"]
    assert attacker["reveal_choices"] == len(choices)
    assert attacker["slots_gained"] == sum(c["slots_gained"] for c in choices) > 0
    assert "reveal_choices" not in summary["nodes"]["partner"]
