"""`porchain rep encumber|release|status`: availability in the ASC."""

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
)
from porchain.cli.tx import amount_arg, send_transaction, tx_options
from porchain.consensus.asc import Amount
from porchain.rpc.params import hex0x
from porchain.types.transactions import TxKind
from porchain.units import format_amount


@click.group()
def rep() -> None:
    """Encumber REP to produce blocks, release it, and see where an account's REP sits."""


@rep.command("encumber")
@click.argument("amount", callback=amount_arg)
@tx_options
@click.pass_context
def rep_encumber(ctx: click.Context, amount: int, **options: Any) -> None:
    """Move AMOUNT free REP into the ASC: it makes the account available to produce."""
    send_transaction(ctx, TxKind.ENCUMBER, Amount(amount).to_rlp(), **options)


@rep.command("release")
@click.argument("amount", callback=amount_arg)
@tx_options
@click.pass_context
def rep_release(ctx: click.Context, amount: int, **options: Any) -> None:
    """Release AMOUNT REP from the ASC; it becomes free after the unbonding epochs."""
    send_transaction(ctx, TxKind.RELEASE, Amount(amount).to_rlp(), **options)


@rep.command("status")
@click.argument("account")
@rpc_option
@output_option
@click.pass_context
def rep_status(ctx: click.Context, account: str, rpc_url: str | None, output: str) -> None:
    """Where ACCOUNT's REP sits: free, in the ASC, staked in pools, unbonding."""
    data = rpc_client(ctx, rpc_url).call(
        "por_getAccount", hex0x(resolve_account(home(ctx), account))
    )

    def rep(value: str) -> str:
        return f"{format_amount(int(value))} REP"

    def render(d: dict[str, Any]) -> None:
        rows = [
            ("address", d["address"]),
            ("free", rep(d["rep"])),
            ("encumbered (ASC)", rep(d["rep_encumbered"])),
            ("staked in pools", rep(d["rep_staked"])),
            ("  of which from the ASC", rep(d["rep_staked_encumbered"])),
            ("ASC weight", rep(d["asc_weight"])),
            ("pending release", rep(d["rep_pending"])),
            ("missed slots in a row", d["missed_slots"]),
        ]
        rows += [(f"  frees after epoch {u['epoch']}", rep(u["amount"])) for u in d["unbonding"]]
        fields(rows)

    emit(output, data, render)
