"""`porchain jud evidence list` and `porchain jud slashes ADDRESS`: the offences evidence
punished and the slashes an account suffered, read over `jud_listEvidence` and
`jud_getSlashes` (tables, or the RPC's JSON with `-o json`)."""

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
from porchain.rpc.params import hex0x
from porchain.units import format_amount


def rep(value: str) -> str:
    return f"{format_amount(int(value))} REP"


@click.group()
def evidence() -> None:
    """Objective evidence: equivocations and invalid blocks, and what they slashed."""


@evidence.command("list")
@click.option("--producer", help="Only the offences of this producer (address or key name).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--before", type=click.IntRange(0), help="Only offences below this slot (paging).")
@rpc_option
@output_option
@click.pass_context
def evidence_list(
    ctx: click.Context,
    producer: str | None,
    limit: int,
    before: int | None,
    rpc_url: str | None,
    output: str,
) -> None:
    """The offences punished within the evidence window, highest slot first."""
    who = None if producer is None else hex0x(resolve_account(home(ctx), producer))
    data = rpc_client(ctx, rpc_url).call("jud_listEvidence", who, limit, before)

    def render(offences: list[dict[str, Any]]) -> None:
        if not offences:
            click.echo("no offence punished within the evidence window")
            return
        table(
            "slot",
            "producer",
            "evidence",
            "block",
            "slashed",
            "reward",
            "whistleblower",
            rows=[
                [
                    str(o["slot"]),
                    o["producer"],
                    o["evidence"],
                    f"#{o['block']}",
                    rep(o["slashed"]),
                    rep(o["reward"]),
                    o["whistleblower"],
                ]
                for o in offences
            ],
        )

    emit(output, data, render)


@click.command("slashes")
@click.argument("account")
@rpc_option
@output_option
@click.pass_context
def slashes(ctx: click.Context, account: str, rpc_url: str | None, output: str) -> None:
    """The slashes ACCOUNT (an address or a key name) suffered."""
    address = resolve_account(home(ctx), account)
    data = rpc_client(ctx, rpc_url).call("jud_getSlashes", hex0x(address))

    def render(d: dict[str, Any]) -> None:
        fields([("address", d["address"]), ("slashes", d["count"]), ("total", rep(d["total"]))])
        if d["recent"]:
            table(
                "block",
                "offence",
                "amount",
                "ref",
                rows=[
                    [f"#{s['block']}", s["offence"], rep(s["amount"]), s["ref"]]
                    for s in d["recent"]
                ],
                title="latest",
            )

    emit(output, data, render)
