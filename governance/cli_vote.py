"""`porchain gov vote`: stake gREP on a post, in the pool that is open for it.

A post may have up to three pools: its own (its value), and for a proposal the sentiment and
binding votes (whether its changes take effect). By default a vote goes where the member most
likely means it: the proposal's open stage vote, else the post's value pool; `--pool` names one.

`--await-pool post|sentiment|binding` waits for that pool to open (the post to be in a block,
the proposal to reach that stage) and votes in it at once: the costly part (starting, unlocking
the key) is done before, so the vote reaches the chain a block or two after the pool opens
however slow the machine, instead of racing the pool's close.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from governance.cli_write import lookup_post
from porchain.cli.common import rpc_client, unlock_key
from porchain.cli.tx import POLL_SECONDS, amount_arg, send_with_key, tx_options
from porchain.consensus.pool_codes import AGAINST, FOR
from porchain.consensus.pools import Vote
from porchain.errors import PorchainError
from porchain.rpc.client import RPCClient
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
        return post["pool_id"], "the post's value pool"
    where = f"its value pool #{post['pool_id']} is {post['pool_status']}"
    if proposal is not None:
        where += f", the proposal is in stage {proposal['stage']}"
        if proposal["stage"] == "discussion":
            where += f" (the sentiment vote opens at block #{proposal['stage_ends']})"
    raise PorchainError(f"no open pool to vote on for post {post['id'][:10]} at #{head}: {where}")


def named_pool(post: dict[str, Any], pool_id: int) -> str:
    """What `--pool` names, refusing a pool that is not one of the post's."""
    pools = {post["pool_id"]: "the post's value pool"}
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


AWAITABLE = ("post", "sentiment", "binding")
STAGES_BEFORE = {"sentiment": ("discussion",), "binding": ("discussion", "sentiment")}


def awaited_pool(post: dict[str, Any] | None, kind: str, head: int) -> tuple[int, str] | None:
    """The post's `kind` pool if a vote can go to it now, None while it has yet to open;
    PorchainError once it never will."""
    if post is None:
        return None  # the post is not in a block yet
    if kind == "post":
        if post["pool_status"] == "open" and head < post["pool_closes_at"]:
            return post["pool_id"], "the post's value pool"
        raise PorchainError(
            f"the value pool #{post['pool_id']} of post {post['id'][:10]} is {post['pool_status']}"
        )
    proposal = post["proposal"]
    if proposal is None:
        raise PorchainError(f"post {post['id'][:10]} is a comment: it has no {kind} vote")
    stage = proposal["stage"]
    if stage in STAGES_BEFORE[kind]:
        return None
    if stage == kind and proposal["stage_pool_status"] == "open":
        if head < proposal["stage_pool_closes_at"]:
            return proposal["stage_pool_id"], f"{kind} vote"
        raise PorchainError(f"the {kind} vote closed at block #{proposal['stage_pool_closes_at']}")
    raise PorchainError(f"the proposal {post['id'][:10]} is past its {kind} vote: {stage}")


def wait_for_pool(client: RPCClient, post_id: str, kind: str, timeout: float) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        post = client.call("gov_getPost", post_id)
        found = awaited_pool(post, kind, client.call("por_blockNumber"))
        if found is not None:
            return found
        if not announced:
            click.echo(f"waiting for the {kind} pool of post {post_id[:10]} to open", err=True)
            announced = True
        if time.monotonic() > deadline:
            raise PorchainError(f"the {kind} pool of post {post_id[:10]} not open in {timeout:g} s")
        time.sleep(POLL_SECONDS)


@click.command("vote")
@click.argument("post_id", metavar="ID")
@click.argument("side", type=click.Choice(["for", "against"]))
@click.option("--stake", required=True, callback=amount_arg, help="gREP to stake, e.g. 25.")
@click.option("--pool", "pool_id", type=click.IntRange(1), help="Vote in this pool instead.")
@click.option(
    "--await-pool",
    type=click.Choice(AWAITABLE),
    help="Wait (up to --timeout) for the post's value pool or the proposal's stage vote to open, "
    "then vote in it at once.",
)
@tx_options
@click.pass_context
def vote(
    ctx: click.Context,
    post_id: str,
    side: str,
    stake: int,
    pool_id: int | None,
    await_pool: str | None,
    sender: str,
    password_file: Path | None,
    **options: Any,
) -> None:
    """Stake gREP FOR or AGAINST a post (ID or a unique prefix): by default in the
    proposal's open stage vote, else in the post's value pool."""
    if stake == 0:
        raise click.BadParameter("stake some gREP (more than 0)", param_hint="--stake")
    if await_pool and pool_id is not None:
        raise click.UsageError("--pool and --await-pool name the pool twice: give one")
    client = rpc_client(ctx, options["rpc_url"])
    if await_pool:
        key = unlock_key(ctx, sender, password_file)  # the slow part, before the pool opens
        pool_id, what = wait_for_pool(client, post_id, await_pool, options["timeout"])
    else:
        post = lookup_post(client, post_id)
        if pool_id is None:
            pool_id, what = open_pool_of(post, client.call("por_blockNumber"))
        else:
            what = named_pool(post, pool_id)
        key = unlock_key(ctx, sender, password_file)
    choice = FOR if side == "for" else AGAINST
    send_with_key(ctx, key, TxKind.VOTE, Vote(pool_id, choice, stake).to_rlp(), **options)
    click.echo(
        f"voted {side} with {format_amount(stake)} gREP on pool #{pool_id} ({what})", err=True
    )
