"""report.md and its plots: each plot exactly when it has data, the numbers the report names
read back from the run's own files, a byte-identical rebuild, `porchain sim report`."""

from __future__ import annotations

import csv
import itertools
import json
import logging
import shutil
from pathlib import Path

import matplotlib
import pytest
from click.testing import CliRunner

from porchain.cli.main import cli
from porchain.sim.readings import RUN_FILES, ReportError, Thinned, read_run
from porchain.sim.report import write_report
from porchain.sim.runner import run_scenario
from porchain.sim.scenario import load_scenario

ROOT = Path(__file__).parent.parent
PLOTS = (
    "rep_share.png",
    "slashes.png",
    "offence_times.png",
    "censorship_delay.png",
    "proposal_frequency.png",
    "randao_bias.png",
)


def simulate(path: Path, out: Path, *, seed: int, slots: int) -> Path:
    run_scenario(load_scenario(path), seed=seed, slots=slots, out=out)
    return out


def events(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]


def metrics(out: Path) -> list[dict[str, str]]:
    with (out / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def plots_in(out: Path) -> set[str]:
    return {name for name in PLOTS if (out / name).exists()}


def outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".md", ".png")}


@pytest.fixture(scope="module")
def censor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("censor") / "out"
    return simulate(ROOT / "devnet/scenarios/censor.toml", out, seed=3, slots=40)


@pytest.fixture(scope="module")
def withhold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("withhold") / "out"
    return simulate(ROOT / "tests/scenarios/withhold.toml", out, seed=1, slots=40)


def copy_run(source: Path, target: Path) -> Path:
    target.mkdir()
    for name in RUN_FILES:
        shutil.copy(source / name, target / name)
    return target


# -- what each report shows ---------------------------------------------------------------------


def test_censor_report_names_the_censors_falling_share_and_the_delays(censor: Path) -> None:
    assert plots_in(censor) == {"rep_share.png", "censorship_delay.png", "proposal_frequency.png"}
    report = (censor / "report.md").read_text()
    last = metrics(censor)[-1]
    reps = {n: float(last[f"rep_{n}"]) for n in ("node1", "node2", "node3", "node4")}
    end = 100 * reps["node4"] / sum(reps.values())
    assert end < 25
    assert f"node4 falls from 25.0% to {end:.1f}%" in report
    assert "No plot: no slash in this run." in report
    assert "No plot: no reveal withheld in this run." in report
    delays = [e["delay_ms"] for e in events(censor) if e["event"] == "included"]
    censored = {tx["hash"] for e in events(censor) if e["event"] == "censored" for tx in e["txs"]}
    assert delays
    assert f"{len(censored)} censored transactions; {len(delays)} included later" in report
    assert f"at most {max(delays)} ms" in report
    assert f"{len(censored) - len(delays)} never included" in report


def test_summary_counts_slots_scheduled_and_the_report_table_shows_them(censor: Path) -> None:
    summary = json.loads((censor / "summary.json").read_text())
    rows = metrics(censor)
    for name, node in summary["nodes"].items():
        scheduled = sum(r["producer"] == name for r in rows)
        assert node["slots_scheduled"] == scheduled
        assert node["slots_scheduled"] >= node["blocks_produced"] + node["missed_slots"]
    report = (censor / "report.md").read_text()
    node4 = summary["nodes"]["node4"]
    assert f"| node4 | 1000 | {node4['rep_end']} |" in report
    assert f"sha256 | `{summary['run']['scenario_sha256']}` |" in report
    assert "--seed 3 --slots 40" in report
    assert "porchain sim report DIR" in report


def test_withholding_node_has_an_event_each_epoch_and_a_randao_plot(withhold: Path) -> None:
    withheld = [e for e in events(withhold) if e["event"] == "reveal_withheld"]
    summary = json.loads((withhold / "summary.json").read_text())
    ended = summary["run"]["slots"] // summary["run"]["epoch_slots"]
    assert [(e["epoch"], e["node"]) for e in withheld] == [(ep, "node4") for ep in range(ended)]
    assert all(float(e["penalty"]) > 0 for e in withheld)
    assert plots_in(withhold) == {"rep_share.png", "proposal_frequency.png", "randao_bias.png"}
    report = (withhold / "report.md").read_text()
    epochs = ", ".join(str(ep) for ep in range(ended))
    assert f"node4 withheld its reveal in {ended} epochs: {epochs}." in report
    assert "No plot: no censored transaction in this run." in report


def test_equivocation_report_times_detection_and_slash(tmp_path: Path) -> None:
    out = simulate(ROOT / "devnet/attacks/equivocate.toml", tmp_path / "eq", seed=1, slots=40)
    found = events(out)
    (slash,) = [e for e in found if e["event"] == "slash"]
    slot = slash["offence_slot"]
    detected = min(e["t_ms"] for e in found if e["event"] == "equivocation" and e["slot"] == slot)
    offence_ms = slot * json.loads((out / "summary.json").read_text())["run"]["slot_ms"]
    assert offence_ms <= detected <= slash["t_ms"]
    report = (out / "report.md").read_text()
    assert (
        f"| node4 | equivocation | {slot} | {detected - offence_ms} | "
        f"{slash['t_ms'] - offence_ms} |" in report
    )
    assert {"slashes.png", "offence_times.png"} <= plots_in(out)
    assert "1 slash by the last slot: node4 for equivocation" in report


def test_a_censorship_slash_is_timed_from_the_accused_blocks_verdict(
    censor: Path, tmp_path: Path
) -> None:
    """No ready scenario accuses; a jury's slash is added to a real run's events, naming one of
    its censoring blocks as a case's slash event names it (offence_block)."""
    out = copy_run(censor, tmp_path / "jury")
    verdicts = [e for e in events(censor) if e["event"] == "censored"]
    first = min(verdicts, key=lambda e: e["t_ms"])
    slash = {"event": "slash", "offender": "node4", "offence": "censorship", "block": 30}
    slash |= {"offence_block": first["block"], "rep": "10", "t_ms": 9000}
    with (out / "events.jsonl").open("a") as f:
        f.write(json.dumps(slash, sort_keys=True) + "\n")
    write_report(out)
    offence_ms = first["slot"] * json.loads((out / "summary.json").read_text())["run"]["slot_ms"]
    report = (out / "report.md").read_text()
    times = f"{first['t_ms'] - offence_ms} | {9000 - offence_ms}"
    assert f"| node4 | censorship | {first['slot']} | {times} |" in report
    assert "offence_times.png" in plots_in(out)


def test_expected_effects_open_the_report(censor: Path, tmp_path: Path) -> None:
    out = copy_run(censor, tmp_path / "expect")
    summary = json.loads((out / "summary.json").read_text())
    summary["expect"] = [
        {"text": "node4's REP share falls", "held": True},
        {"text": "node4 is slashed", "held": False},
    ]
    (out / "summary.json").write_text(json.dumps(summary))
    write_report(out)
    report = (out / "report.md").read_text()
    assert report.index("## Expected effect") < report.index("## Run")
    assert "- node4's REP share falls: **holds**" in report
    assert "- node4 is slashed: **DOES NOT HOLD**" in report
    summary["expect"] = []
    (out / "summary.json").write_text(json.dumps(summary))
    write_report(out)
    assert "The scenario states no expected effect." in (out / "report.md").read_text()


# -- determinism and the CLI ----------------------------------------------------------------------


def test_rebuild_by_cli_is_byte_identical_whatever_the_users_style(
    censor: Path, tmp_path: Path
) -> None:
    out = copy_run(censor, tmp_path / "again")
    saved = matplotlib.rcParams.copy()
    matplotlib.rcParams["lines.linewidth"] = 7.0  # a user's matplotlibrc must not leak in
    try:
        result = CliRunner().invoke(cli, ["sim", "report", str(out), "-o", "json"])
    finally:
        matplotlib.rcParams.update(saved)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["plots"] == ["rep_share.png", "censorship_delay.png", "proposal_frequency.png"]
    assert data["omitted"]["slashes.png"] == "no slash in this run"
    assert outputs(out) == outputs(censor)


def test_same_seed_gives_the_same_report_and_a_stale_plot_is_removed(
    censor: Path, tmp_path: Path
) -> None:
    again = simulate(ROOT / "devnet/scenarios/censor.toml", tmp_path / "b", seed=3, slots=40)
    assert outputs(again) == outputs(censor)
    (again / "slashes.png").write_bytes(b"left by an earlier report")
    write_report(again)
    assert not (again / "slashes.png").exists()


def test_report_generation_prints_and_logs_nothing(
    censor: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    out = copy_run(censor, tmp_path / "quiet")
    capfd.readouterr()
    with caplog.at_level(logging.INFO):
        written = write_report(out)
    assert written.plots
    assert capfd.readouterr() == ("", "")
    assert caplog.records == []


def test_report_of_a_directory_without_a_run_fails_clearly(tmp_path: Path, censor: Path) -> None:
    result = CliRunner().invoke(cli, ["sim", "report", str(tmp_path)])
    assert result.exit_code == 1
    assert "has no summary.json, metrics.csv, events.jsonl" in result.output
    bad = copy_run(censor, tmp_path / "bad")
    with (bad / "events.jsonl").open("a") as f:
        f.write("not json\n")
    with pytest.raises(ReportError, match=r"events.jsonl, line \d+: not an event"):
        read_run(bad)
    (bad / "metrics.csv").write_text("slot,fees\n1,0\n")
    with pytest.raises(ReportError, match="no 'producer' column"):
        read_run(bad)


def test_thinned_series_stays_bounded_evenly_spaced_and_keeps_the_last_point() -> None:
    series = Thinned(limit=10)
    for i in range(1000):
        series.add(i)
    points = series.series()
    assert len(points) <= 11
    assert points[-1] == 999
    steps = {b - a for a, b in itertools.pairwise(points[:-1])}
    assert steps == {series.stride}
