"""Expected effects: what a ready scenario says its run shows, checked at the end of the run.

A scenario's `[[expect]]` tables (parsed in porchain.sim.scenario) each name a metric of some
nodes (or of the run), and a claim: it falls, rises or holds from the start of the run to its end,
or it ends at least / at most some value. The values are read back from what the run wrote
(summary.json's tallies, metrics.csv, events.jsonl), so an expectation checks the same numbers a
researcher reads, and a report can be re-checked from the files alone. `rep_drops` counts the
slots at whose end a node's REP was lower than at the one before: a reveal penalty, a lost vote
stake or bond, a slash (block rewards otherwise only add). A metric of several nodes
is their sum (the combined REP share of a cartel); with no node named, a count is summed over
every producer. Counts start at 0. `proposal_share` starts at the nodes' REP share at genesis
(their fair share of slots) and ends at the share of the run's slots they were scheduled for.
"""

from __future__ import annotations

import collections
import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from porchain.units import UNIT, parse_amount

if TYPE_CHECKING:
    from porchain.sim.scenario import Expectation

NODE, RUN = "node", "run"  # what a metric is of
PERCENT, REP, COUNT = "%", "REP", ""  # how its values print


@dataclass(frozen=True)
class Metric:
    label: str  # as the outcome's text names it: "<who>'s <label> falls"
    of: str  # NODE (a sum over the nodes named, else over every producer) or RUN
    unit: str
    read: Callable[[RunFiles, tuple[str, ...]], tuple[float, float]]  # start, end
    shared: bool = False  # a share of the whole: summed over every node it is always 100%


class RunFiles:
    """A finished run's outputs, streamed (memory does not grow with the run), each file only
    if a metric needs it."""

    def __init__(self, summary: dict[str, Any], out: Path) -> None:
        self.summary = summary
        self.out = out
        self._slots: SlotCounts | None = None

    def tallies(self, nodes: tuple[str, ...]) -> list[dict[str, Any]]:
        return [self.summary["nodes"][n] for n in nodes or self.summary["nodes"]]

    def addresses(self, nodes: tuple[str, ...]) -> set[str]:
        return {t["address"] for t in self.tallies(nodes)}

    def slots(self) -> SlotCounts:
        """From metrics.csv, in one pass."""
        if self._slots is None:
            counts = SlotCounts()
            last: dict[str, int] = {}
            with (self.out / "metrics.csv").open(newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    counts.total += 1
                    counts.scheduled[row["producer"]] += 1
                    for name in self.summary["nodes"]:
                        rep = parse_amount(row[f"rep_{name}"])
                        counts.rep_drops[name] += rep < last.get(name, rep)
                        last[name] = rep
            self._slots = counts
        return self._slots

    def events(self, kind: str) -> Iterator[dict[str, Any]]:
        with (self.out / "events.jsonl").open(encoding="utf-8") as f:
            for line in f:
                event = json.loads(line)
                if event["event"] == kind:
                    yield event


@dataclass
class SlotCounts:
    total: int = 0
    scheduled: collections.Counter[str] = field(default_factory=collections.Counter)
    rep_drops: collections.Counter[str] = field(default_factory=collections.Counter)


def _rep(files: RunFiles, nodes: tuple[str, ...], which: str) -> float:
    return sum(parse_amount(t[which]) for t in files.tallies(nodes)) / UNIT


def _rep_share(files: RunFiles, nodes: tuple[str, ...], which: str) -> float:
    total = _rep(files, (), which)
    return 100 * _rep(files, nodes, which) / total if total else 0.0


def rep_share(files: RunFiles, nodes: tuple[str, ...]) -> tuple[float, float]:
    return _rep_share(files, nodes, "rep_start"), _rep_share(files, nodes, "rep_end")


def rep(files: RunFiles, nodes: tuple[str, ...]) -> tuple[float, float]:
    return _rep(files, nodes, "rep_start"), _rep(files, nodes, "rep_end")


def proposal_share(files: RunFiles, nodes: tuple[str, ...]) -> tuple[float, float]:
    slots = files.slots()
    ours = sum(slots.scheduled[n] for n in nodes)
    return _rep_share(files, nodes, "rep_start"), 100 * ours / slots.total if slots.total else 0.0


def rep_drops(files: RunFiles, nodes: tuple[str, ...]) -> tuple[float, float]:
    drops = files.slots().rep_drops
    return 0.0, float(sum(drops[n] for n in nodes or files.summary["nodes"]))


def tally(field: str) -> Callable[[RunFiles, tuple[str, ...]], tuple[float, float]]:
    def read(files: RunFiles, nodes: tuple[str, ...]) -> tuple[float, float]:
        return 0.0, float(sum(t[field] for t in files.tallies(nodes)))

    return read


def produced_events(kind: str, key: Callable[[dict[str, Any]], Any]) -> Callable:
    """Distinct offences of `kind` by the nodes, as events name them (several nodes record one
    offence; `key` says which fields make it one)."""

    def read(files: RunFiles, nodes: tuple[str, ...]) -> tuple[float, float]:
        ours = files.addresses(nodes)
        return 0.0, float(len({key(e) for e in files.events(kind) if e["producer"] in ours}))

    return read


def censored_txs(files: RunFiles, nodes: tuple[str, ...]) -> tuple[float, float]:
    return 0.0, float(len({tx["hash"] for e in files.events("censored") for tx in e["txs"]}))


def censored_included(files: RunFiles, nodes: tuple[str, ...]) -> tuple[float, float]:
    return 0.0, float(sum(1 for _ in files.events("included")))


def finalized(files: RunFiles, nodes: tuple[str, ...]) -> tuple[float, float]:
    return 0.0, float(files.summary["run"]["finalized"])


METRICS: dict[str, Metric] = {
    "rep_share": Metric("REP share", NODE, PERCENT, rep_share, shared=True),
    "rep": Metric("REP", NODE, REP, rep),
    "rep_drops": Metric("REP-drop count", NODE, COUNT, rep_drops),
    "proposal_share": Metric("proposal share", NODE, PERCENT, proposal_share, shared=True),
    "blocks_produced": Metric("produced-block count", NODE, COUNT, tally("blocks_produced")),
    "blocks_rejected": Metric("rejected-block count", NODE, COUNT, tally("blocks_rejected")),
    "missed_slots": Metric("missed-slot count", NODE, COUNT, tally("missed_slots")),
    "slashes": Metric("slash count", NODE, COUNT, tally("slashes")),
    "censored_blocks": Metric(
        "censored-block count", NODE, COUNT, produced_events("censored", lambda e: e["block"])
    ),
    "equivocations": Metric(
        "equivocation count", NODE, COUNT, produced_events("equivocation", lambda e: e["slot"])
    ),
    "invalid_blocks": Metric(
        "invalid-block count", NODE, COUNT, produced_events("invalid_block", lambda e: e["slot"])
    ),
    "censored_txs": Metric("censored-transaction count", RUN, COUNT, censored_txs),
    "censored_included": Metric(
        "count of censored transactions included later", RUN, COUNT, censored_included
    ),
    "finalized": Metric("finalized height", RUN, COUNT, finalized),
}


def check_expectations(
    expectations: tuple[Expectation, ...], summary: dict[str, Any], out: Path
) -> list[dict[str, Any]]:
    """Each expectation's outcome, as summary.json's `expect` list holds it."""
    files = RunFiles(summary, out)
    return [outcome(e, files) for e in expectations]


def outcome(expectation: Expectation, files: RunFiles) -> dict[str, Any]:
    metric = METRICS[expectation.metric]
    start, end = metric.read(files, expectation.nodes)
    held = holds(expectation, start, end)
    text = (
        f"{whose(expectation, metric)} {metric.label} {claim(expectation, metric)} "
        f"({shown(start, metric)} -> {shown(end, metric)}): {expectation.why}"
    )
    return {
        "text": text,
        "held": held,
        "metric": expectation.metric,
        "nodes": list(expectation.nodes),
        "start": round(start, 6),
        "end": round(end, 6),
    }


def holds(e: Expectation, start: float, end: float) -> bool:
    if e.change == "falls":
        return end < start
    if e.change == "rises":
        return end > start
    if e.change == "holds":
        return abs(end - start) <= e.within
    return (e.at_least is None or end >= e.at_least) and (e.at_most is None or end <= e.at_most)


def whose(e: Expectation, metric: Metric) -> str:
    if metric.of == RUN:
        return "the run's"
    return "+".join(e.nodes) + "'s" if e.nodes else "all nodes'"


def claim(e: Expectation, metric: Metric) -> str:
    if e.change == "holds" and e.within:
        return f"holds within {shown(e.within, metric)}"
    if e.change is not None:
        return e.change
    if e.at_least is not None and e.at_most is not None:
        return f"is {shown(e.at_least, metric)} to {shown(e.at_most, metric)}"
    if e.at_least is not None:
        return f"is at least {shown(e.at_least, metric)}"
    return f"is at most {shown(e.at_most or 0.0, metric)}"


def shown(value: float, metric: Metric) -> str:
    if metric.unit == PERCENT:
        return f"{value:.1f}%"
    if metric.unit == REP:
        return f"{value:.2f} REP"
    return f"{value:g}"
