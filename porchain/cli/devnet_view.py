"""How `porchain devnet` shows a devnet: the node table (live or once), producers, accounts."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from porchain.devnet.status import DevnetStatus, NodeStatus

STATE_STYLES = {"running": "green", "paused": "yellow", "down": "red"}
PRODUCERS_SHOWN = 6
MAX_PIPE_WIDTH = 1000
SUMMARY_SECONDS = 10.0


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def nodes_table(status: DevnetStatus) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    notes = [_note(node) for node in status.nodes]
    columns = ["node", "state", "pid", "height", "final", "peers", "rpc", "p2p"]
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
            _cell(node.finalized),
            _cell(node.peers),
            node.rpc,
            node.p2p,
            *([note] if any(notes) else []),
        )
    return table


def _note(node: NodeStatus) -> str:
    if node.foreign:
        return node.foreign  # whole: the port and the network are what the user needs
    if node.error:
        return node.error if len(node.error) < 60 else node.error[:57] + "..."
    return ""


def chain_lines(status: DevnetStatus) -> Text:
    producers = ", ".join(
        f"{entry['node'] or entry['producer'][:10]}@{entry['slot']}"
        for entry in status.next_producers[:PRODUCERS_SHOWN]
    )
    up = sum(node.up for node in status.nodes)
    lines = [
        f"devnet {status.name} ({status.preset}, chain {status.chain_id}): "
        f"{up}/{len(status.nodes)} nodes up, in {status.dir}",
        f"next producers: {producers or '-'}",
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
    for column in ("account", "address", "key file"):
        table.add_column(column)
    for account in status.accounts:
        table.add_row(account.name, account.address, account.key_file)
    return table


def status_view(status: DevnetStatus) -> RenderableType:
    """`devnet status`: the live view's content plus the dev accounts and how to use them."""
    parts: list[RenderableType] = [chain_lines(status), Text(""), nodes_table(status)]
    if status.accounts:
        parts += [
            Text(""),
            accounts_table(status),
            Text(""),
            Text(f"dev accounts have an empty password; node 1 answers for them:\n  {status.hint}"),
        ]
    if status.controller_pid is not None:
        parts.append(Text(f"controlled by a foreground `devnet up` (pid {status.controller_pid})"))
    return Group(*parts)


def print_unclipped(console: Console, renderable: RenderableType) -> None:
    """Print at the renderable's natural width when the output is not a terminal (a pipe, a
    file), so URLs and paths are never cut at 80 columns; a terminal keeps its own width."""
    if console.is_terminal:
        console.print(renderable)
        return
    wide = console.options.update(width=MAX_PIPE_WIDTH)
    width = max(console.width, Measurement.get(console, wide, renderable).maximum)
    Console(file=console.file, width=width, highlight=False, soft_wrap=True).print(renderable)


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
