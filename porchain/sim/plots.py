"""The report's figures, drawn from plain numbers into PNG files.

Drawn on matplotlib's Agg canvas with no pyplot (no global figure state, no window, nothing
printed), under matplotlib's default style whatever the user's matplotlibrc says, and saved
without the "Software" text chunk, so the same numbers give byte-identical files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from porchain.sim.readings import EpochPoint

FIGSIZE = (7.0, 4.0)  # inches
DPI = 100
MAX_LEGEND = 12  # nodes named in a legend; more are drawn unnamed
PNG_METADATA = {"Software": None}


def save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=DPI, metadata=PNG_METADATA)


def new_axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    return figure, axes


def legend(axes: Axes, count: int) -> None:
    if 0 < count <= MAX_LEGEND:
        axes.legend(fontsize="small")


def draw(path: Path, painter: Callable[..., Figure], *args: Any) -> None:
    """Paint and save one figure under the default style."""
    with matplotlib.style.context("default"):
        save(painter(*args), path)


def rep_share(
    slots: Sequence[int], shares: Sequence[Sequence[float]], nodes: Sequence[str]
) -> Figure:
    figure, axes = new_axes("REP share over time", "slot", "share of all producers' REP (%)")
    for i, name in enumerate(nodes):
        axes.plot(slots, [100 * s[i] for s in shares], label=name, linewidth=1.2)
    legend(axes, len(nodes))
    return figure


def slashes(
    slots: Sequence[int], total: Sequence[int], per_offender: dict[str, list[int]]
) -> Figure:
    """The observer's count of slashes; one step line per offender when several."""
    figure, axes = new_axes("Cumulative slashes", "slot", "slashes so far")
    axes.step(slots, total, where="post", label="all producers", linewidth=1.5)
    if len(per_offender) > 1:
        for name, at in per_offender.items():
            axes.step([0, *at], range(len(at) + 1), where="post", label=name, linewidth=1)
    axes.yaxis.get_major_locator().set_params(integer=True)
    legend(axes, len(per_offender) + 1)
    return figure


def offence_times(
    offence_s: Sequence[float], detected_s: Sequence[float | None], slashed_s: Sequence[float]
) -> Figure:
    """Per slashed offence (at its slot time): how long until detected, until slashed."""
    figure, axes = new_axes(
        "Time from offence to detection and to slash", "offence time (s)", "delay (s)"
    )
    seen = [(t, d - t) for t, d in zip(offence_s, detected_s, strict=True) if d is not None]
    if seen:
        axes.scatter(*zip(*seen, strict=True), marker="o", label="detected")
    slashed = [s - t for t, s in zip(offence_s, slashed_s, strict=True)]
    axes.scatter(offence_s, slashed, marker="x", label="slashed")
    axes.set_ylim(bottom=0)
    legend(axes, 2)
    return figure


def censorship_cdf(delays_ms: Sequence[int], never: int) -> Figure:
    """The CDF over every censored transaction; the never-included ones keep it below 1."""
    figure, axes = new_axes(
        "Censorship delay (first seen to inclusion)", "delay (ms)", "fraction of censored txs"
    )
    ordered = sorted(delays_ms)
    total = len(ordered) + never
    if ordered:
        fractions = [0.0, *((i + 1) / total for i in range(len(ordered)))]
        axes.step([ordered[0], *ordered], fractions, where="post")
    axes.set_ylim(0, 1.02)
    if never:
        axes.axhline(len(ordered) / total, linestyle=":", color="grey")
        axes.annotate(f"{never} never included", (ordered[0] if ordered else 0, 1.0), fontsize=9)
    return figure


def proposal_frequency(
    nodes: Sequence[str], mean_share: Sequence[float], slot_share: Sequence[float]
) -> Figure:
    figure, axes = new_axes(
        "Proposal frequency against REP share", "mean REP share (%)", "slots scheduled (%)"
    )
    xs, ys = [100 * s for s in mean_share], [100 * s for s in slot_share]
    top = max([*xs, *ys, 1.0]) * 1.1
    axes.plot([0, top], [0, top], linestyle="--", color="grey", label="y = x")
    axes.scatter(xs, ys)
    if len(nodes) <= MAX_LEGEND:
        for name, x, y in zip(nodes, xs, ys, strict=True):
            axes.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=9)
    axes.set_xlim(0, top)
    axes.set_ylim(0, top)
    return figure


def randao_bias(
    epochs: Sequence[int],
    points: Sequence[EpochPoint],
    nodes: Sequence[str],
    withheld: dict[str, list[int]],
) -> Figure:
    """Above: each withholder's slots per epoch against its REP-share expectation. Below:
    every node's cumulative slots above that expectation, the withheld epochs marked."""
    figure = Figure(figsize=(FIGSIZE[0], FIGSIZE[1] * 1.6), dpi=DPI, layout="constrained")
    above, below = figure.subplots(2, 1, sharex=True)
    above.set_title("RANDAO bias: slots against the REP-share expectation")
    above.set_ylabel("slots in the epoch")
    below.set_xlabel("epoch")
    below.set_ylabel("cumulative extra slots")
    shown = [name for name in nodes if name in withheld][:MAX_LEGEND]
    for name in shown:
        i = nodes.index(name)
        (drawn,) = above.step(epochs, [p.slots[i] for p in points], where="mid", label=name)
        expected = [p.expected[i] for p in points]
        above.plot(
            epochs, expected, linestyle="--", color=drawn.get_color(), label=f"{name} expected"
        )
    for i, name in enumerate(nodes):
        line = [p.extra[i] for p in points]
        (drawn,) = below.plot(epochs, line, label=name, linewidth=2.0 if name in withheld else 1.0)
        marked = set(withheld.get(name, ()))
        marks = [(ep, v) for ep, v in zip(epochs, line, strict=True) if ep in marked]
        if marks:
            below.scatter(*zip(*marks, strict=True), marker="v", color=drawn.get_color(), zorder=3)
    below.axhline(0, color="grey", linewidth=0.8)
    below.xaxis.get_major_locator().set_params(integer=True)
    for axes, count in ((above, 2 * len(shown)), (below, len(nodes))):
        axes.grid(True, alpha=0.3)
        legend(axes, count)
    return figure
