"""`--wait` sends again a transaction that left the mempool unincluded (dropped with a stale
predecessor from the same key, as a node's own duty VOTE on a pool that closed drops what is
queued behind it): behind 0 $ fillers for the missing nonces, the very same bytes; signed anew
only once its nonce is used by another included transaction. Against an in-process node over
real HTTP, the CLI in a worker thread (tests/test_court_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import trio
from click.testing import CliRunner

from porchain import wallet
from porchain.cli.main import cli
from porchain.cli.tx import resend
from porchain.consensus.transfer import Transfer
from porchain.node import Node
from porchain.rpc.client import RPCClient
from porchain.types.transactions import Transaction, TxKind
from tests.test_court import ACCUSER, OUTSIDER, PARAMS, Court
from tests.test_court_cli import home, served
from tests.test_rpc import Client

__all__ = ["home", "served"]  # the fixtures, used by name
DEADLINE = 60.0


def transfer(court: Court, nonce: int, amount: int = 1) -> Transaction:
    return wallet.sign_transaction(
        ACCUSER,
        chain_id=court.chain.state().chain.chain_id,
        nonce=nonce,
        kind=TxKind.TRANSFER,
        payload=Transfer(OUTSIDER.address, amount).to_rlp(),
        params=PARAMS,
    )


async def pending_count(node: Node, count: int) -> list[Transaction]:
    with trio.fail_after(DEADLINE):
        while len(pending := node.mempool.pending_from(ACCUSER.address)) != count:
            await trio.sleep(0.01)
    return pending


async def test_wait_sends_a_dropped_transaction_again_behind_a_filler(
    served: tuple[Court, Node, Client], home: Path
) -> None:
    court, node, _ = served
    nonce = court.chain.state().account(ACCUSER.address).nonce
    stale = transfer(court, nonce, amount=7)  # stands for the duty's VOTE ahead of ours
    node.submit_transaction(stale.encoded)
    env = {"PORCHAIN_PASSWORD": "", "PORCHAIN_RPC": node.rpc_url or ""}
    args = ["--datadir", str(home), "tx", "transfer", "0x" + OUTSIDER.address.hex(), "2"]
    args += ["--from", "accuser", "--wait", "-o", "json"]
    async with trio.open_nursery() as nursery:
        results = []

        async def run_cli() -> None:
            invoke = lambda: CliRunner().invoke(cli, args, env=env)  # noqa: E731
            results.append(await trio.to_thread.run_sync(invoke))

        nursery.start_soon(run_cli)
        _, ours = await pending_count(node, 2)
        assert ours.nonce == nonce + 1
        node.mempool.remove([stale])  # takes ours with it, as the mempool's revalidation does
        filler, again = await pending_count(node, 2)
        court.block(filler, again)
    (result,) = results
    assert result.exit_code == 0, result.output
    sent = json.loads(result.stdout)
    assert again.hash == ours.hash and sent["hash"] == "0x" + ours.hash.hex()
    assert sent["status"] == "included" and sent["nonce"] == nonce + 1
    assert filler.nonce == nonce and filler.kind == TxKind.TRANSFER
    assert filler.payload == Transfer(ACCUSER.address, 0).to_rlp()


async def test_a_dropped_transaction_whose_nonce_was_used_is_signed_anew(
    served: tuple[Court, Node, Client],
) -> None:
    court, node, _ = served
    nonce = court.chain.state().account(ACCUSER.address).nonce
    dropped = transfer(court, nonce + 1, amount=2)
    court.block(transfer(court, nonce, amount=3), transfer(court, nonce + 1, amount=4))
    client = RPCClient(node.rpc_url or "")
    sent = await trio.to_thread.run_sync(lambda: resend(client, ACCUSER, dropped))
    (pending,) = node.mempool.pending_from(ACCUSER.address)
    assert pending.hash == sent.hash != dropped.hash
    assert pending.nonce == nonce + 2 and pending.payload == dropped.payload
    assert pending.fee == dropped.fee
