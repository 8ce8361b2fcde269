"""How `porchain devnet` shows a devnet: the node table (live or once), producers, accounts."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from porchain.devnet.status import DevnetStatus, NodeStatus

STATE_STYLES = {"running": "green", "paused": "yellow", "down": "red"}
PRODUCERS_SHOWN = 6


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def nodes_table(status: DevnetStatus) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("node", "state", "pid", "height", "final", "peers", "rpc", "p2p", "note"):
        table.add_column(
            column, justify="right" if column in ("height", "final", "peers") else "left"
        )
    for node in status.nodes:
        table.add_row(
            node.name,
            Text(node.state, style=STATE_STYLES.get(node.state, "")),
            _cell(node.pid),
            _cell(node.height),
            _cell(node.finalized),
            _cell(node.peers),
            node.rpc,
            node.p2p,
            _note(node),
        )
    return table


def _note(node: NodeStatus) -> str:
    if node.error and node.error != "paused":
        return node.error if len(node.error) < 60 else node.error[:57] + "..."
    return ""


def chain_lines(status: DevnetStatus) -> Text:
    producers = ", ".join(
        f"{entry['node'] or entry['producer'][:10]}@{entry['slot']}"
        for entry in status.next_producers[:PRODUCERS_SHOWN]
    )
    up = sum(node.alive for node in status.nodes)
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
        Text(f"send a transaction: {status.hint}", style="dim"),
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
