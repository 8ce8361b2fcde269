"""sweep.md: per grid point, the mean and 95% confidence interval over its seeds of what a
researcher reads first (each node's REP share at the end, proposal share, blocks rejected,
slashes) and of every column a `--metric` pattern names, with the command that made it.

The report holds no wall time and no worker names, so, like sweep.csv, it is the same whichever
cluster ran the sweep; the command written is the one that decides the results (scenario,
params, seeds, slots, out, metrics), not the cluster options.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path

from porchain.sim.grid import Point, point_label
from porchain.sim.stats import CONFIDENCE, interval
from porchain.sim.sweep import Outcome

NODE_COLUMNS = (  # (column of sweep.csv under nodes.<name>., heading)
    ("rep_share_end", "REP share at end"),
    ("proposal_share", "proposal share"),
    ("blocks_rejected", "blocks rejected"),
    ("slashes", "slashes"),
)


def unmatched_metrics(metrics: Sequence[str], columns: Sequence[str]) -> list[str]:
    return [m for m in metrics if not fnmatch.filter(columns, m)]


def write_report(
    path: Path,
    *,
    title: str,
    command: str,
    points: list[Point],
    seeds: int,
    slots: int,
    outcomes: list[Outcome],
    columns: list[str],
    metrics: Sequence[str],
) -> None:
    failed = [o for o in outcomes if o.error is not None]
    lines = [
        f"# Sweep of {title}",
        "",
        f"    {command}",
        "",
        f"{len(points)} point(s) x {seeds} seed(s), {slots} slots a run; "
        f"{len(outcomes) - len(failed)} runs finished, {len(failed)} failed. Each cell is the "
        f"mean over the point's seeds +- the half-width of its {CONFIDENCE:.0%} confidence "
        "interval (Student t, n - 1 degrees of freedom; n = the seeds that finished). Every "
        "run's files are in runs/<point>/<seed>/, its numbers in sweep.csv.",
    ]
    extra = [c for c in columns if any(fnmatch.fnmatchcase(c, m) for m in metrics)]
    for index, point in enumerate(points):
        rows = [o.row for o in outcomes if o.point == index and o.row is not None]
        lines += ["", f"## {point_label(point.overrides)}", ""]
        if not rows:
            lines.append("No run of this point finished.")
            continue
        lines += [f"runs/{point.name}/, n = {len(rows)}", ""]
        lines += _node_table(rows, columns)
        if extra:
            lines += ["", "| metric | mean +- 95% CI |", "| --- | --- |"]
            lines += [f"| {c} | {_cell(rows, c)} |" for c in extra]
    if failed:
        lines += ["", "## Failed runs", ""]
        lines += [f"- {points[o.point].name} seed {o.seed}: {o.error}" for o in failed]
    missing = unmatched_metrics(metrics, columns)
    if missing:
        lines += ["", f"No column matches --metric {', '.join(missing)}."]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _node_table(rows: list[dict[str, str]], columns: list[str]) -> list[str]:
    nodes = list(dict.fromkeys(c.split(".")[1] for c in columns if c.endswith(".rep_share_end")))
    head = "| node | " + " | ".join(h for _, h in NODE_COLUMNS) + " |"
    lines = [head, "|" + " --- |" * (len(NODE_COLUMNS) + 1)]
    for node in nodes:
        cells = [_cell(rows, f"nodes.{node}.{key}") for key, _ in NODE_COLUMNS]
        lines.append(f"| {node} | " + " | ".join(cells) + " |")
    return lines


def _cell(rows: list[dict[str, str]], column: str) -> str:
    values = [float(row[column]) for row in rows if row.get(column, "") != ""]
    if not values:
        return "-"
    stat = interval(values)
    if stat.half_width is None:
        return f"{stat.mean:.4f} (n = 1, no interval)"
    return f"{stat.mean:.4f} +- {stat.half_width:.4f}" + (
        f" (n = {stat.n})" if stat.n != len(rows) else ""
    )
