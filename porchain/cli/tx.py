"""`porchain tx ...`: sign transactions with a keystore key and send them to a node."""

from __future__ import annotations

import time
from collections.abc import Callable
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
    resolve_account,
    rpc_client,
    rpc_option,
    unlock_key,
)
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
RESENDS = 20  # times --wait sends a dropped transaction again (a few seconds of polls)


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
                client,
                signed,
                wait=wait,
                timeout=timeout,
                output=output,
                replace=nonce is not None,
                resend=None if nonce is not None else lambda dropped: resend(client, key, dropped),
            )
            return
        except RemoteError as exc:
            if nonce is not None or exc.code != NONCE_TAKEN or attempt == NONCE_ATTEMPTS:
                raise


def resend(client: RPCClient, key: PrivateKey, dropped: Transaction) -> Transaction:
    """Send again a transaction that left the mempool unincluded; return what was sent.

    It leaves with the one before it from the same key when that one can no longer apply: the
    node's own duty (a VOTE on a pool that closed while a censor left the VOTE out) drops the
    transactions queued behind it. If its nonce is now used by another included transaction,
    it can never be included: it is signed again on the next nonce (no duplicate can follow).
    Else the nonces still missing before it are filled with 0 $ transfers to ourselves and the
    very same bytes are sent again (one nonce: it is included once at most)."""
    account = client.call("por_getAccount", "0x" + key.address.hex())
    if account["nonce"] > dropped.nonce:
        tx = sign_transaction(
            client, key, dropped.kind, dropped.payload, fee=dropped.fee, nonce=None
        )
    else:
        to_self = Transfer(key.address, 0).to_rlp()
        for gap in range(account["next_nonce"], dropped.nonce):
            filler = sign_transaction(client, key, TxKind.TRANSFER, to_self, fee=None, nonce=gap)
            send_raw(client, filler)
        tx = dropped
    send_raw(client, tx)
    return tx


def send_raw(client: RPCClient, tx: Transaction) -> None:
    """Send, refused if a pending transaction has its nonce (then the loop looks again)."""
    try:
        client.call("por_sendRawTransaction", "0x" + tx.encoded.hex(), False)
    except RemoteError as exc:
        if exc.code != NONCE_TAKEN:
            raise


def fee_text(sent: dict[str, Any], charge: tuple[str, int] | None) -> str:
    fee = f"{format_amount(int(sent['fee']))} $"
    if charge is None:
        return fee
    name, charged = charge
    total = format_amount(int(sent["total_fee"]))
    return f"{total} $ ({fee} transaction + {format_amount(charged)} $ {name})"


def send_and_report(
    client: RPCClient,
    tx: Transaction,
    *,
    wait: bool,
    timeout: float,
    output: str,
    extra: dict[str, Any] | None = None,
    replace: bool = True,
    resend: Callable[[Transaction], Transaction] | None = None,
    charge: tuple[str, int] | None = None,
) -> None:
    """Send (refused, with `replace` false, if a pending transaction has its nonce); report the
    hash, fee and status, and `extra` fields first (e.g. a post id). A `charge` (what the
    transaction pays besides its fee, e.g. ("post fee", 1 $)) is reported with the fee, as
    `gov dry-run` reports it. With `resend`, a
    transaction that leaves the mempool unincluded while we wait is given to it to send again
    (at most RESENDS times), and what it sent is waited for and reported."""
    client.call("por_sendRawTransaction", "0x" + tx.encoded.hex(), replace)
    if wait:
        tx, found = wait_for_inclusion(client, tx, timeout, resend)
    result: dict[str, Any] = {
        **(extra or {}),
        "hash": "0x" + tx.hash.hex(),
        "fee": str(tx.fee),
        "nonce": tx.nonce,
        "status": "pending",
    }
    if charge is not None:
        name, charged = charge
        result[name.replace(" ", "_")] = str(charged)
        result["total_fee"] = str(tx.fee + charged)
    if wait:
        result.update(
            status="included", block_number=found["block_number"], block_hash=found["block_hash"]
        )

    def render(d: dict[str, Any]) -> None:
        lines = [(key.replace("_", " "), d[key]) for key in extra or {}]
        lines += [
            ("hash", d["hash"]),
            ("fee", fee_text(d, charge)),
            ("status", d["status"]),
        ]
        if "block_number" in d:
            lines.append(("block", f"#{d['block_number']} {d['block_hash']}"))
        fields(lines)

    emit(output, result, render)


def wait_for_inclusion(
    client: RPCClient,
    tx: Transaction,
    timeout: float,
    resend: Callable[[Transaction], Transaction] | None = None,
) -> tuple[Transaction, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    resends = 0
    while time.monotonic() < deadline:
        tx_hash = "0x" + tx.hash.hex()
        found = client.call("por_getTransaction", tx_hash)
        if found is None:
            if resend is None or resends == RESENDS:
                raise PorchainError(
                    f"transaction {tx_hash} left the mempool without being included"
                )
            resends += 1
            tx = resend(tx)
        elif found["status"] == "included":
            return tx, found
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
    """Send AMOUNT $ (a decimal, like 1.5) to TO (an address or a key name)."""
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
