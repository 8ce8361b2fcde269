"""report.md and its plots, rebuilt from a run's files alone (metrics.csv, events.jsonl,
summary.json), so `porchain sim report DIR` remakes a report without rerunning the simulation.

Each figure is a section: its numbers in a sentence or a table, then the plot; a figure with no
data is left out, its file removed, and one line says why. Nothing here reads a clock or
prints: the same files give a byte-identical report.md and PNGs.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from porchain.sim import plots
from porchain.sim.readings import OBJECTIVE, RunFiles, read_run, slashed_offences
from porchain.units import parse_amount

REPORT = "report.md"
MAX_ROWS = 20  # rows of a table of offences, or epochs listed, before "and N more"


@dataclass
class Section:
    """One figure's part of the report: the numbers in words, and how to draw the plot."""

    title: str
    plot: str  # the PNG's file name
    lines: list[str] = field(default_factory=list)
    painter: Callable[..., Any] | None = None
    args: tuple[Any, ...] = ()
    why_not: str = ""  # set: the plot is left out, for this reason


@dataclass
class Written:
    """What a report wrote: report.md, the plots drawn, and why each other plot is missing."""

    report: Path
    plots: list[str] = field(default_factory=list)
    omitted: dict[str, str] = field(default_factory=dict)


def write_report(directory: Path) -> Written:
    run = read_run(directory)
    written = Written(directory / REPORT)
    figures = [section(run) for section in FIGURES]
    text = [*heading(run), *expected(run), *facts(run), *nodes_table(run)]
    for figure in figures:
        text += [f"## {figure.title}", ""] + ([*figure.lines, ""] if figure.lines else [])
        path = directory / figure.plot
        if figure.why_not:
            text += [f"No plot: {figure.why_not}.", ""]
            written.omitted[figure.plot] = figure.why_not
            path.unlink(missing_ok=True)
        else:
            plots.draw(path, figure.painter, *figure.args)
            text += [f"![{figure.title}]({figure.plot})", ""]
            written.plots.append(figure.plot)
    written.report.write_text("\n".join(text).rstrip("\n") + "\n", encoding="utf-8")
    return written


# -- text helpers ---------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def plural(count: int, noun: str, nouns: str = "") -> str:
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def listed(items: Sequence[Any]) -> str:
    shown = ", ".join(str(item) for item in items[:MAX_ROWS])
    return shown + (f" and {len(items) - MAX_ROWS} more" if len(items) > MAX_ROWS else "")


# -- the head of the report ------------------------------------------------------------------------


def heading(run: RunFiles) -> list[str]:
    f = run.facts
    return [f"# Simulation report: {f['scenario']}, seed {f['seed']}", ""]


def expected(run: RunFiles) -> list[str]:
    """The scenario's stated expectations, checked by the run (summary.json's `expect`)."""
    expectations = run.summary.get("expect", [])
    lines = ["## Expected effect", ""]
    if not expectations:
        return [*lines, "The scenario states no expected effect.", ""]
    for item in expectations:
        verdict = "holds" if item.get("held") else "DOES NOT HOLD"
        lines.append(f"- {item.get('text', '')}: **{verdict}**")
    return [*lines, ""]


def facts(run: RunFiles) -> list[str]:
    f = run.facts
    rows = [
        ["scenario", f["scenario"]],
        ["scenario sha256", f"`{f.get('scenario_sha256', '')}`"],
        ["seed", f["seed"]],
        ["slots", f"{f['slots']} of {f.get('slot_ms', '?')} ms"],
        ["nodes", f"{f['nodes']} (observer {f.get('observer', '?')})"],
        ["head, finalized", f"#{f.get('head', '?')}, #{f.get('finalized', '?')}"],
        [
            "transfers sent, refused",
            f"{f.get('transfers_sent', 0)}, {f.get('transfers_refused', 0)}",
        ],
        ["events written, dropped", f"{f.get('events_written', 0)}, {f.get('events_dropped', 0)}"],
        ["porchain", f.get("porchain", "?")],
    ]
    return [
        "## Run",
        "",
        *table(["fact", "value"], rows),
        "",
        "Rerun it: `porchain sim run SCENARIO.toml --seed "
        f"{f['seed']} --slots {f['slots']} --out DIR` (SCENARIO.toml: the scenario "
        f"`{f['scenario']}` whose resolved content has the sha256 above).",
        "Rebuild this report and its plots from the files beside it, without rerunning: "
        "`porchain sim report DIR` (DIR: this directory).",
        "",
    ]


def nodes_table(run: RunFiles) -> list[str]:
    nodes = run.summary["nodes"]
    ends = {name: parse_amount(n["rep_end"]) for name, n in nodes.items()}
    total = sum(ends.values())
    rows = [
        [
            name,
            n["rep_start"],
            n["rep_end"],
            percent(ends[name] / total if total else 0.0),
            n.get("slots_scheduled", "?"),
            n["blocks_produced"],
            n["blocks_rejected"],
            n["missed_slots"],
            n["slashes"],
        ]
        for name, n in nodes.items()
    ]
    headers = ["node", "REP start", "REP end", "REP share end", "slots scheduled", "blocks"]
    headers += ["rejected", "missed", "slashes"]
    return ["## Nodes", "", *table(headers, rows), ""]


# -- the figures -----------------------------------------------------------------------------------


def from_metrics(run: RunFiles, title: str, plot: str) -> Section:
    """A section drawn from metrics.csv rows, left out when there is none."""
    section = Section(title, plot)
    if not run.metrics.rows:
        section.why_not = "metrics.csv has no row"
    return section


def share_change(name: str, start: float, end: float) -> str:
    trend = "rises" if end > start else "falls" if end < start else "holds"
    return f"{name} {trend} from {percent(start)} to {percent(end)}"


def rep_share_section(run: RunFiles) -> Section:
    section = from_metrics(run, "REP share over time", "rep_share.png")
    if not section.why_not:
        m = run.metrics
        changes = map(share_change, m.nodes, m.first_share, m.last_share)
        section.lines = [f"REP share from slot 1 to the last slot: {'; '.join(changes)}."]
        section.painter, section.args = plots.rep_share, (*m.shares.columns(), m.nodes)
    return section


def slashes_section(run: RunFiles) -> Section:
    m, slashes = run.metrics, run.events.slashes
    section = Section("Cumulative slashes", "slashes.png")
    if not m.last_slashes and not slashes:
        section.why_not = "no slash in this run"
        return section
    per_offender: dict[str, list[int]] = {}
    for s in slashes:
        per_offender.setdefault(s["offender"], []).append(s["t_ms"] // max(run.slot_ms, 1))
    described = [
        f"{s['offender']} for {s['offence']} in block {s['block']} ({s['rep']} REP)"
        for s in slashes
    ]
    section.lines = [
        f"{plural(m.last_slashes, 'slash', 'slashes')} by the last slot: {listed(described)}."
    ]
    section.painter, section.args = plots.slashes, (*m.slashes.columns(), per_offender)
    return section


def offence_section(run: RunFiles) -> Section:
    section = Section("Time from offence to detection and to slash", "offence_times.png")
    offences = slashed_offences(run)
    events = run.events
    detected = [
        plural(sum(k[0] == kind for k in events.detections), kind.replace("_", " "))
        for kind in OBJECTIVE
        if any(k[0] == kind for k in events.detections)
    ]
    if events.verdicts:
        detected.append(plural(len(events.verdicts), "block", "blocks") + " judged censoring")
    section.lines = [
        f"Detected by some node: {', '.join(detected) or 'nothing'} (one offence per producer "
        f"and slot). Slashed, with the offence the events name: {len(offences)}."
    ]
    if not offences:
        section.why_not = "no slashed offence in this run"
        return section
    rows = [
        [
            o.offender,
            o.offence,
            o.slot,
            "?" if o.detected_ms is None else o.detected_ms - o.offence_ms,
            o.slashed_ms - o.offence_ms,
        ]
        for o in offences[:MAX_ROWS]
    ]
    headers = ["offender", "offence", "slot", "to detection (ms)", "to slash (ms)"]
    section.lines += ["", *table(headers, rows)]
    if len(offences) > MAX_ROWS:
        section.lines.append(f"\nand {len(offences) - MAX_ROWS} more.")
    section.painter, section.args = (
        plots.offence_times,
        (
            [o.offence_ms / 1000 for o in offences],
            [None if o.detected_ms is None else o.detected_ms / 1000 for o in offences],
            [o.slashed_ms / 1000 for o in offences],
        ),
    )
    return section


def censorship_section(run: RunFiles) -> Section:
    section = Section("Censorship delay", "censorship_delay.png")
    events = run.events
    if not events.censored_txs:
        section.why_not = "no censored transaction in this run"
        return section
    delays = [events.included[tx] for tx in sorted(events.censored_txs) if tx in events.included]
    never = len(events.censored_txs) - len(delays)
    line = (
        f"{plural(len(events.censored_txs), 'censored transaction')}; {len(delays)} included later"
    )
    if delays:
        line += (
            f", delay from first seen to an honest block: median "
            f"{statistics.median(delays):g} ms, at most {max(delays)} ms"
        )
    section.lines = [f"{line}; {never} never included by the end of the run."]
    section.painter, section.args = plots.censorship_cdf, (delays, never)
    return section


def proposal_section(run: RunFiles) -> Section:
    m = run.metrics
    section = from_metrics(run, "Proposal frequency against REP share", "proposal_frequency.png")
    if section.why_not:
        return section
    mean = m.mean_share()
    slot_share = [count / m.rows for count in m.scheduled]
    rows = [
        [name, percent(mean[i]), percent(slot_share[i]), m.scheduled[i]]
        for i, name in enumerate(m.nodes)
    ]
    section.lines = [
        f"Slots each node was scheduled for, of {m.rows}, against its mean REP share:",
        "",
        *table(["node", "mean REP share", "slots scheduled", "slots"], rows),
    ]
    section.painter, section.args = plots.proposal_frequency, (m.nodes, mean, slot_share)
    return section


def randao_section(run: RunFiles) -> Section:
    m, withheld = run.metrics, run.events.withheld
    section = Section("RANDAO bias of a withholding node", "randao_bias.png")
    if not withheld:
        section.why_not = "no reveal withheld in this run"
        return section
    by_node: dict[str, list[int]] = {}
    for epoch, node in withheld:
        by_node.setdefault(node, []).append(epoch)
    section.lines = [
        f"{node} withheld its reveal in {plural(len(epochs), 'epoch')}: {listed(epochs)}."
        for node, epochs in by_node.items()
    ]
    if not m.epoch_slots:
        section.why_not = "summary.json gives no epoch_slots (a run of an older porchain)"
        return section
    extra = [f"{name} {m.extra[i]:+.1f}" for i, name in enumerate(m.nodes)]
    section.lines.append(
        "Slots scheduled above the REP-share expectation over the run: " + ", ".join(extra) + "."
    )
    section.painter, section.args = plots.randao_bias, (*m.epochs.columns(), m.nodes, by_node)
    return section


FIGURES: tuple[Callable[[RunFiles], Section], ...] = (
    rep_share_section,
    slashes_section,
    offence_section,
    censorship_section,
    proposal_section,
    randao_section,
)
