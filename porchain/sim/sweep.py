"""A sweep: every (grid point, seed) run of a scenario in parallel on Dask, one table out.

Each run is a task (`run_point`): porchain.sim.runner.run_scenario into
`DIR/runs/<point>/<seed>/`, returning its summary flattened to numbers as text (`run.head`,
`nodes.node4.rep_end`, ...) plus derived per-node columns: `rep_share_end`, `proposal_share`
(slots the node was scheduled for / slots), `extra_share` (that less its mean REP share over the
run's slots) and, for a node that chose its reveals, `gained_share` (the slots its choices won
its side / slots); and the events' figures (`events.censored_delay_ms_mean`, ...). A worker
holds one thread (`threads_per_worker=1`): a run seeds trio's scheduler RNG, which is process-
global, so two runs in one process at once would draw from each other's stream. The task
computes everything the table needs from the run itself, so the table is the same whichever
cluster ran it, and on a cluster of many machines only DIR/runs stays on the worker's disk.
(This module imports `distributed`, a second's work: the CLI imports it only for `sim sweep`.)
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster, as_completed

from porchain.sim.grid import Param, Point, SweepError
from porchain.sim.readings import RunFiles, event_figures, read_run, slashed_offences
from porchain.sim.runner import run_scenario
from porchain.sim.scenario import Scenario

NODE_LOGGERS = ("porchain", "judicial", "governance")
SHARE_DIGITS = Decimal("1e-9")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
LOCAL_HTTP = "127.0.0.1:0"  # the scheduler's HTTP routes: a free loopback port, never 8787
CONNECT_TIMEOUT = "30s"  # to reach a --scheduler
WORKERS_TIMEOUT = 60  # seconds to wait for the first worker of a --scheduler's cluster


@dataclass(frozen=True)
class Outcome:
    """One finished run: its place in the grid and its row (column -> number as text), or the
    error it raised."""

    point: int  # index into the grid
    seed: int
    row: dict[str, str] | None = None
    error: str | None = None


def run_dir(out: Path, point: Point, seed: int) -> Path:
    return out / "runs" / point.name / str(seed)


def run_point(scenario: Scenario, seed: int, slots: int, out: str) -> dict[str, str]:
    """The task a worker runs: one simulation, its summary flattened (see the module doc)."""
    for name in NODE_LOGGERS:  # the nodes' lines, times the nodes, times the runs: too many;
        logging.getLogger(name).setLevel(logging.ERROR)  # what a run shows is in its files
    run_scenario(scenario, seed=seed, slots=slots, out=Path(out))
    return flatten(read_run(Path(out)), slots)


def flatten(run: RunFiles, slots: int) -> dict[str, str]:
    """The summary's numbers as `section.key` (`nodes.<name>.key`) columns, as text, the
    derived shares and the events' figures (`events.<key>`)."""
    summary = run.summary
    row: dict[str, str] = {}
    for key, value in sorted(summary["run"].items()):
        text = number_text(value)
        if key != "seed" and text is not None:
            row[f"run.{key}"] = text
    nodes = summary["nodes"]
    rep = {name: Decimal(facts["rep_end"]) for name, facts in nodes.items()}
    total = sum(rep.values()) or Decimal(1)
    metrics = run.metrics
    mean_share = dict(zip(metrics.nodes, metrics.mean_share(), strict=True))
    scheduled = dict(zip(metrics.nodes, metrics.scheduled, strict=True))
    for name, facts in nodes.items():
        for key, value in sorted(facts.items()):
            text = number_text(value)
            if text is not None:
                row[f"nodes.{name}.{key}"] = text
        proposal_share = Decimal(scheduled.get(name, 0)) / slots
        row[f"nodes.{name}.rep_share_end"] = _share(rep[name] / total)
        row[f"nodes.{name}.proposal_share"] = _share(proposal_share)
        if name in mean_share:
            row[f"nodes.{name}.extra_share"] = _share(proposal_share - Decimal(mean_share[name]))
        if "slots_gained" in facts:
            row[f"nodes.{name}.gained_share"] = _share(Decimal(facts["slots_gained"]) / slots)
    for key, value in event_figures(run.events, slashed_offences(run)).items():
        row[f"events.{key}"] = repr(value)
    return row


def _share(value: Decimal) -> str:
    """Fixed-point, SHARE_DIGITS places: exact decimal text, the same on every machine."""
    return format(value.quantize(SHARE_DIGITS), "f")


def number_text(value: Any) -> str | None:
    """An integer or a decimal amount ("1074.5") as text; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str) and NUMBER.fullmatch(value):
        return value
    return None


def run_grid(
    points: list[Point],
    seeds: tuple[int, ...],
    slots: int,
    out: Path,
    *,
    scheduler: str | None,
    workers: int,
    on_outcome: Callable[[Outcome, Point], None],
) -> list[Outcome]:
    """Run every (point, seed) on Dask; each outcome as it comes (any order), then all of them
    in grid order. A failed run is an Outcome with its error: the others still finish."""
    out = out.resolve()
    outcomes = []
    with _client(scheduler, workers) as client:
        scenarios = client.scatter([p.scenario for p in points])
        futures = {
            client.submit(
                run_point, scenarios[i], seed, slots, str(run_dir(out, point, seed)), pure=False
            ): (i, seed)
            for i, point in enumerate(points)
            for seed in seeds
        }
        for future in as_completed(futures):
            i, seed = futures[future]
            try:
                outcome = Outcome(i, seed, row=future.result())
            except Exception as exc:  # any error of a run is reported, not raised
                outcome = Outcome(i, seed, error=f"{type(exc).__name__}: {exc}")
            future.release()
            outcomes.append(outcome)
            on_outcome(outcome, points[i])
    return sorted(outcomes, key=lambda o: (o.point, o.seed))


@contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A client of the cluster at `scheduler`, else of a LocalCluster of `workers` processes
    with one thread each (see the module doc)."""
    if scheduler is None:
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=LOCAL_HTTP,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError) as exc:  # unreachable, or not an address (no port, ...)
        raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except TimeoutError:
            raise SweepError(
                f"the Dask scheduler at {scheduler} has no worker after {WORKERS_TIMEOUT} s "
                "(start some: dask worker " + scheduler + " --nthreads 1)"
            ) from None
        yield client


def write_table(
    path: Path, points: list[Point], params: list[Param], outcomes: list[Outcome]
) -> list[str]:
    """sweep.csv: one row per finished run, in grid order then seed; the columns written."""
    columns: dict[str, None] = {}
    for outcome in outcomes:
        columns.update(dict.fromkeys(outcome.row or {}))
    header = ["point", *(p.path for p in params), "seed", *columns]
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        for outcome in outcomes:
            if outcome.row is None:
                continue
            point = points[outcome.point]
            writer.writerow(
                [
                    point.name,
                    *(text for _, text in point.overrides),
                    outcome.seed,
                    *(outcome.row.get(c, "") for c in columns),
                ]
            )
    return list(columns)
