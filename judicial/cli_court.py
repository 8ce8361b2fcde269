"""`porchain jud accuse`, `jud cases` and `jud case`: accuse a block of censorship, and follow
the cases over the `jud_` RPC methods (tables, or the RPC's JSON with `-o json`).

`accuse` signs and sends from the keystore like `porchain tx` (fees, nonces, `--wait`); the
block is named by number (the canonical block at that height) or by hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from judicial.court import Accusation
from judicial.rpc_court import STATUSES
from porchain.cli.common import emit, fields, output_option, rpc_client, rpc_option, table
from porchain.cli.tx import amount_arg, send_transaction, tx_options
from porchain.errors import PorchainError
from porchain.rpc.client import RPCClient
from porchain.types.transactions import TxKind
from porchain.units import format_amount

HASH_HEX = 66  # "0x" + 64 hex digits


def parse_hash(value: str, what: str) -> bytes:
    if len(value) != HASH_HEX or not value.startswith("0x"):
        raise click.BadParameter(f"{value!r} is not a 0x-prefixed 32-byte hash", param_hint=what)
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise click.BadParameter(f"{value!r} is not hex", param_hint=what) from None


def block_hash_of(client: RPCClient, block: str) -> bytes:
    """BLOCK as a hash: a hash as given, a number through the node's canonical chain."""
    if block.startswith("0x"):
        return parse_hash(block, "BLOCK")
    if not block.isdigit():
        raise click.BadParameter(
            f"{block!r} is neither a block number nor a hash", param_hint="BLOCK"
        )
    found = client.call("por_getBlockByNumber", int(block))
    if found is None:
        raise PorchainError(f"no block #{block} on the node's chain")
    return bytes.fromhex(found["hash"][2:])


def rep(value: str | None) -> str:
    return "-" if value is None else f"{format_amount(int(value))} REP"


@click.command("accuse")
@click.argument("block")
@click.option(
    "--tx",
    "txs",
    multiple=True,
    required=True,
    metavar="HASH",
    help="A transaction the block should have included. Repeatable.",
)
@click.option("--stake", required=True, callback=amount_arg, help="REP to stake, e.g. 10.")
@tx_options
@click.pass_context
def accuse(
    ctx: click.Context,
    block: str,
    txs: tuple[str, ...],
    stake: int,
    sender: str,
    password_file: Path | None,
    **options: Any,
) -> None:
    """Accuse BLOCK (a number or a hash) of censoring the --tx transactions, staking REP.

    A jury drawn after the accusation judges it; see `porchain jud case ID`.
    """
    hashes = tuple(parse_hash(h, "--tx") for h in txs)
    client = rpc_client(ctx, options["rpc_url"])
    payload = Accusation(block_hash_of(client, block), hashes, stake)
    send_transaction(
        ctx, TxKind.ACCUSE, payload.to_rlp(), sender=sender, password_file=password_file, **options
    )


@click.command("cases")
@click.option("--status", type=click.Choice(STATUSES), help="A phase, or open (not closed).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@rpc_option
@output_option
@click.pass_context
def cases(
    ctx: click.Context, status: str | None, limit: int, rpc_url: str | None, output: str
) -> None:
    """Accusations and their cases, newest first."""
    page = rpc_client(ctx, rpc_url).call("jud_listCases", status, limit)

    def render(d: dict[str, Any]) -> None:
        table(
            "ID",
            "PHASE",
            "VERDICT",
            "BLOCK",
            "ACCUSED",
            "ACCUSER",
            "STAKE",
            rows=[
                [
                    str(x["id"]),
                    x["phase"],
                    x["verdict"] or "-",
                    f"#{x['block_number']}",
                    x["accused"],
                    x["accuser"],
                    rep(x["stake"]),
                ]
                for x in d["cases"]
            ],
        )

    emit(output, page, render)


@click.command("case")
@click.argument("case_id", metavar="ID", type=click.IntRange(1))
@rpc_option
@output_option
@click.pass_context
def case(ctx: click.Context, case_id: int, rpc_url: str | None, output: str) -> None:
    """A case: its phase, jurors, commits, reveals, verdict and payouts."""
    found = rpc_client(ctx, rpc_url).call("jud_getCase", case_id)
    if found is None:
        raise PorchainError(f"no case #{case_id}")
    emit(output, found, render_case)


def render_case(d: dict[str, Any]) -> None:
    ends = f" (until block #{d['phase_ends']})" if d["phase_ends"] else ""
    rows: list[tuple[str, Any]] = [
        ("case", f"#{d['id']}"),
        ("phase", d["phase"] + ends),
        ("verdict", d["verdict"] or "-"),
        ("accused", d["accused"]),
        ("accuser", f"{d['accuser']} staking {rep(d['stake'])}"),
        ("block", f"#{d['block_number']} {d['block_hash']}"),
        ("filed", f"block #{d['filed_at']}, jury drawn at #{d['draw_at']}"),
    ]
    rows += [("tx", h) for h in d["txs"]]
    if d["mix"]:
        rows.append(("mix", f"{d['mix']} (epoch {d['mix_epoch']})"))
    rows.append(("ballots", f"{d['commits']} committed, {d['reveals']} revealed"))
    if d["closed_at"]:
        tally = d["tally"]
        rows.append(
            (
                "tally",
                f"guilty {rep(tally['guilty_weight'])}, not guilty "
                f"{rep(tally['not_guilty_weight'])}; closed at #{d['closed_at']}",
            )
        )
        pay = d["payouts"]
        rows += [
            ("slashed", rep(pay["slashed"])),
            ("accuser got", f"{rep(pay['accuser_returned'])} back + {rep(pay['flagger_reward'])}"),
            ("jurors got", rep(pay["jurors"])),
            ("penalties", rep(pay["penalties"])),
            ("burned", rep(pay["burned"])),
        ]
    fields(rows)
    if d["jurors"]:
        click.echo()
        table(
            "JUROR",
            "WEIGHT",
            "COMMITTED",
            "VOTE",
            "PAID",
            "LOST",
            rows=[
                [
                    j["address"],
                    rep(j["weight"]),
                    "yes" if j["committed"] else "no",
                    j["vote"] or "-",
                    rep(j["payout"]),
                    rep(j["penalty"]),
                ]
                for j in d["jurors"]
            ],
        )
