"""`porchain gov`: the forum and proposals from the command line (PROTOCOL section 10).

Loaded by porchain's CLI through the `porchain.cli` entry point. Queries (`list`, `show`,
`tally`, `graph`, `wsc`) read a node over the `gov_` RPC methods and print tables, or the
RPC's JSON with `-o json`; the commands that write live in `governance.cli_write` (`draft`,
`dry-run`, `propose`, `cite`) and `governance.cli_vote` (`vote`). Errors are one line,
through porchain's CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from governance import render
from governance.cli_vote import vote
from governance.cli_write import cite, draft, dry_run, propose
from governance.objects import KINDS, POST_STATUSES, STAGES
from porchain.cli.common import (
    emit,
    fields,
    home,
    output_option,
    resolve_account,
    rpc_client,
    rpc_option,
    table,
)
from porchain.errors import PorchainError
from porchain.extras import require_research
from porchain.rpc.client import RPCClient
from porchain.units import format_amount


def grep(value: str | None) -> str:
    return "-" if value is None else f"{format_amount(int(value))} gREP"


def weight(ppm: int) -> str:
    return f"{ppm / 10_000:g}%"


def fetch(client: RPCClient, method: str, post_id: str, *args: Any) -> Any:
    """A `gov_` query on one post; an unknown post is an error line, not `null`."""
    found = client.call(method, post_id, *args)
    if found is None:
        raise PorchainError(f"no post {post_id}")
    return found


@click.group()
def gov() -> None:
    """Legislative governance: posts, proposals, votes, the citation graph, the WSC."""


for command in (draft, dry_run, propose, cite, vote):
    gov.add_command(command)


# -- list and show -------------------------------------------------------------------------------


def status_of(post: dict[str, Any]) -> str:
    """A comment's status, a proposal's stage (its value pool's status is in `show`)."""
    proposal = post["proposal"]
    return post["status"] if proposal is None else proposal["stage"]


@gov.command("list")
@click.option(
    "--status",
    type=click.Choice(list(dict.fromkeys(POST_STATUSES + STAGES))),
    help="A post status or a proposal stage.",
)
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--author", help="Only posts by this account (an address or a key name).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@rpc_option
@output_option
@click.pass_context
def gov_list(
    ctx: click.Context,
    status: str | None,
    kind: str | None,
    author: str | None,
    limit: int,
    rpc_url: str | None,
    output: str,
) -> None:
    """Posts and proposals, newest first."""
    address = None if author is None else "0x" + resolve_account(home(ctx), author).hex()
    posts = rpc_client(ctx, rpc_url).call("gov_listPosts", kind, status, address, limit)

    def render_list(rows: list[dict[str, Any]]) -> None:
        table(
            "ID",
            "KIND",
            "STATUS",
            "gREP",
            "BLOCK",
            "TITLE",
            rows=[
                [
                    render.short_id(p["id"]),
                    p["kind"],
                    status_of(p),
                    format_amount(int(p["value"])),
                    f"#{p['created_at']}",
                    p["title"],
                ]
                for p in rows
            ],
        )

    emit(output, posts, render_list)


@gov.command("show")
@click.argument("post_id", metavar="ID")
@rpc_option
@output_option
@click.pass_context
def gov_show(ctx: click.Context, post_id: str, rpc_url: str | None, output: str) -> None:
    """A post in full: authors, citations, value, its pool; a proposal's stage and changes."""
    post = fetch(rpc_client(ctx, rpc_url), "gov_getPost", post_id)

    def render_post(p: dict[str, Any]) -> None:
        rows: list[tuple[str, Any]] = [
            ("id", p["id"]),
            ("kind", p["kind"]),
            ("title", p["title"]),
            *([("stage", p["proposal"]["stage"])] if p["proposal"] is not None else []),
            *([("status", p["status"])] if p["proposal"] is None else []),
            ("value", grep(p["value"])),
            ("created", f"block #{p['created_at']}"),
            (
                "value pool",
                f"#{p['pool_id']} ({p['pool_status']}, closes after #{p['pool_closes_at']})",
            ),
        ]
        rows += [("author", f"{a['address']} {weight(a['weight_ppm'])}") for a in p["authors"]]
        rows += [
            ("cites", f"{weight(c['weight_ppm'])} {c['post']} {c['title']!r}")
            for c in p["citations"]
        ]
        proposal = p["proposal"]
        if proposal is not None:
            if proposal["stage_pool_id"]:
                closes = proposal["stage_pool_closes_at"]
                rows.append(
                    (
                        "stage pool",
                        f"#{proposal['stage_pool_id']} ({proposal['stage_pool_status']}, "
                        f"closes after #{closes})",
                    )
                )
            elif proposal["stage_ends"]:  # discussion: no pool, it ends at a block
                rows.append(("stage ends", f"block #{proposal['stage_ends']}"))
            if proposal["activation_height"]:
                rows.append(("active from", f"block #{proposal['activation_height']}"))
            if proposal["wsc_id"]:
                rows.append(("wsc", f"#{proposal['wsc_id']}"))
            for key, value in (proposal["wsc_params"] or {}).items():
                rows.append((f"  set {key}", value))
        fields(rows)
        if p["body"]:
            click.echo("")
            click.echo(p["body"].rstrip("\n"))

    emit(output, post, render_post)


# -- tally ---------------------------------------------------------------------------------------


@gov.command("tally")
@click.argument("post_id", metavar="ID")
@rpc_option
@output_option
@click.pass_context
def gov_tally(ctx: click.Context, post_id: str, rpc_url: str | None, output: str) -> None:
    """Each pool of a post: for, against, staked against the quorum, the win ratio."""
    tally = fetch(rpc_client(ctx, rpc_url), "gov_tally", post_id)

    def render_tally(t: dict[str, Any]) -> None:
        click.echo(f"{t['id']} {t['title']!r} at block #{t['head']}")
        click.echo("(gREP; QUORUM is staked/needed, FOR% is the FOR share/the share needed)")
        table(
            "POOL",
            "VOTE",
            "STATUS",
            "FOR",
            "AGAINST",
            "QUORUM",
            "FOR%",
            "CLOSES",
            rows=[
                [
                    f"#{p['pool_id']}",
                    p["kind"],
                    p["status"] + (f"→{p['projected']}" if p["projected"] else ""),
                    format_amount(int(p["for"])),
                    format_amount(int(p["against"])),
                    f"{format_amount(int(p['staked']))}/{format_amount(int(p['quorum_needed']))}",
                    (
                        "-"
                        if p["for_ratio_ppm"] is None
                        else f"{p['for_ratio_ppm'] / 10_000:.1f}/{p['win_ratio_ppm'] / 10_000:g}"
                    ),
                    f"#{p['closes_at']}",
                ]
                for p in t["pools"]
            ],
        )

    emit(output, tally, render_tally)


# -- graph ---------------------------------------------------------------------------------------


@gov.command("graph")
@click.argument("post_id", metavar="ID")
@click.option("--depth", type=click.IntRange(0, 16), default=3, show_default=True)
@click.option(
    "--dot", "dot_path", type=click.Path(dir_okay=False, path_type=Path), help="Write DOT here."
)
@click.option(
    "--png", "png_path", type=click.Path(dir_okay=False, path_type=Path), help="Draw a PNG here."
)
@rpc_option
@output_option
@click.pass_context
def gov_graph(
    ctx: click.Context,
    post_id: str,
    depth: int,
    dot_path: Path | None,
    png_path: Path | None,
    rpc_url: str | None,
    output: str,
) -> None:
    """The citation graph of a post: what it cites (DEPTH hops) and who cites it."""
    if png_path is not None:
        require_research("gov graph --png")
    graph = fetch(rpc_client(ctx, rpc_url), "gov_citationGraph", post_id, depth)
    written = write_graph_files(graph, dot_path, png_path)

    def render_graph(g: dict[str, Any]) -> None:
        for line in render.tree_lines(g):
            click.echo(line)

    emit(output, graph, render_graph)
    for path in written:
        click.echo(f"wrote {path}", err=True)


def write_graph_files(graph: dict[str, Any], dot: Path | None, png: Path | None) -> list[Path]:
    written = []
    if dot is not None:
        dot.write_text(render.to_dot(graph))
        written.append(dot)
    if png is not None:
        render.write_png(graph, png)
        written.append(png)
    return written


# -- the WSC -------------------------------------------------------------------------------------


@gov.command("wsc")
@click.option("--history", is_flag=True, help="Every WSC since genesis, not only the active one.")
@rpc_option
@output_option
@click.pass_context
def gov_wsc(ctx: click.Context, history: bool, rpc_url: str | None, output: str) -> None:
    """The active Work Smart Contract (its parameters), or the history of WSCs."""
    client = rpc_client(ctx, rpc_url)
    if history:
        records = client.call("gov_wscHistory")
        emit(output, records, render_history)
    else:
        emit(output, client.call("gov_activeWsc"), render_wsc)


def render_wsc(w: dict[str, Any]) -> None:
    fields(
        [
            ("wsc", f"#{w['id']}" + (" (active)" if w["active"] else "")),
            ("active from", f"block #{w['activated_at']}"),
            ("author", w["author"] or "-"),
            ("post", f"{w['post']} {w['post_title']!r}" if w["post"] else "- (genesis)"),
        ]
    )
    table("PARAMETER", "VALUE", rows=[[k, str(v)] for k, v in sorted(w["params"].items())])


def render_history(records: list[dict[str, Any]]) -> None:
    previous: dict[str, Any] = {}
    rows = []
    for w in records:
        changed = {k: v for k, v in w["params"].items() if previous and previous.get(k) != v}
        rows.append(
            [
                f"#{w['id']}" + (" *" if w["active"] else ""),
                f"#{w['activated_at']}",
                render.short_id(w["post"]) if w["post"] else "genesis",
                ", ".join(f"{k}={v}" for k, v in sorted(changed.items())) or "-",
            ]
        )
        previous = w["params"]
    table("WSC", "FROM", "POST", "CHANGES", rows=rows)
