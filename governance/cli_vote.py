"""`porchain gov vote`: stake gREP on a post, in the pool that is open for it.

A post may have up to three pools: its own (its value), and for a proposal the sentiment and
binding votes (whether its changes take effect). By default a vote goes where the member most
likely means it: the proposal's open stage vote, else the post's own pool; `--pool` names one.
"""

from __future__ import annotations

from typing import Any

import click

from governance.cli_write import lookup_post
from porchain.cli.common import rpc_client
from porchain.cli.tx import amount_arg, send_transaction, tx_options
from porchain.consensus.pools import AGAINST, FOR, Vote
from porchain.errors import PorchainError
from porchain.types.transactions import TxKind
from porchain.units import format_amount


def open_pool_of(post: dict[str, Any], head: int) -> tuple[int, str]:
    """The pool a vote on `post` goes to by default: the proposal's open stage vote, else the
    post's own pool. A vote must land in a block at or before the pool's `closes_at`."""
    proposal = post["proposal"]
    if (
        proposal is not None
        and proposal["stage_pool_id"]
        and proposal["stage_pool_status"] == "open"
        and head < proposal["stage_pool_closes_at"]
    ):
        return proposal["stage_pool_id"], f"{proposal['stage']} vote"
    if post["pool_status"] == "open" and head < post["pool_closes_at"]:
        return post["pool_id"], "the post's own pool"
    where = f"its own pool #{post['pool_id']} is {post['pool_status']}"
    if proposal is not None:
        where += f", the proposal is in stage {proposal['stage']}"
        if proposal["stage"] == "discussion":
            where += f" (the sentiment vote opens at block #{proposal['stage_ends']})"
    raise PorchainError(f"no open pool to vote on for post {post['id'][:10]} at #{head}: {where}")


def named_pool(post: dict[str, Any], pool_id: int) -> str:
    """What `--pool` names, refusing a pool that is not one of the post's."""
    pools = {post["pool_id"]: "the post's own pool"}
    proposal = post["proposal"]
    if proposal is not None:
        for stage in ("sentiment", "binding"):
            if proposal[f"{stage}_pool_id"]:
                pools[proposal[f"{stage}_pool_id"]] = f"{stage} vote"
    if pool_id not in pools:
        listed = ", ".join(f"#{p} ({what})" for p, what in pools.items())
        raise PorchainError(
            f"pool #{pool_id} is not a pool of post {post['id'][:10]} (its pools: {listed})"
        )
    return pools[pool_id]


@click.command("vote")
@click.argument("post_id", metavar="ID")
@click.argument("side", type=click.Choice(["for", "against"]))
@click.option("--stake", required=True, callback=amount_arg, help="gREP to stake, e.g. 25.")
@click.option("--pool", "pool_id", type=click.IntRange(1), help="Vote in this pool instead.")
@tx_options
@click.pass_context
def vote(
    ctx: click.Context,
    post_id: str,
    side: str,
    stake: int,
    pool_id: int | None,
    **options: Any,
) -> None:
    """Stake gREP FOR or AGAINST a post (ID or a unique prefix): by default in the
    proposal's open stage vote, else in the post's own pool."""
    if stake == 0:
        raise click.BadParameter("stake some gREP (more than 0)", param_hint="--stake")
    client = rpc_client(ctx, options["rpc_url"])
    post = lookup_post(client, post_id)
    if pool_id is None:
        pool_id, what = open_pool_of(post, client.call("por_blockNumber"))
    else:
        what = named_pool(post, pool_id)
    choice = FOR if side == "for" else AGAINST
    send_transaction(ctx, TxKind.VOTE, Vote(pool_id, choice, stake).to_rlp(), **options)
    click.echo(
        f"voted {side} with {format_amount(stake)} gREP on pool #{pool_id} ({what})", err=True
    )
