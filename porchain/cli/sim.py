"""`porchain sim`: deterministic simulations of a scenario with the real node code."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from porchain.cli.common import console, emit, output_option, table
from porchain.sim.runner import MAX_SLOTS, run_scenario
from porchain.sim.scenario import load_scenario

DEFAULT_SLOTS = 200
NODE_LOGGERS = ("porchain.node", "porchain.net.service", "porchain.behaviours")


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
@click.option(
    "--slots",
    type=click.IntRange(1, MAX_SLOTS),
    default=DEFAULT_SLOTS,
    show_default=True,
    help="Slots to simulate.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: sim-<scenario>-<seed>).",
)
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
    metrics.csv, events.jsonl and summary.json in --out. The same seed gives the same files."""
    scenario = load_scenario(scenario_path)
    out = out_dir or Path(f"sim-{scenario.manifest.name}-{seed}")
    if ctx.find_root().params.get("verbose", 0) == 0:
        for name in NODE_LOGGERS:  # a node's per-block info lines, times the nodes: too many
            logging.getLogger(name).setLevel(logging.WARNING)
    started = time.monotonic()
    if quiet:
        summary = run_scenario(scenario, seed=seed, slots=slots, out=out)
    else:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("slots"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
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
    console.print(f"wrote metrics.csv, events.jsonl, summary.json in {data['out']}")
