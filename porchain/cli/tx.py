"""`porchain tx ...`: sign transactions with a keystore key and send them to a node."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from porchain import wallet
from porchain.cli.common import (
    emit,
    fields,
    home,
    output_option,
    password_option,
    rpc_client,
    rpc_option,
    unlock_key,
)
from porchain.cli.genesis import resolve_account
from porchain.consensus.transfer import Transfer
from porchain.crypto.keys import PrivateKey
from porchain.errors import PorchainError
from porchain.params import WSCParams
from porchain.rpc.client import RemoteError, RPCClient
from porchain.rpc.errors import NONCE_TAKEN
from porchain.types.codec import RLPItem
from porchain.types.transactions import Transaction, TxKind
from porchain.units import format_amount, parse_amount

POLL_SECONDS = 0.25
NONCE_ATTEMPTS = 5  # the node's duties take a nonce about once a slot: a few reads suffice


def amount_arg(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_amount(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def sign_transaction(
    client: RPCClient,
    key: PrivateKey,
    kind: int,
    payload: list[RLPItem],
    *,
    fee: int | None,
    nonce: int | None,
) -> Transaction:
    """Fill in chain id, nonce and the minimum fee from the node, then sign."""
    chain_id = client.call("por_chainId")
    if nonce is None:
        nonce = client.call("por_getAccount", "0x" + key.address.hex())["next_nonce"]
    params = WSCParams.from_dict(client.call("por_getParams")["params"])
    return wallet.sign_transaction(
        key, chain_id=chain_id, nonce=nonce, kind=kind, payload=payload, params=params, fee=fee
    )


def send_transaction(
    ctx: click.Context,
    kind: int,
    payload: list[RLPItem],
    *,
    sender: str,
    password_file: Path | None,
    **options: Any,
) -> None:
    """Sign with the sender's key, send, report (and with `wait`, wait for inclusion)."""
    send_with_key(ctx, unlock_key(ctx, sender, password_file), kind, payload, **options)


def send_with_key(
    ctx: click.Context,
    key: PrivateKey,
    kind: int,
    payload: list[RLPItem],
    *,
    fee: int | None,
    nonce: int | None,
    wait: bool,
    timeout: float,
    rpc_url: str | None,
    output: str,
) -> None:
    """`send_transaction` with the key already unlocked (`gov vote --await-pool` unlocks it
    before it waits, so the vote goes out the moment its pool opens).

    With the next nonce read from the node, the node's own duties (when the key is its
    producer's) may take that nonce before our transaction arrives: it is then refused, not a
    replacement of theirs, and signed again on the nonce read anew."""
    client = rpc_client(ctx, rpc_url)
    for attempt in range(1, NONCE_ATTEMPTS + 1):
        signed = sign_transaction(client, key, kind, payload, fee=fee, nonce=nonce)
        try:
            send_and_report(
                client, signed, wait=wait, timeout=timeout, output=output, replace=nonce is not None
            )
            return
        except RemoteError as exc:
            if nonce is not None or exc.code != NONCE_TAKEN or attempt == NONCE_ATTEMPTS:
                raise


def send_and_report(
    client: RPCClient,
    tx: Transaction,
    *,
    wait: bool,
    timeout: float,
    output: str,
    extra: dict[str, Any] | None = None,
    replace: bool = True,
) -> None:
    """Send (refused, with `replace` false, if a pending transaction has its nonce); report the
    hash, fee and status, and `extra` fields first (e.g. a post id)."""
    tx_hash = client.call("por_sendRawTransaction", "0x" + tx.encoded.hex(), replace)
    result: dict[str, Any] = {
        **(extra or {}),
        "hash": tx_hash,
        "fee": str(tx.fee),
        "nonce": tx.nonce,
        "status": "pending",
    }
    if wait:
        found = wait_for_inclusion(client, tx_hash, timeout)
        result.update(
            status="included", block_number=found["block_number"], block_hash=found["block_hash"]
        )

    def render(d: dict[str, Any]) -> None:
        lines = [(key.replace("_", " "), d[key]) for key in extra or {}]
        lines += [
            ("hash", d["hash"]),
            ("fee", f"{format_amount(int(d['fee']))} $"),
            ("status", d["status"]),
        ]
        if "block_number" in d:
            lines.append(("block", f"#{d['block_number']} {d['block_hash']}"))
        fields(lines)

    emit(output, result, render)


def wait_for_inclusion(client: RPCClient, tx_hash: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = client.call("por_getTransaction", tx_hash)
        if found is None:
            raise PorchainError(f"transaction {tx_hash} left the mempool without being included")
        if found["status"] == "included":
            return found
        time.sleep(POLL_SECONDS)
    raise PorchainError(f"transaction {tx_hash} not included within {timeout:g} s (still pending)")


def tx_options(f: Any) -> Any:
    for option in reversed(
        [
            click.option("--from", "sender", required=True, help="Sending key (name or address)."),
            password_option,
            click.option("--fee", callback=amount_arg, help="Fee in $ (default: the minimum)."),
            click.option("--nonce", type=click.IntRange(0), help="Nonce (default: the next one)."),
            click.option("--wait", is_flag=True, help="Wait until a block includes it."),
            click.option(
                "--timeout",
                type=click.FloatRange(0),
                default=60.0,
                show_default=True,
                help="Seconds to --wait.",
            ),
            rpc_option,
            output_option,
        ]
    ):
        f = option(f)
    return f


@click.group()
def tx() -> None:
    """Sign and send transactions."""


@tx.command("transfer")
@click.argument("to")
@click.argument("amount", callback=amount_arg)
@tx_options
@click.pass_context
def tx_transfer(
    ctx: click.Context,
    to: str,
    amount: int,
    sender: str,
    password_file: Path | None,
    fee: int | None,
    nonce: int | None,
    wait: bool,
    timeout: float,
    rpc_url: str | None,
    output: str,
) -> None:
    """Send AMOUNT $ (e.g. 1.5) to TO (an address or a key name)."""
    recipient = resolve_account(home(ctx), to)
    send_transaction(
        ctx,
        TxKind.TRANSFER,
        Transfer(recipient, amount).to_rlp(),
        sender=sender,
        password_file=password_file,
        fee=fee,
        nonce=nonce,
        wait=wait,
        timeout=timeout,
        rpc_url=rpc_url,
        output=output,
    )
