"""`porchain sim sweep`: the grid checked up front, its runs on Dask behind a progress bar of
finished runs, then sweep.csv and sweep.md. A failed run is reported (point, seed, error) as it
comes and makes the command exit non-zero; the other runs still finish and are written."""

from __future__ import annotations

import contextlib
import logging
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from porchain.cli.common import console, emit
from porchain.cli.sim import progress_columns
from porchain.sim.grid import Point, build_grid, check_metrics, parse_param, parse_seeds
from porchain.sim.sweep import Outcome, run_grid, write_table
from porchain.sim.sweep_report import unmatched_metrics, write_report

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass(frozen=True)
class SweepArgs:
    scenario: Path
    params: tuple[str, ...]
    seeds: str
    slots: int
    out: Path | None
    metrics: tuple[str, ...]
    scheduler: str | None
    workers: int


def sweep(args: SweepArgs, *, quiet: bool, output: str, verbose: int = 0) -> int:
    """Run the sweep; the exit code (1 if a run failed or a --metric matched nothing)."""
    if not verbose:  # Dask logs each worker's start and stop at info
        logging.getLogger("distributed").setLevel(logging.WARNING)
    params = [parse_param(text) for text in args.params]
    seeds = parse_seeds(args.seeds)
    points = build_grid(args.scenario, params, seeds)
    check_metrics(args.metrics, points[0].scenario.manifest.node_names)
    out = args.out or Path(f"sweep-{points[0].scenario.manifest.name}")
    total = len(points) * len(seeds)
    started = time.monotonic()
    with _progress(quiet, total, points[0].scenario.manifest.name) as advance:

        def on_outcome(outcome: Outcome, point: Point) -> None:
            if outcome.error is not None:
                stderr.print(f"run {point.name} seed {outcome.seed} failed: {outcome.error}")
            advance()

        outcomes = run_grid(
            points,
            seeds,
            args.slots,
            out,
            scheduler=args.scheduler,
            workers=args.workers,
            on_outcome=on_outcome,
        )
    wall = time.monotonic() - started
    out.mkdir(parents=True, exist_ok=True)  # by now the runs made it, unless all failed
    columns = write_table(out / "sweep.csv", points, params, outcomes)
    write_report(
        out / "sweep.md",
        title=str(args.scenario),
        command=command_line(args, out),
        points=points,
        seeds=len(seeds),
        slots=args.slots,
        outcomes=outcomes,
        columns=columns,
        metrics=args.metrics,
    )
    failed = [o for o in outcomes if o.error is not None]
    missing = unmatched_metrics(args.metrics, columns)
    data = {
        "out": str(out),
        "points": len(points),
        "seeds": len(seeds),
        "runs": total,
        "finished": total - len(failed),
        "failed": [
            {"point": points[o.point].name, "seed": o.seed, "error": o.error} for o in failed
        ],
        "cluster": args.scheduler or f"a local cluster of {args.workers} worker process(es)",
        "wall_seconds": round(wall, 3),
    }
    emit(output, data, _render)
    if missing:
        stderr.print(
            f"Error: no sweep.csv column matches --metric {', '.join(missing)} "
            f"(columns: {', '.join(columns)})"
        )
    return 1 if failed or missing else 0


def command_line(args: SweepArgs, out: Path) -> str:
    """The command as sweep.md records it: what decides the results, not the cluster."""
    parts = ["porchain", "sim", "sweep", str(args.scenario)]
    for text in args.params:
        parts += ["--param", text]
    parts += ["--seeds", args.seeds, "--slots", str(args.slots), "--out", str(out)]
    for metric in args.metrics:
        parts += ["--metric", metric]
    return shlex.join(parts)


@contextlib.contextmanager
def _progress(quiet: bool, total: int, name: str) -> Iterator[Callable[[], None]]:
    """A bar of finished runs on stderr (stdout stays clean for -o json); none if quiet."""
    if quiet:
        yield lambda: None
        return
    with Progress(*progress_columns("runs"), console=stderr, transient=True) as bar:
        task = bar.add_task(f"sweep {name}", total=total)
        yield lambda: bar.advance(task)


def _render(data: dict[str, Any]) -> None:
    console.print(
        f"{data['runs']} runs ({data['points']} point(s) x {data['seeds']} seed(s)) on "
        f"{data['cluster']} in {data['wall_seconds']:.1f} s: {data['finished']} finished, "
        f"{len(data['failed'])} failed"
    )
    console.print(f"wrote sweep.csv and sweep.md in {data['out']}")
