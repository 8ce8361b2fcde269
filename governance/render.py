"""Drawing a citation graph (the JSON of `gov_citationGraph`): a text tree, DOT, PNG.

All three work from the JSON alone, so a graph saved with `-o json` can be drawn later, and
the renderers are tested without a node. DOT is written by hand (it is a few lines of text;
no graphviz binding needed); the PNG is drawn with matplotlib, laid out in layers by distance
from the root: the posts citing it on top, the root, then what it cites, hop by hop.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from porchain.units import format_amount

Graph = dict[str, Any]
FOR_COLOUR = "#2e7d32"
AGAINST_COLOUR = "#c62828"


def short_id(post_id: str) -> str:
    return post_id[:10]


def percent(weight_ppm: int) -> str:
    return f"{weight_ppm / 10_000:+g}%"


def standing(node: dict[str, Any]) -> str:
    """A proposal's stage, a comment's status: what `gov list` shows (a proposal's status is
    its value pool's, shown by `gov show` as such)."""
    return node.get("stage") or node["status"]


def label(node: dict[str, Any]) -> str:
    if node["kind"] == "incinerator":
        return node["title"]
    value = format_amount(int(node["value"]))
    return (
        f"{short_id(node['id'])} {node['title']!r} [{node['kind']}, {standing(node)}, {value} gREP]"
    )


def tree_lines(graph: Graph) -> list[str]:
    """The root, then its citations indented hop by hop (a post reached twice is expanded
    once, later mentions say so), then the posts citing it."""
    nodes = {n["id"]: n for n in graph["nodes"]}
    outgoing: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for edge in graph["edges"]:
        if edge["to"] != graph["root"] or edge["from"] not in graph["cited_by"]:
            outgoing[edge["from"]].append(edge)
    lines = [label(nodes[graph["root"]])]
    expanded = {graph["root"]}

    def walk(post_id: str, prefix: str) -> None:
        edges = outgoing.get(post_id, [])
        for i, edge in enumerate(edges):
            last = i == len(edges) - 1
            target = edge["to"]
            seen = target in expanded and bool(outgoing.get(target))
            note = " (see above)" if seen else ""
            lines.append(
                f"{prefix}{'└─' if last else '├─'} {percent(edge['weight_ppm'])} "
                f"{label(nodes[target])}{note}"
            )
            if not seen:
                expanded.add(target)
                walk(target, prefix + ("   " if last else "│  "))

    walk(graph["root"], "")
    if graph["cited_by"]:
        lines.append("cited by:")
        weights = {e["from"]: e["weight_ppm"] for e in graph["edges"] if e["to"] == graph["root"]}
        for post_id in graph["cited_by"]:
            lines.append(f"   {percent(weights[post_id])} {label(nodes[post_id])}")
    return lines


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph) -> str:
    """Graphviz DOT: one box per post (the root bold), edges green FOR and red AGAINST,
    labelled with their weights; `dot -Tsvg graph.dot > graph.svg` draws it."""
    lines = [
        "digraph citations {",
        "  rankdir=TB;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
    ]
    for node in graph["nodes"]:
        text = node["title"]
        if node["kind"] != "incinerator":
            text = f"{short_id(node['id'])}\n{node['title']}\n{node['kind']}, {standing(node)}, "
            text += f"{format_amount(int(node['value']))} gREP"
        style = ", penwidth=2" if node["id"] == graph["root"] else ""
        lines.append(f"  {_dot_quote(node['id'])} [label={_dot_quote(text)}{style}];")
    for edge in graph["edges"]:
        colour = FOR_COLOUR if edge["weight_ppm"] > 0 else AGAINST_COLOUR
        lines.append(
            f"  {_dot_quote(edge['from'])} -> {_dot_quote(edge['to'])} "
            f'[label="{percent(edge["weight_ppm"])}", color="{colour}", '
            f'fontcolor="{colour}"];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def layout(graph: Graph) -> dict[str, tuple[float, float]]:
    """Positions by layer: y is minus the distance from the root, x spreads each layer."""
    layers: dict[int, list[str]] = defaultdict(list)
    for node in graph["nodes"]:
        layers[node["depth"]].append(node["id"])
    positions = {}
    for depth, ids in layers.items():
        for i, post_id in enumerate(ids):
            positions[post_id] = (i - (len(ids) - 1) / 2, -float(depth))
    return positions


def write_png(graph: Graph, path: Path) -> None:
    """Draw the graph with matplotlib (the Agg canvas: no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    positions = layout(graph)
    width = max(
        len([n for n in graph["nodes"] if n["depth"] == d["depth"]]) for d in graph["nodes"]
    )
    depths = {n["depth"] for n in graph["nodes"]}
    figure = Figure(figsize=(max(6.0, 3.2 * width), max(3.0, 1.8 * len(depths))))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_axis_off()
    for edge in graph["edges"]:
        colour = FOR_COLOUR if edge["weight_ppm"] > 0 else AGAINST_COLOUR
        start, end = positions[edge["from"]], positions[edge["to"]]
        axes.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={"arrowstyle": "-|>", "color": colour, "shrinkA": 22, "shrinkB": 22},
        )
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        axes.text(
            *middle,
            percent(edge["weight_ppm"]),
            color=colour,
            fontsize=8,
            ha="center",
            va="center",
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "none"},
        )
    for node in graph["nodes"]:
        text = node["title"]
        if node["kind"] != "incinerator":
            text = f"{short_id(node['id'])}\n{node['title'][:28]}"
            text += f"\n{format_amount(int(node['value']))} gREP, {standing(node)}"
        bold = node["id"] == graph["root"]
        axes.text(
            *positions[node["id"]],
            text,
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold" if bold else "normal",
            bbox={"boxstyle": "round", "facecolor": "#fffde7" if bold else "#eceff1"},
        )
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    axes.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    axes.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    axes.set_title(f"citations of {short_id(graph['root'])}", fontsize=10)
    figure.savefig(path, format="png", dpi=100, bbox_inches="tight")
