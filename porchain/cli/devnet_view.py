"""How `porchain devnet` shows a devnet: the node table (live or once), producers, accounts."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from porchain.behaviours import BEHAVIOURS, HONEST
from porchain.devnet.status import RELAY_BLOCKS, DevnetStatus, NodeStatus
from porchain.units import format_amount

STATE_STYLES = {"running": "green", "paused": "yellow", "down": "red"}
PRODUCERS_SHOWN = 6
MAX_PIPE_WIDTH = 1000
SUMMARY_SECONDS = 10.0
CENSORED_SHOWN = 20  # censored transactions the report's table lists
BEHAVIOUR_CHARS = 48  # an attack with a long address list is cut in the table (whole in JSON)


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def nodes_table(status: DevnetStatus) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    notes = [_note(node) for node in status.nodes]
    columns = [
        "node",
        "state",
        "pid",
        "height",
        "head",
        "final",
        "peers",
        "behaviour",
        "rpc",
        "p2p",
    ]
    for column in columns + (["note"] if any(notes) else []):
        table.add_column(
            column, justify="right" if column in ("height", "final", "peers") else "left"
        )
    for node, note in zip(status.nodes, notes, strict=True):
        table.add_row(
            node.name,
            Text(node.state, style=STATE_STYLES.get(node.state, "")),
            _cell(node.pid),
            _cell(node.height),
            _cell(node.head_hash[:10] if node.head_hash else None),  # a fork shows here
            _cell(node.finalized),
            _cell(node.peers),
            behaviour_cell(node.behaviour),
            node.rpc,
            node.p2p,
            *([note] if any(notes) else []),
        )
    return table


def services_table(status: DevnetStatus) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("relay/builder", "state", "pid", "address", "url"):
        table.add_column(column)
    for service in status.services:
        table.add_row(
            f"{service.name} ({service.kind})",
            Text(service.state, style=STATE_STYLES.get(service.state, "")),
            _cell(service.pid),
            service.address,
            _cell(service.url),
        )
    return table


def sourcing_table(status: DevnetStatus) -> Table:
    """Each producer's record of its relays (docs/relays.md): what it asked, got, and caught."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("producer", "relay", "asked", "bids", "wins", "faults", "record", "bought"):
        table.add_column(column, justify="right" if column in ("asked", "bids", "wins") else "left")
    for node in status.nodes:
        for relay in node.relays or []:
            faults = ", ".join(f"{kind} {n}" for kind, n in relay["faults"].items()) or "-"
            if relay["dropped_at_slot"]:
                record = Text(f"dropped @{relay['dropped_at_slot']}", style="red")
            elif relay["benched_until_slot"]:
                record = Text(f"benched until @{relay['benched_until_slot']}", style="yellow")
            else:
                record = Text("asked", style="green")
            table.add_row(
                node.name,
                str(relay["name"]),
                str(relay["asked"]),
                str(relay["bids"]),
                str(relay["wins"]),
                faults,
                record,
                f"{node.from_builders} of last {RELAY_BLOCKS}",
            )
    return table


def behaviour_cell(behaviour: dict[str, Any] | None) -> Text:
    """`honest`, or the attack with its arguments that are not the defaults, highlighted: what
    a researcher scans the table for (every argument is in `-o json`)."""
    if behaviour is None:
        return Text("-")
    name = behaviour["name"]
    if name == HONEST:
        return Text(name, style="dim")
    cls = BEHAVIOURS.get(name)
    defaults = {p.name: p.type.show(p.default) for p in cls.params} if cls else {}
    shown = [
        f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in behaviour["args"].items()
        if key not in defaults or defaults[key] != value
    ]
    text = " ".join([name, *shown])
    if len(text) > BEHAVIOUR_CHARS:
        text = text[: BEHAVIOUR_CHARS - 3] + "..."
    return Text(text, style="bold magenta")


def _note(node: NodeStatus) -> str:
    if node.foreign:
        return node.foreign  # whole: the port and the network are what the user needs
    if node.error:
        return node.error if len(node.error) < 60 else node.error[:57] + "..."
    return ""


def chain_lines(status: DevnetStatus) -> Text:
    producers = ", ".join(
        f"{entry['slot']} {entry['node'] or entry['producer'][:10]}"
        for entry in status.next_producers[:PRODUCERS_SHOWN]
    )
    up = sum(node.up for node in status.nodes)
    lines = [
        f"devnet {status.name} ({status.preset}, chain {status.chain_id}): "
        f"{up}/{len(status.nodes)} nodes up, in {status.dir}",
        f"next producers by slot: {producers or '-'}",
        f"open pools: {_cell(status.open_pools)}",
    ]
    return Text("\n".join(lines))


def live_view(status: DevnetStatus | None) -> RenderableType:
    """What the foreground `devnet up` redraws in place every refresh."""
    if status is None:
        return Text("collecting status...")
    return Group(
        chain_lines(status),
        Text(""),
        nodes_table(status),
        Text(""),
        *([Text(f"send a transaction: {status.hint}", style="dim")] if status.hint else []),
        Text("Ctrl-C stops every node", style="dim"),
    )


def accounts_table(status: DevnetStatus) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("account", "address", "$", "gREP", "key file"):
        table.add_column(column, justify="right" if column in ("$", "gREP") else "left")
    for account in status.accounts:
        table.add_row(
            account.name,
            account.address,
            _amount(account.balance),
            _amount(account.grep),
            account.key_file,
        )
    return table


def _amount(base_units: str | None) -> str:
    return "-" if base_units is None else format_amount(int(base_units))


def accounts_block(status: DevnetStatus) -> RenderableType:
    """The dev accounts, every node's RPC and the commands to use them, as anvil prints them
    at start: what a newcomer needs to begin."""
    first = status.accounts[0].name if status.accounts else "alice"
    nodes = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("node", "rpc", "p2p"):
        nodes.add_column(column)
    for index, node in enumerate(status.nodes):
        nodes.add_row(
            node.name, node.rpc + ("  (the accounts' node)" if index == 0 else ""), node.p2p
        )
    other = status.nodes[1].rpc if len(status.nodes) > 1 else None
    commands = [
        *([status.hint] if status.hint else []),
        status.command(f"chain account {first}"),
        status.command("gov list"),
        *([f"{status.program} chain head --rpc {other}"] if other else []),
    ]
    return Group(
        Text(
            f"dev accounts (password: empty, press Enter at the prompt; key files in "
            f"{status.accounts_datadir}/keystore):",
            style="bold",
        ),
        accounts_table(status),
        Text(""),
        nodes,
        Text(""),
        Text("try:", style="bold"),
        Text("\n".join(f"  {line}" for line in commands)),
    )


def status_view(status: DevnetStatus) -> RenderableType:
    """`devnet status`: the live view's content plus the dev accounts and how to use them."""
    parts: list[RenderableType] = [chain_lines(status), Text(""), nodes_table(status)]
    if status.services:
        parts += [Text(""), services_table(status)]
    if any(node.relays for node in status.nodes):
        parts += [Text(""), sourcing_table(status)]
    if status.accounts:
        parts += [Text(""), accounts_block(status)]
    if status.controller_pid is not None:
        parts.append(Text(f"controlled by a foreground `devnet up` (pid {status.controller_pid})"))
    return Group(*parts)


def report_view(report: dict[str, Any]) -> RenderableType:
    """`devnet report`: the nodes and their behaviours, the producers' figures, censorship."""
    head = f"devnet {report['devnet']} (chain {report['chain_id']})"
    if report["source"] is None:
        return Group(Text(f"{head}: no node answers, nothing to report"), _report_nodes(report))
    lines = [
        f"{head}: blocks #{report['first_block']}..#{report['head']}, read from "
        f"{report['source']} (verdicts from every node that answers)"
    ]
    if report["missed_unknown"]:
        lines.append(f"missed slots unknown before {report['missed_unknown']} old block(s)")
    parts: list[RenderableType] = [
        Text("\n".join(lines)),
        Text(""),
        _report_nodes(report),
        Text(""),
        _report_producers(report),
        Text(""),
    ]
    parts.append(
        _report_censored(report) if report["censored"] else Text("no transaction judged censored")
    )
    return Group(*parts)


def _report_nodes(report: dict[str, Any]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("node", "state", "height", "behaviour", "note"):
        table.add_column(column, justify="right" if column == "height" else "left")
    for node in report["nodes"]:
        note = f"twin of {node['twin_of']}" if node["twin_of"] else (node["error"] or "")
        table.add_row(
            node["name"],
            Text(node["state"], style=STATE_STYLES.get(node["state"], "")),
            _cell(node["height"]),
            behaviour_cell(node["behaviour"]),
            note,
        )
    return table


def _report_producers(report: dict[str, Any]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    columns = [
        "producer",
        "REP start",
        "REP now",
        "change",
        "produced",
        "accepted",
        "rejected",
        "open",
        "against cast",
        "against recv",
        "missed",
        "slashed",
    ]
    for column in columns:
        table.add_column(column, justify="left" if column == "producer" else "right")
    for p in report["producers"]:
        change = p["rep_change"]
        style = "" if change is None else ("green" if not change.startswith("-") else "red")
        table.add_row(
            "+".join(p["processes"]),
            p["rep_start"],
            _cell(p["rep_now"]),
            Text(_cell(change), style=style),
            str(p["blocks_produced"]),
            str(p["blocks_accepted"]),
            str(p["blocks_rejected"]),
            str(p["blocks_open"]),
            str(p["against_cast"]),
            str(p["against_received"]),
            str(p["missed_slots"]),
            _cell(p.get("slashed")),
        )
    return table


def _report_censored(report: dict[str, Any]) -> RenderableType:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("transaction", "kind", "from", "judged by", "verdicts", "included", "delay"):
        table.add_column(column, justify="right" if column in ("verdicts", "delay") else "left")
    for tx in report["censored"][:CENSORED_SHOWN]:
        delay = tx.get("delay_ms")
        table.add_row(
            tx["hash"][:18],
            tx["kind"],
            tx["from"][:12],
            ",".join(tx["judged_by"]),
            str(tx["against_verdicts"]),
            "-" if tx.get("included_block") is None else f"#{tx['included_block']}",
            "not yet" if delay is None else f"{delay / 1000:.2f} s",
        )
    delays = [tx["delay_ms"] for tx in report["censored"] if tx.get("delay_ms") is not None]
    summary = f"{report['censored_total']} transaction(s) judged censored"
    if delays:
        delays.sort()
        summary += (
            f"; {len(delays)} included since, delay from first seen: median "
            f"{delays[len(delays) // 2] / 1000:.2f} s, max {delays[-1] / 1000:.2f} s"
        )
    shown = min(CENSORED_SHOWN, len(report["censored"]))
    if shown < report["censored_total"]:
        summary += f" (table: first {shown}; -o json lists {report['censored_listed']})"
    return Group(Text(summary), table)


def print_unclipped(console: Console, renderable: RenderableType) -> None:
    """Print at the renderable's natural width when the output is not a terminal (a pipe, a
    file), so URLs and paths are never cut at 80 columns; a terminal keeps its own width."""
    if console.is_terminal:
        console.print(renderable)
        return
    wide = console.options.update(width=MAX_PIPE_WIDTH)
    width = max(console.width, Measurement.get(console, wide, renderable).maximum)
    Console(file=console.file, width=width, highlight=False, soft_wrap=True).print(renderable)


HEADS_LEGEND = (
    f"every {SUMMARY_SECONDS:g} s a 'heads' line: NODE=#HEIGHT/FINALIZED/PEERSp for each node "
    "(or its state: down, paused)"
)


def summary_line(status: DevnetStatus) -> str:
    """The devnet in one line, for logs: each node's height/finalized/peers, or its state."""
    parts = []
    for node in status.nodes:
        if node.foreign:
            parts.append(f"{node.name}=foreign({node.foreign})")
        elif node.height is None:
            parts.append(f"{node.name}={node.state}")
        else:
            parts.append(f"{node.name}=#{node.height}/{node.finalized}/{_cell(node.peers)}p")
    return "heads " + " ".join(parts)


class ForegroundView:
    """What the foreground `devnet up` shows. On a terminal, the status table redrawn in place
    (rich.live) with events printed above it; elsewhere (a file, a pipe, CI) no redrawing,
    which would only fill the file: event lines, and a summary line every SUMMARY_SECONDS."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None
        self._last_summary = 0.0

    def __enter__(self) -> ForegroundView:
        if self.console.is_terminal:
            self.live = Live(
                live_view(None), console=self.console, auto_refresh=False, redirect_stderr=False
            )
            self.live.__enter__()
        else:
            self.event(HEADS_LEGEND)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live is not None:
            self.live.__exit__(kind, exc, tb)

    def status(self, status: DevnetStatus) -> None:
        if self.live is not None:
            self.live.update(live_view(status), refresh=True)
        elif time.monotonic() - self._last_summary >= SUMMARY_SECONDS:
            self._last_summary = time.monotonic()
            self.event(summary_line(status))

    def event(self, line: str) -> None:
        self.console.print(f"{time.strftime('%H:%M:%S')} {line}", highlight=False)
