"""What a report reads from a run's files, in one pass over each and in bounded memory.

metrics.csv is streamed row by row into per-node running sums (scheduled slots, REP share) and
series thinned to at most `MAX_POINTS` points (every k-th row, k doubling whenever a series
fills up), so a million-slot run costs the report no more memory than a short one.
events.jsonl is capped by the run (`record.MAX_EVENTS` lines), so its offences, delays and
withheld reveals are kept whole.
"""

from __future__ import annotations

import csv
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from porchain.errors import PorchainError
from porchain.units import parse_amount

MAX_POINTS = 1_000  # points kept per plotted series
RUN_FILES = ("summary.json", "metrics.csv", "events.jsonl")
REP_PREFIX = "rep_"
OBJECTIVE = ("equivocation", "invalid_block")  # offences proved by evidence of one slot


class ReportError(PorchainError):
    """A run directory whose files cannot be read into a report."""


class Thinned:
    """A series of at most `limit` points, evenly spaced over everything added, plus the last."""

    def __init__(self, limit: int = MAX_POINTS) -> None:
        self.limit = limit
        self.points: list[Any] = []
        self.stride = 1
        self.seen = 0
        self.last: Any = None

    def add(self, point: Any) -> None:
        if self.seen % self.stride == 0:
            self.points.append(point)
            if len(self.points) > self.limit:
                self.points = self.points[::2]
                self.stride *= 2
        self.seen += 1
        self.last = point

    def series(self) -> list[Any]:
        if self.points and self.points[-1] is not self.last:
            return [*self.points, self.last]
        return list(self.points)

    def columns(self) -> tuple[list[Any], list[Any]]:
        """The x and the y of a series of (x, y) points."""
        points = self.series()
        return [x for x, _ in points], [y for _, y in points]


# -- events.jsonl ---------------------------------------------------------------------------------


@dataclass
class Verdict:
    """The first verdict any node gave that a block censored."""

    slot: int
    t_ms: int
    producer: str


@dataclass
class Events:
    slashes: list[dict[str, Any]] = field(default_factory=list)
    detections: dict[tuple[str, str, int], int] = field(default_factory=dict)
    verdicts: dict[int, Verdict] = field(default_factory=dict)
    censored_txs: set[str] = field(default_factory=set)
    included: dict[str, int] = field(default_factory=dict)  # tx -> delay_ms
    withheld: list[tuple[int, str]] = field(default_factory=list)  # (epoch, node)

    def add(self, event: dict[str, Any]) -> None:
        kind, t_ms = event.get("event"), event.get("t_ms", 0)
        if kind == "slash":
            self.slashes.append(event)
        elif kind in OBJECTIVE:
            key = (kind, event["producer"], event["slot"])
            self.detections[key] = min(t_ms, self.detections.get(key, t_ms))
        elif kind == "censored":
            known = self.verdicts.get(event["block"])
            if known is None or t_ms < known.t_ms:
                self.verdicts[event["block"]] = Verdict(event["slot"], t_ms, event["producer"])
            self.censored_txs.update(tx["hash"] for tx in event.get("txs", ()))
        elif kind == "included":
            self.included[event["tx"]] = event["delay_ms"]
        elif kind == "reveal_withheld":
            self.withheld.append((event["epoch"], event["node"]))


def read_events(path: Path) -> Events:
    events = Events()
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            try:
                events.add(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise ReportError(
                    f"{path}, line {number}: not an event of a porchain sim run ({exc})"
                ) from None
    return events


# -- metrics.csv ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpochPoint:
    """One epoch per node: slots scheduled, what REP share predicted, extra slots so far."""

    slots: tuple[int, ...]
    expected: tuple[float, ...]
    extra: tuple[float, ...]


@dataclass
class EpochTally:
    """Slots each node was scheduled for in one epoch, and what its REP share predicted."""

    epoch: int
    slots: list[int]
    expected: list[float]


@dataclass
class Metrics:
    nodes: list[str]
    epoch_slots: int
    rows: int = 0
    shares: Thinned = field(default_factory=Thinned)  # (slot, (share per node))
    slashes: Thinned = field(default_factory=Thinned)  # (slot, slashes so far)
    epochs: Thinned = field(default_factory=Thinned)  # (epoch, EpochPoint)
    scheduled: list[int] = field(default_factory=list)
    share_sum: list[float] = field(default_factory=list)
    first_share: tuple[float, ...] = ()
    last_share: tuple[float, ...] = ()
    last_slashes: int = 0
    epoch: EpochTally | None = None
    extra: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.scheduled = [0] * len(self.nodes)
        self.share_sum = [0.0] * len(self.nodes)
        self.extra = [0.0] * len(self.nodes)
        self.index = {name: i for i, name in enumerate(self.nodes)}

    def add(self, slot: int, producer: str, reps: list[int], slashes: int) -> None:
        total = sum(reps)
        share = tuple(rep / total if total else 0.0 for rep in reps)
        if not self.rows:
            self.first_share = share
        self.rows += 1
        self.last_share, self.last_slashes = share, slashes
        self.shares.add((slot, share))
        self.slashes.add((slot, slashes))
        scheduled = self.index.get(producer)
        for i, s in enumerate(share):
            self.share_sum[i] += s
        if scheduled is not None:
            self.scheduled[scheduled] += 1
        self._count_epoch(slot, scheduled, share)

    def _count_epoch(self, slot: int, scheduled: int | None, share: tuple[float, ...]) -> None:
        epoch = slot // self.epoch_slots if self.epoch_slots else 0
        if self.epoch is None or self.epoch.epoch != epoch:
            self._close_epoch()
            self.epoch = EpochTally(epoch, [0] * len(share), [0.0] * len(share))
        if scheduled is not None:
            self.epoch.slots[scheduled] += 1
        for i, s in enumerate(share):
            self.epoch.expected[i] += s

    def _close_epoch(self) -> None:
        if self.epoch is None:
            return
        for i, (got, expected) in enumerate(
            zip(self.epoch.slots, self.epoch.expected, strict=True)
        ):
            self.extra[i] += got - expected
        point = EpochPoint(tuple(self.epoch.slots), tuple(self.epoch.expected), tuple(self.extra))
        self.epochs.add((self.epoch.epoch, point))
        self.epoch = None

    def finish(self) -> None:
        self._close_epoch()

    def mean_share(self) -> list[float]:
        return [s / self.rows if self.rows else 0.0 for s in self.share_sum]


def read_metrics(path: Path, epoch_slots: int) -> Metrics:
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise ReportError(f"{path} is empty: not the metrics of a porchain sim run")
        columns = _columns(path, header)
        nodes = [header[i].removeprefix(REP_PREFIX) for i in columns["rep"]]
        metrics = Metrics(nodes, epoch_slots)
        for number, row in enumerate(reader, 2):
            try:
                metrics.add(
                    int(row[columns["slot"]]),
                    row[columns["producer"]],
                    [parse_amount(row[i]) for i in columns["rep"]],
                    int(row[columns["slashes"]]),
                )
            except (ValueError, IndexError) as exc:
                raise ReportError(f"{path}, line {number}: not a metrics row ({exc})") from None
    metrics.finish()
    return metrics


def _columns(path: Path, header: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {"rep": [i for i, c in enumerate(header) if c.startswith(REP_PREFIX)]}
    for name in ("slot", "producer", "slashes"):
        if name not in header:
            raise ReportError(
                f"{path} has no {name!r} column: not the metrics of a porchain sim run"
            )
        found[name] = header.index(name)
    return found


# -- summary.json and the whole directory ---------------------------------------------------------


@dataclass
class RunFiles:
    """Everything a report says, read from one run directory."""

    directory: Path
    summary: dict[str, Any]
    metrics: Metrics
    events: Events

    @property
    def facts(self) -> dict[str, Any]:
        return self.summary["run"]

    @property
    def slot_ms(self) -> int:
        return int(self.facts.get("slot_ms", 0))


def read_summary(path: Path) -> dict[str, Any]:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not JSON ({exc})") from None
    if not isinstance(summary, dict) or not {"run", "nodes"} <= summary.keys():
        raise ReportError(f"{path} has no 'run' and 'nodes': not the summary of a sim run")
    return summary


def read_run(directory: Path) -> RunFiles:
    missing = [name for name in RUN_FILES if not (directory / name).is_file()]
    if missing:
        raise ReportError(
            f"{directory} has no {', '.join(missing)}: give the --out directory of a "
            "`porchain sim run`"
        )
    summary = read_summary(directory / "summary.json")
    epoch_slots = int(summary["run"].get("epoch_slots", 0))
    return RunFiles(
        directory,
        summary,
        read_metrics(directory / "metrics.csv", epoch_slots),
        read_events(directory / "events.jsonl"),
    )


# -- offences ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OffenceTimes:
    """One slashed offence: when it was committed (its block's slot time), first detected by
    any node (evidence seen, or a censorship verdict), and slashed on the observer's chain."""

    offender: str
    offence: str
    slot: int
    offence_ms: int
    detected_ms: int | None  # None: its detection event was left out of a capped events.jsonl
    slashed_ms: int


def slashed_offences(run: RunFiles) -> list[OffenceTimes]:
    """The slashes whose offence the events name: evidence by the offence's slot, a case by
    the accused block (a slash event of a run before these fields is left out)."""
    addresses = {name: node["address"] for name, node in run.summary["nodes"].items()}
    found = []
    for slash in run.events.slashes:
        offence, offender = slash["offence"], slash["offender"]
        if offence in OBJECTIVE and "offence_slot" in slash:
            slot = slash["offence_slot"]
            detected = run.events.detections.get((offence, addresses.get(offender, ""), slot))
        elif "offence_block" in slash and slash["offence_block"] in run.events.verdicts:
            verdict = run.events.verdicts[slash["offence_block"]]
            slot, detected = verdict.slot, verdict.t_ms
        else:
            continue
        found.append(
            OffenceTimes(offender, offence, slot, slot * run.slot_ms, detected, slash["t_ms"])
        )
    return found


def event_figures(events: Events, offences: list[OffenceTimes]) -> dict[str, float | int]:
    """A run's study figures from its events, as a sweep tabulates them: censored
    transactions, how many an honest block included later and their delay from first seen;
    slashed offences and their mean time to detection and to slash. A mean over nothing is
    left out, not 0."""
    delays = [events.included[tx] for tx in events.censored_txs if tx in events.included]
    detected = [o.detected_ms - o.offence_ms for o in offences if o.detected_ms is not None]
    figures: dict[str, float | int] = {
        "censored_txs": len(events.censored_txs),
        "censored_included": len(delays),
        "offences_slashed": len(offences),
    }
    if delays:
        figures["censored_delay_ms_mean"] = round(statistics.fmean(delays), 1)
        figures["censored_delay_ms_max"] = max(delays)
    if detected:
        figures["to_detection_ms_mean"] = round(statistics.fmean(detected), 1)
    if offences:
        figures["to_slash_ms_mean"] = round(
            statistics.fmean(o.slashed_ms - o.offence_ms for o in offences), 1
        )
    return figures
