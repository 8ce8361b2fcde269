"""`porchain sim sweep`: the grid (--param, --seeds) and its errors, the table and report of a
run, and the same sweep on a LocalCluster and on a `dask scheduler` + `dask worker` cluster
giving byte-identical files."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from porchain.cli.main import cli
from porchain.sim.grid import (
    MAX_RUNS,
    SweepError,
    build_grid,
    check_metrics,
    parse_param,
    parse_seeds,
    point_name,
)
from porchain.sim.readings import Events, OffenceTimes, event_figures
from porchain.sim.stats import interval, t_quantile
from porchain.sim.sweep import Outcome, run_point, write_table
from porchain.sim.sweep_report import write_report
from porchain.units import parse_amount
from tests.procs import wait_for

SCENARIOS = Path(__file__).parent.parent / "devnet" / "scenarios"
CENSOR = SCENARIOS / "censor.toml"
CLUSTER_DEADLINE = 180.0  # seconds for a loaded machine to start a scheduler and two workers
SWEEP_TIMEOUT = 900.0  # seconds for one sweep command of the slow tests
GRID = ("--param", "node.node4.rep=500,2000", "--seeds", "1-4", "--slots", "12")


# -- --param and --seeds -------------------------------------------------------------------------


def test_param_values_are_toml_scalars_and_a_quoted_one_keeps_its_commas() -> None:
    param = parse_param('node.node4.behaviour_args.senders=alice,"alice,bob",7,0.5,true')
    assert param.path == "node.node4.behaviour_args.senders"
    assert param.values == ("alice", "alice,bob", 7, 0.5, True)
    assert param.texts == ("alice", '"alice,bob"', "7", "0.5", "true")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("network.loss", "write NAME=V1,V2"),
        ("=1,2", "write NAME=V1,V2"),
        ("wsc..slot_ms=1", "not a dotted path"),
        ("network.loss=0,,0.1", "an empty value"),
        ("network.loss=0.1,0.1", "listed twice"),
        ('load.amount="1,2', "not closed"),
    ],
)
def test_a_bad_param_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(SweepError, match=message):
        parse_param(text)


def test_seeds_take_ranges_lists_and_mixes() -> None:
    assert parse_seeds("1-3") == (1, 2, 3)
    assert parse_seeds("7,2,1") == (1, 2, 7)
    assert parse_seeds("10-12, 3") == (3, 10, 11, 12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not N or N-M"),
        ("1-", "is not N or N-M"),
        ("a", "is not N or N-M"),
        ("-3", "is not N or N-M"),
        ("5-3", "runs backwards"),
        ("1-3,2", "seed 2 is listed twice"),
        (f"1-{MAX_RUNS + 1}", "more than 100,000 seeds"),
        (f"0-{2**64}", "a seed is at most"),
    ],
)
def test_bad_seeds_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(SweepError, match=message):
        parse_seeds(text)


# -- the grid ------------------------------------------------------------------------------------


def test_the_grid_is_the_product_in_param_order_each_point_parsed() -> None:
    params = [parse_param("node.node4.rep=52.5,2000"), parse_param("network.loss=0,0.1")]
    points = build_grid(CENSOR, params, (1, 2))
    assert [p.name for p in points] == [
        "node.node4.rep=52.5+network.loss=0",
        "node.node4.rep=52.5+network.loss=0.1",
        "node.node4.rep=2000+network.loss=0",
        "node.node4.rep=2000+network.loss=0.1",
    ]
    first, last = points[0].scenario, points[-1].scenario
    assert first.manifest.node("node4").rep == parse_amount("52.5")  # exact, not a float
    assert first.network.loss == 0 and last.network.loss == 0.1
    assert last.manifest.node("node4").rep == parse_amount("2000")
    assert last.manifest.node("node1").rep == parse_amount("1000")  # the rest as in the file


def test_behaviour_and_wsc_overrides_reach_the_scenario() -> None:
    params = [
        parse_param("node.node4.behaviour_args.senders=bob"),
        parse_param("wsc.censor_grace_ms=300"),
    ]
    (point,) = build_grid(CENSOR, params, (1,))
    assert point.scenario.manifest.node("node4").behaviour_args == ("senders=bob",)
    assert point.scenario.manifest.params.censor_grace_ms == 300


def test_an_account_override_sets_its_balance_and_keeps_its_grep(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        CENSOR.read_text().replace('bob = "1000000"', 'bob = { balance = "5", grep = "7" }')
    )
    params = [parse_param("accounts.alice=2.5"), parse_param("accounts.bob=3")]
    (point,) = build_grid(scenario, params, (1,))
    accounts = point.scenario.manifest.accounts
    assert accounts["alice"].balance == parse_amount("2.5")
    assert (accounts["bob"].balance, accounts["bob"].grep) == (parse_amount("3"), parse_amount("7"))
    (grep,) = build_grid(scenario, [parse_param("accounts.alice.grep=4")], (1,))
    assert grep.scenario.manifest.accounts["alice"].grep == parse_amount("4")


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("wsc.no_such_parameter=1", "no field 'no_such_parameter' in \\[wsc\\]"),
        ("network.jitter=1", "no field 'jitter' in \\[network\\]"),
        ("node.node9.rep=1", "no node 'node9' in the scenario"),
        ("node.node1.colour=1", "a node's field is"),
        ("accounts.zoe=1", "no account 'zoe'"),
        ("perturbation.1.at_height=5", "numbered 1 to 0"),
        ("stake=1", "not a scenario field"),
        ("network.loss=0,0.9", "loss must be a number from 0 to 0.5, got 0.9"),
        ("node.node4.behaviour_args.senders=nobody", "node node4"),
        ("wsc.epoch_slots=3", "\\[wsc\\]"),
    ],
)
def test_a_path_outside_the_schema_or_a_refused_value_fails_before_any_run(
    param: str, message: str
) -> None:
    with pytest.raises(SweepError, match=message):
        build_grid(CENSOR, [parse_param(param)], (1,))


def test_a_grid_over_the_run_bound_is_refused() -> None:
    params = [parse_param("network.loss=0,0.1"), parse_param("load.transfers_per_slot=1,2,3")]
    with pytest.raises(SweepError, match="6 points x 20,000 seeds is more than 100,000 runs"):
        build_grid(CENSOR, params, parse_seeds("1-20000"))


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("node.node4.slashes", "is run.<key>, events.<key> or nodes.<node>.<key>"),
        ("run", "is run.<key>, events.<key> or nodes.<node>.<key>"),
        ("nodes.node4", "is run.<key>, events.<key> or nodes.<node>.<key>"),
        ("nodes.node9.slashes", "no node 'node9'"),
    ],
)
def test_a_metric_that_cannot_name_a_column_is_refused(metric: str, message: str) -> None:
    check_metrics(["run.head", "nodes.*.missed_slots", "nodes.node4.rep_end"], ["node4"])
    with pytest.raises(SweepError, match=message):
        check_metrics([metric], ["node4"])


def test_point_names_are_safe_and_distinct() -> None:
    assert point_name(()) == "base"
    assert point_name((("network.loss", "0.1"),)) == "network.loss=0.1"
    quoted = point_name((("node.node4.behaviour_args.senders", '"alice,bob"'),))
    plain = point_name((("node.node4.behaviour_args.senders", "_alice_bob_"),))
    assert quoted.startswith("node.node4.behaviour_args.senders=_alice_bob_-")
    assert quoted != plain and "/" not in quoted and '"' not in quoted
    long = point_name(tuple((f"wsc.p{i}", "1" * 20) for i in range(5)))
    assert len(long) <= 80 + 9


# -- statistics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("df", "table"),  # two-sided 95% points of Student's t, from the published tables
    [(1, 12.7062), (2, 4.3027), (3, 3.1824), (4, 2.7764), (9, 2.2622), (30, 2.0423), (120, 1.9799)],
)
def test_t_quantile_matches_the_tables(df: int, table: float) -> None:
    assert t_quantile(df) == pytest.approx(table, abs=1e-4)


def test_interval_is_mean_plus_minus_t_times_the_standard_error() -> None:
    stat = interval([1.0, 2.0, 3.0, 4.0])  # mean 2.5, s = 1.2910, s/sqrt(4) = 0.6455
    assert stat.mean == 2.5 and stat.n == 4
    assert stat.half_width == pytest.approx(3.1824 * 0.645497, rel=1e-4)
    assert interval([5.0]).half_width is None


# -- one run's row, the table and the report ----------------------------------------------------


def test_a_run_flattens_to_numbers_with_the_shares_derived(tmp_path: Path) -> None:
    (point,) = build_grid(CENSOR, [], (3,))
    row = run_point(point.scenario, 3, 8, str(tmp_path / "run"))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert row["run.head"] == str(summary["run"]["head"])
    assert row["nodes.node4.rep_end"] == summary["nodes"]["node4"]["rep_end"]
    assert "run.seed" not in row and "run.scenario" not in row and "nodes.node1.address" not in row
    nodes = list(summary["nodes"])
    shares = [float(row[f"nodes.{n}.rep_share_end"]) for n in nodes]
    assert sum(shares) == pytest.approx(1, abs=1e-8)
    with (tmp_path / "run" / "metrics.csv").open(newline="") as f:
        producers = [r["producer"] for r in csv.DictReader(f)]
    for n in nodes:
        assert float(row[f"nodes.{n}.proposal_share"]) == pytest.approx(producers.count(n) / 8)
    extra = [float(row[f"nodes.{n}.extra_share"]) for n in nodes]
    assert sum(extra) == pytest.approx(0, abs=1e-8)  # slots over the REP share, net of the rest
    censored = {
        tx["hash"]
        for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()
        for tx in json.loads(line).get("txs", ())
    }
    assert row["events.censored_txs"] == str(len(censored)) != "0"
    assert row["events.offences_slashed"] == "0" and "events.to_slash_ms_mean" not in row


def test_table_and_report_list_finished_runs_and_name_the_failed(tmp_path: Path) -> None:
    params = [parse_param("network.loss=0,0.1")]
    points = build_grid(CENSOR, params, (1, 2))
    rows = {
        (i, s): run_point(points[i].scenario, s, 6, str(tmp_path / f"r{i}{s}"))
        for i in (0, 1)
        for s in (1, 2)
        if (i, s) != (1, 2)
    }
    outcomes = [Outcome(i, s, row=r) for (i, s), r in rows.items()]
    outcomes.append(Outcome(1, 2, error="OSError: disk full"))
    outcomes.sort(key=lambda o: (o.point, o.seed))
    columns = write_table(tmp_path / "sweep.csv", points, params, outcomes)
    with (tmp_path / "sweep.csv").open(newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["point"], r["network.loss"], r["seed"]) for r in table] == [
        ("network.loss=0", "0", "1"),
        ("network.loss=0", "0", "2"),
        ("network.loss=0.1", "0.1", "1"),
    ]
    write_report(
        tmp_path / "sweep.md",
        title="censor",
        command="porchain sim sweep censor.toml",
        points=points,
        seeds=2,
        slots=6,
        outcomes=outcomes,
        columns=columns,
        metrics=("run.head", "nodes.*.missed_slots", "nodes.zz"),
    )
    report = (tmp_path / "sweep.md").read_text()
    assert "    porchain sim sweep censor.toml" in report
    assert "## network.loss=0\n\nruns/network.loss=0/, n = 2" in report
    assert "runs/network.loss=0.1/, n = 1" in report and "(n = 1, no interval)" in report
    assert "| node4 | " in report and "| run.head | " in report
    assert "| nodes.node2.missed_slots | " in report
    assert "- network.loss=0.1 seed 2: OSError: disk full" in report
    assert "No column matches --metric nodes.zz." in report


def test_sweep_command_refuses_a_bad_grid_before_running(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["sim", "sweep", str(CENSOR), "--param", "wsc.nope=1", "--out", str(tmp_path / "s")],
    )
    assert result.exit_code == 1
    assert "Error: --param wsc.nope: no field 'nope' in [wsc]" in result.output
    assert not (tmp_path / "s").exists()
    both = CliRunner().invoke(
        cli, ["sim", "sweep", str(CENSOR), "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]
    )
    assert both.exit_code == 2 and "--workers sizes the local cluster" in both.output
    nowhere = CliRunner().invoke(
        cli, ["sim", "sweep", str(CENSOR), "--scheduler", "nowhere", "--out", str(tmp_path / "s")]
    )
    assert nowhere.exit_code == 1
    assert "cannot reach the Dask scheduler at nowhere: missing port" in nowhere.output
    assert not (tmp_path / "s").exists()


# -- on Dask clusters (multi-process) ------------------------------------------------------------


def sweep_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "porchain", "sim", "sweep", str(CENSOR), *args, "--quiet"]


def run_sweep(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        sweep_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=SWEEP_TIMEOUT
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dask_cluster(logs: Path, workers: int) -> Iterator[str]:
    """`dask scheduler` and `dask worker --nworkers N --nthreads 1` on loopback, polled until
    every worker has joined; both process groups stopped when done, passed or failed."""
    from distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    procs: list[subprocess.Popen[bytes]] = []

    def start(*cmd: str, log: str) -> None:
        with (logs / log).open("ab") as out:
            procs.append(
                subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            )

    def joined() -> bool:
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"a dask process exited early: see {logs}")
        try:
            with Client(address, timeout="2s") as client:
                return len(client.scheduler_info()["workers"]) >= workers
        except OSError:
            return False

    try:
        port = address.rsplit(":", 1)[1]
        start(dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard",
              "--dashboard-address", "127.0.0.1:0", log="scheduler.log")  # fmt: skip
        start(dask, "worker", address, "--nworkers", str(workers), "--nthreads", "1",
              "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "60",
              log="worker.log")  # fmt: skip
        wait_for(joined, f"{workers} dask workers to join", timeout=CLUSTER_DEADLINE)
        yield address
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


@pytest.mark.slow
def test_a_local_cluster_and_a_dask_scheduler_write_the_same_sweep(tmp_path: Path) -> None:
    local = run_sweep(tmp_path / "local", *GRID, "--workers", "2", "--out", "sweep")
    assert local.returncode == 0, local.stderr
    with dask_cluster(tmp_path, workers=2) as address:
        remote = run_sweep(tmp_path / "remote", *GRID, "--scheduler", address, "--out", "sweep")
    assert remote.returncode == 0, remote.stderr
    a, b = tmp_path / "local" / "sweep", tmp_path / "remote" / "sweep"
    assert (a / "sweep.csv").read_bytes() == (b / "sweep.csv").read_bytes()
    assert (a / "sweep.md").read_bytes() == (b / "sweep.md").read_bytes()
    with (a / "sweep.csv").open(newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["node.node4.rep"], r["seed"]) for r in table] == [
        (rep, str(seed)) for rep in ("500", "2000") for seed in (1, 2, 3, 4)
    ]
    for r in table:  # each row is its run's summary
        summary = json.loads((a / "runs" / r["point"] / r["seed"] / "summary.json").read_text())
        assert r["run.head"] == str(summary["run"]["head"])
        assert r["nodes.node4.rep_start"] == r["node.node4.rep"]
        assert r["nodes.node4.rep_end"] == summary["nodes"]["node4"]["rep_end"]
    report = (a / "sweep.md").read_text()
    assert "--param node.node4.rep=500,2000 --seeds 1-4 --slots 12 --out sweep" in report
    assert "## node.node4.rep=2000\n\nruns/node.node4.rep=2000/, n = 4" in report


@pytest.mark.slow
def test_a_failed_run_is_named_and_the_others_still_finish(tmp_path: Path) -> None:
    blocked = tmp_path / "s" / "sweep" / "runs" / "base" / "2"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the run's directory should go")
    done = run_sweep(tmp_path / "s", "--seeds", "1-2", "--slots", "6", "--workers", "1",
                     "--out", "sweep", "-o", "json")  # fmt: skip
    assert done.returncode == 1
    assert "run base seed 2 failed: FileExistsError" in done.stderr
    result = json.loads(done.stdout)
    assert result["finished"] == 1 and result["failed"][0]["seed"] == 2
    with (tmp_path / "s" / "sweep" / "sweep.csv").open(newline="") as f:
        assert [r["seed"] for r in csv.DictReader(f)] == ["1"]
    assert "- base seed 2: FileExistsError" in (tmp_path / "s" / "sweep" / "sweep.md").read_text()


def test_event_figures_are_counts_and_means_over_what_happened() -> None:
    events = Events(censored_txs={"0xa", "0xb", "0xc"}, included={"0xa": 300, "0xb": 500})
    offences = [
        OffenceTimes("node4", "equivocation", 5, 500, 510, 1200),
        OffenceTimes("node4", "equivocation", 9, 900, None, 1700),  # detection left out
    ]
    assert event_figures(events, offences) == {
        "censored_txs": 3,
        "censored_included": 2,
        "censored_delay_ms_mean": 400.0,
        "censored_delay_ms_max": 500,
        "offences_slashed": 2,
        "to_detection_ms_mean": 10.0,
        "to_slash_ms_mean": 750.0,
    }
    assert event_figures(Events(), []) == {
        "censored_txs": 0,
        "censored_included": 0,
        "offences_slashed": 0,
    }
