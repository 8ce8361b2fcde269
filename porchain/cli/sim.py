"""`porchain sim`: deterministic simulations of a scenario with the real node code."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from porchain.cli.common import console, emit, output_option, table
from porchain.extras import require_research
from porchain.sim.scenario import MAX_SLOTS, load_scenario

DEFAULT_SLOTS = 200
NODE_LOGGERS = ("porchain.node", "porchain.net.service", "porchain.behaviours")


def slots_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--slots",
        type=click.IntRange(1, MAX_SLOTS),
        default=DEFAULT_SLOTS,
        show_default=True,
        help=help,
    )


def out_option(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=f"Output directory (default: {default}).",
    )


def progress_columns(unit: str) -> tuple[ProgressColumn, ...]:
    """A bar of finished `unit`s (slots of a run, runs of a sweep) with the time elapsed."""
    return (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
    )


@click.group()
def sim() -> None:
    """Simulate a scenario: many real nodes in one process, on virtual time, from a seed."""


@sim.command("run")
@click.argument("scenario_path", metavar="SCENARIO", type=click.Path(path_type=Path))
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="Every random choice of the run derives from it.",
)
@slots_option("Slots to simulate.")
@out_option("sim-<scenario>-<seed>")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@output_option
@click.pass_context
def run(
    ctx: click.Context,
    scenario_path: Path,
    seed: int,
    slots: int,
    out_dir: Path | None,
    quiet: bool,
    output: str,
) -> None:
    """Run SCENARIO (a devnet manifest with [network] and [load]) for --slots slots; write
    metrics.csv, events.jsonl, summary.json and report.md with its plots in --out. The same
    seed gives the same files."""
    require_research("sim run")  # its report's plots
    from porchain.sim.runner import run_scenario  # the node stack: only when running

    scenario = load_scenario(scenario_path)
    out = out_dir or Path(f"sim-{scenario.manifest.name}-{seed}")
    if ctx.find_root().params.get("verbose", 0) == 0:
        for name in NODE_LOGGERS:  # a node's per-block info lines, times the nodes: too many
            logging.getLogger(name).setLevel(logging.WARNING)
    started = time.monotonic()
    if quiet:
        summary = run_scenario(scenario, seed=seed, slots=slots, out=out)
    else:
        with Progress(*progress_columns("slots"), console=console, transient=True) as bar:
            task = bar.add_task(f"{scenario.manifest.name} seed {seed}", total=slots)
            summary = run_scenario(
                scenario,
                seed=seed,
                slots=slots,
                out=out,
                progress=lambda slot: bar.update(task, completed=slot),
            )
    wall = time.monotonic() - started
    emit(
        output,
        {"out": str(out), "wall_seconds": round(wall, 3), **summary},
        lambda data: _render(data),
    )


def _render(data: dict[str, Any]) -> None:
    facts = data["run"]
    console.print(
        f"{facts['scenario']} seed {facts['seed']}: {facts['slots']} slots, {facts['nodes']} "
        f"nodes, head #{facts['head']}, finalized #{facts['finalized']}, "
        f"{facts['transfers_sent']} transfers sent ({data['wall_seconds']:.1f} s wall)"
    )
    rows = [
        [
            name,
            n["rep_start"],
            n["rep_end"],
            n["rep_change"],
            str(n["blocks_produced"]),
            str(n["blocks_rejected"]),
            str(n["missed_slots"]),
            str(n["slashes"]),
        ]
        for name, n in data["nodes"].items()
    ]
    table(
        "node",
        "REP start",
        "REP end",
        "change",
        "blocks",
        "rejected",
        "missed",
        "slashes",
        rows=rows,
    )
    for expected in data.get("expect", []):
        console.print(f"{'holds' if expected['held'] else 'DOES NOT HOLD'}: {expected['text']}")
    console.print(
        f"wrote metrics.csv, events.jsonl, summary.json, report.md and its plots in {data['out']}"
    )


@sim.command("report")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@output_option
def report(directory: Path, output: str) -> None:
    """Rebuild report.md and its plots in DIR from the files a `sim run` wrote there
    (metrics.csv, events.jsonl, summary.json), without rerunning the simulation."""
    require_research("sim report")
    from porchain.sim.report import write_report  # matplotlib: only when plotting

    written = write_report(directory)
    data = {
        "report": str(written.report),
        "plots": written.plots,
        "omitted": written.omitted,
    }
    emit(output, data, _render_report)


def _render_report(data: dict[str, Any]) -> None:
    console.print(f"wrote {data['report']} with {len(data['plots'])} plots")
    for name, why in data["omitted"].items():
        console.print(f"  no {name}: {why}")


@sim.command("sweep")
@click.argument("scenario_path", metavar="SCENARIO", type=click.Path(path_type=Path))
@click.option(
    "--param",
    "param_texts",
    multiple=True,
    metavar="NAME=V1,V2,...",
    help="A scenario field (wsc.slot_ms, network.loss, node.node4.rep, ...) and its values; "
    "repeat for a grid (the cartesian product).",
)
@click.option(
    "--seeds",
    "seeds_text",
    default="1-10",
    show_default=True,
    help="Seeds of each grid point: 1-50, 1,2,7 or a mix.",
)
@slots_option("Slots of each run.")
@out_option("sweep-<scenario>")
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    metavar="COLUMN",
    help="Also report this sweep.csv column (a glob: nodes.*.missed_slots); repeatable.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run on this Dask cluster (default: a local cluster on this machine's cores).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    default=None,
    help="Processes of the local cluster (default: one per core).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@output_option
@click.pass_context
def sweep(
    ctx: click.Context,
    scenario_path: Path,
    param_texts: tuple[str, ...],
    seeds_text: str,
    slots: int,
    out_dir: Path | None,
    metrics: tuple[str, ...],
    scheduler: str | None,
    workers: int | None,
    quiet: bool,
    output: str,
) -> None:
    """Run SCENARIO for every combination of --param values and every seed, in parallel on
    Dask; write sweep.csv (one row a run) and sweep.md (mean and 95% CI per grid point)."""
    require_research("sim sweep")
    from porchain.cli import sim_sweep  # imports Dask: only when sweeping

    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers sizes the local cluster; a --scheduler's has its own")
    code = sim_sweep.sweep(
        sim_sweep.SweepArgs(
            scenario_path,
            param_texts,
            seeds_text,
            slots,
            out_dir,
            metrics,
            scheduler,
            workers or os.cpu_count() or 1,
        ),
        quiet=quiet,
        output=output,
        verbose=ctx.find_root().params.get("verbose", 0),
    )
    if code:
        sys.exit(code)
