"""`porchain chain head|block|verdict|account|tx|...`: query a running node over RPC."""

from __future__ import annotations

from typing import Any

import click

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
from porchain.consensus.pool_codes import STATUS_NAMES
from porchain.rpc.client import RemoteError, RPCClient
from porchain.rpc.errors import METHOD_NOT_FOUND
from porchain.rpc.params import hex0x
from porchain.units import format_amount


def amount(value: str, unit: str) -> str:
    return f"{format_amount(int(value))} {unit}".rstrip()


@click.group()
def chain() -> None:
    """Query the chain through a node's RPC."""


@chain.command("head")
@rpc_option
@output_option
@click.pass_context
def chain_head(ctx: click.Context, rpc_url: str | None, output: str) -> None:
    """The head block."""
    block = rpc_client(ctx, rpc_url).call("por_getBlockByNumber", "latest")
    emit(output, block, render_block)


@chain.command("block")
@click.argument("block_id", default="latest")
@click.option("--full", is_flag=True, help="Include whole transactions.")
@rpc_option
@output_option
@click.pass_context
def chain_block(
    ctx: click.Context, block_id: str, full: bool, rpc_url: str | None, output: str
) -> None:
    """A block by number, hash (0x...), "latest", "finalized" or "earliest"."""
    client = rpc_client(ctx, rpc_url)
    if block_id.startswith("0x"):
        block = client.call("por_getBlockByHash", block_id, full)
    elif block_id.isdigit():
        block = client.call("por_getBlockByNumber", int(block_id), full)
    elif block_id in ("latest", "finalized", "earliest"):
        block = client.call("por_getBlockByNumber", block_id, full)
    else:
        raise click.BadParameter(
            "a number, a 0x hash, latest, finalized or earliest", param_hint="BLOCK_ID"
        )
    if block is None:
        raise click.ClickException(f"no block {block_id}")
    emit(output, block, render_block)


@chain.command("verdict")
@click.argument("block_id", default="latest")
@rpc_option
@output_option
@click.pass_context
def chain_verdict(ctx: click.Context, block_id: str, rpc_url: str | None, output: str) -> None:
    """What the node judged about a block (a number, 0x hash or tag) and why: the transactions
    it judged censored, when it first saw each, and its vote."""
    ref: int | str = int(block_id) if block_id.isdigit() else block_id
    verdict = rpc_client(ctx, rpc_url).call("por_getBlockVerdict", ref)
    if verdict is None:
        raise click.ClickException(
            f"no verdict on block {block_id}: the node did not make it its head, or judged "
            "it too long ago"
        )
    emit(output, verdict, render_verdict)


def render_verdict(v: dict[str, Any]) -> None:
    vote = v["vote"]
    fields(
        [
            ("block", f"#{v['number']} {v['block_hash']}"),
            ("slot", f"{v['slot']} (began at {v['slot_start_ms']} ms)"),
            ("judged at", f"{v['judged_at_ms']} ms"),
            ("verdict", v["verdict"] or "not judged"),
            ("censored", v["censored_count"]),
            ("vote", f"{vote['side']} {amount(vote['stake'], 'REP')}" if vote else "none"),
            ("reason", v["reason"] or "-"),
        ]
    )
    if v["censored"]:
        table(
            "TRANSACTION",
            "KIND",
            "FROM",
            "FIRST SEEN (ms)",
            "BEFORE SLOT (ms)",
            rows=[
                [
                    c["hash"],
                    c["kind"],
                    c["from"],
                    str(c["first_seen_ms"]),
                    str(c["seen_before_slot_ms"]),
                ]
                for c in v["censored"]
            ],
        )


def render_block(block: dict[str, Any]) -> None:
    fields(
        [
            ("number", block["number"]),
            ("hash", block["hash"]),
            ("parent", block["parent_hash"]),
            ("slot", block["slot"]),
            ("producer", block["producer"]),
            ("state root", block["state_root"]),
            ("wsc", f"#{block['wsc_id']}"),
            ("pool", f"#{block['pool_id']}" if block["pool_id"] else "none"),
            ("final", "yes" if block["finalized"] else "no"),
            ("size", f"{block['size']} bytes"),
            ("fees", amount(block["fees"], "$")),
            ("transactions", block["tx_count"]),
        ]
    )
    for tx in block["transactions"]:
        click.echo(f"  {tx['hash'] if isinstance(tx, dict) else tx}")


class BlockNumber(click.ParamType):
    """A height or a block tag, as the RPC takes it."""

    name = "block"
    TAGS = ("latest", "finalized", "earliest")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) or value in self.TAGS:
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        self.fail(f"{value!r} is not a block number, latest, finalized or earliest", param, ctx)


@chain.command("account")
@click.argument("account")
@click.option(
    "--block",
    type=BlockNumber(),
    default="latest",
    show_default=True,
    help="Show the account after this block (a number, latest, finalized, earliest).",
)
@rpc_option
@output_option
@click.pass_context
def chain_account(
    ctx: click.Context, account: str, block: int | str, rpc_url: str | None, output: str
) -> None:
    """Balances and REP of ACCOUNT (an address or a key name)."""
    address = resolve_account(home(ctx), account)
    client = rpc_client(ctx, rpc_url)
    data = client.call("por_getAccount", hex0x(address), block)
    data["slashes"] = slashes_of(client, address)

    def render(d: dict[str, Any]) -> None:
        slashed = d["slashes"]
        fields(
            [
                ("address", d["address"]),
                ("at block", f"#{d['block']}"),
                ("nonce", d["nonce"]),
                ("balance", amount(d["balance"], "$")),
                ("salary (claimable)", amount(d["salary_claimable"], "$")),
                ("spendable", amount(d["spendable"], "$")),
                ("REP free", amount(d["rep"], "REP")),
                ("REP encumbered", amount(d["rep_encumbered"], "REP")),
                ("REP pending", amount(d["rep_pending"], "REP")),
                ("REP staked", amount(d["rep_staked"], "REP")),
                ("gREP", amount(d["grep"], "gREP")),
                *(
                    [("slashed", f"{slashed['count']}x, {amount(slashed['total'], 'REP')}")]
                    if slashed is not None
                    else []
                ),
            ]
        )

    emit(output, data, render)


def slashes_of(client: RPCClient, address: bytes) -> dict[str, Any] | None:
    """The account's slashes (`jud_getSlashes`: count, total, the latest) at the head, or None
    from a node without judicial governance."""
    try:
        return client.call("jud_getSlashes", hex0x(address))
    except RemoteError as exc:
        if exc.code != METHOD_NOT_FOUND:
            raise
        return None


@chain.command("tx")
@click.argument("tx_hash")
@rpc_option
@output_option
@click.pass_context
def chain_tx(ctx: click.Context, tx_hash: str, rpc_url: str | None, output: str) -> None:
    """A transaction by hash, with its block and status."""
    data = rpc_client(ctx, rpc_url).call("por_getTransaction", tx_hash)
    if data is None:
        raise click.ClickException(f"unknown transaction {tx_hash}")

    def render(d: dict[str, Any]) -> None:
        rows = [
            ("hash", d["hash"]),
            ("status", d["status"]),
            ("kind", d["kind"]),
            ("from", d["from"]),
            ("nonce", d["nonce"]),
            ("fee", amount(d["fee"], "$")),
        ]
        if d["block_number"] is not None:
            rows.append(("block", f"#{d['block_number']} {d['block_hash']}"))
        for key, value in (d["payload"] or {}).items():
            rows.append((f"  {key}", value))
        fields(rows)

    emit(output, data, render)


@chain.command("schedule")
@click.option("--count", type=click.IntRange(1, 500), default=16, show_default=True)
@rpc_option
@output_option
@click.pass_context
def chain_schedule(ctx: click.Context, count: int, rpc_url: str | None, output: str) -> None:
    """The producers of the next slots (drawn up to the end of the next epoch)."""
    slots = rpc_client(ctx, rpc_url).call("por_getSchedule", count)
    emit(
        output,
        slots,
        lambda rows: table(
            "SLOT",
            "EPOCH",
            "PRODUCER",
            rows=[[str(r["slot"]), str(r["epoch"]), r["producer"]] for r in rows],
        ),
    )


POOL_STATUSES = tuple(STATUS_NAMES.values())


def side_totals(pool: dict[str, Any]) -> tuple[int, int]:
    """FOR and AGAINST: the totals a resolved pool keeps, or an open pool's stakes so far."""
    if pool["status"] != "open":
        return int(pool["for_total"]), int(pool["against_total"])
    staked = {"for": 0, "against": 0}
    for stake in pool["stakes"]:
        staked[stake["side"]] += int(stake["amount"])
    return staked["for"], staked["against"]


@chain.command("pools")
@click.option("--status", type=click.Choice(POOL_STATUSES), help="Only pools with this status.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@rpc_option
@output_option
@click.pass_context
def chain_pools(
    ctx: click.Context, status: str | None, limit: int, rpc_url: str | None, output: str
) -> None:
    """Validation pools, newest first, with their outcome (FOR and AGAINST: the sides' totals
    once resolved, the stakes so far while open)."""
    pools = rpc_client(ctx, rpc_url).call("por_listPools", status, limit)

    def render(rows: list[dict[str, Any]]) -> None:
        table(
            "ID",
            "KIND",
            "TARGET",
            "STATUS",
            "FOR",
            "AGAINST",
            "STAKES",
            "CLOSES",
            rows=[
                [
                    str(p["id"]),
                    p["kind"],
                    f"#{p['block_number']}" if p["block_number"] is not None else p["target"],
                    p["status"],
                    *(amount(str(total), "") for total in side_totals(p)),
                    str(len(p["stakes"])),
                    f"#{p['closes_at']}",
                ]
                for p in rows
            ],
        )

    emit(output, pools, render)


@chain.command("pool")
@click.argument("pool_id", type=click.IntRange(1))
@rpc_option
@output_option
@click.pass_context
def chain_pool(ctx: click.Context, pool_id: int, rpc_url: str | None, output: str) -> None:
    """One validation pool: its terms, every stake and how it was settled."""
    pool = rpc_client(ctx, rpc_url).call("por_getPool", pool_id)
    if pool is None:
        raise click.ClickException(f"no pool #{pool_id}")

    def render(p: dict[str, Any]) -> None:
        fields(
            [
                ("pool", f"#{p['id']} ({p['kind']}, {p['token']})"),
                (
                    "target",
                    f"block #{p['block_number']} {p['block_hash']}"
                    if p["block_number"] is not None
                    else p["target"],
                ),
                ("author", p["author"]),
                ("status", p["status"]),
                ("open", f"#{p['opened_at']} to #{p['closes_at']}"),
                (
                    "minted",
                    f"{amount(p['author_minted'], '')} for the author, "
                    f"{amount(p['unassigned_minted'], '')} unassigned",
                ),
                (
                    "for / against",
                    f"{amount(p['for_total'], '')} / {amount(p['against_total'], '')}",
                ),
                ("burned", amount(p["burned"], p["token"])),
            ]
        )
        table(
            "VOTER",
            "SIDE",
            "STAKE",
            "RETURNED",
            "REWARD",
            rows=[
                [
                    s["voter"] + (" (bond)" if s["bond"] else ""),
                    s["side"],
                    amount(s["amount"], ""),
                    amount(s["returned"], ""),
                    amount(s["reward"], ""),
                ]
                for s in p["stakes"]
            ],
        )

    emit(output, pool, render)
