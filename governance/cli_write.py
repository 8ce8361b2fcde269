"""The `porchain gov` commands that post: `draft` a proposal file, `dry-run` it, `propose` it,
`cite` posts in a comment (`vote` is in `governance.cli_vote`).

Signing and sending go through porchain's own helpers (`porchain.cli.tx`), so fees, nonces,
keys and `--wait` behave as in `porchain tx`. A post named on the command line may be a unique
id prefix (8 hex digits or more); the node resolves it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from governance.drafts import (
    KINDS,
    Draft,
    load_draft,
    parse_post_ref,
    parse_setting,
    parse_weight,
    read_body,
    split_spec,
    write_draft,
)
from governance.forum import PostPayload, canonical_json
from governance.objects import COMMENT, PROPOSAL, Author, Citation
from porchain.cli.common import (
    emit,
    fields,
    home,
    output_option,
    password_option,
    resolve_account,
    rpc_client,
    rpc_option,
    table,
    unlock_key,
)
from porchain.cli.tx import (
    amount_arg,
    send_and_report,
    sign_transaction,
    tx_options,
)
from porchain.crypto.keys import to_checksum_address
from porchain.errors import PorchainError
from porchain.rpc.client import RPCClient
from porchain.types.transactions import Transaction, TxKind
from porchain.units import format_amount

FULL_ID_LENGTH = 66  # "0x" + 64 hex digits


def amount(value: str, unit: str) -> str:
    return f"{format_amount(int(value))} {unit}"


def lookup_post(client: RPCClient, post_id: str) -> dict[str, Any]:
    found = client.call("gov_getPost", post_id)
    if found is None:
        raise PorchainError(f"no post {post_id}")
    return found


def full_post_id(client: RPCClient, ref: str) -> bytes:
    """A cited post's id; a prefix is resolved by the node."""
    if len(ref) == FULL_ID_LENGTH:
        return bytes.fromhex(ref[2:])
    return bytes.fromhex(lookup_post(client, ref)["id"][2:])


def build_payload(
    ctx: click.Context, client: RPCClient, draft: Draft, sender: bytes
) -> PostPayload:
    """The POST payload of a draft: authors resolved (default: the sender alone), cited
    prefixes resolved, parameter changes as canonical JSON."""
    if draft.authors:
        authors = [Author(resolve_account(home(ctx), a), w) for a, w in draft.authors]
    else:
        authors = [Author(sender, 1_000_000)]
    citations = [
        Citation(full_post_id(client, ref), abs(w), int(w < 0)) for ref, w in draft.citations
    ]
    return PostPayload(
        kind=PROPOSAL if draft.kind == "proposal" else COMMENT,
        authors=authors,
        title=draft.title.encode(),
        body=draft.body.encode(),
        citations=citations,
        wsc_params=canonical_json(draft.wsc_params) if draft.wsc_params else b"",
    )


# -- draft ---------------------------------------------------------------------------------------


@click.command("draft")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--title", required=True)
@click.option(
    "--body-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The body (markdown, any text); the draft refers to it by a relative path.",
)
@click.option("--kind", type=click.Choice(KINDS), default="proposal", show_default=True)
@click.option(
    "--cite",
    "cites",
    multiple=True,
    metavar="ID:WEIGHT",
    help="Cite a post: WEIGHT 30%, 0.3 or 300000 (ppm); negative is against. Repeatable.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a WSC parameter (proposals). Repeatable.",
)
@click.option(
    "--author",
    "authors",
    multiple=True,
    metavar="ACCOUNT:SHARE",
    help="A co-author (address or key name) and share; default the sender alone. Repeatable.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@output_option
@click.pass_context
def draft(
    ctx: click.Context,
    out: Path,
    title: str,
    body_file: Path,
    kind: str,
    cites: tuple[str, ...],
    settings: tuple[str, ...],
    authors: tuple[str, ...],
    force: bool,
    output: str,
) -> None:
    """Write a proposal (or comment) file, .json or .toml, to dry-run and propose later."""
    read_body(body_file, "--body-file")
    relative = os.path.relpath(body_file.absolute(), out.absolute().parent)
    made = Draft(
        title=title,
        kind=kind,
        body_file=relative,
        authors=[
            (to_checksum_address(resolve_account(home(ctx), who)), parse_weight(w, f"--author {s}"))
            for s in authors
            for who, w in [split_spec(s, "--author")]
        ],
        citations=[
            (parse_post_ref(ref, f"--cite {s}"), parse_weight(w, f"--cite {s}"))
            for s in cites
            for ref, w in [split_spec(s, "--cite")]
        ],
        wsc_params=dict(parse_setting(s) for s in settings),
    )
    made.check()
    write_draft(out, made, force=force)
    emit(output, {"path": str(out), **made.to_dict()}, lambda d: click.echo(f"wrote {d['path']}"))


# -- dry-run -------------------------------------------------------------------------------------


@click.command("dry-run")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "sender", required=True, help="Signing key (name or address).")
@password_option
@click.option("--fee", callback=amount_arg, help="Fee in $ (default: the minimum).")
@rpc_option
@output_option
@click.pass_context
def dry_run(
    ctx: click.Context,
    file: Path,
    sender: str,
    password_file: Path | None,
    fee: int | None,
    rpc_url: str | None,
    output: str,
) -> None:
    """Check FILE as a POST on the node and show its fee, parameter changes and what its
    citations would do if it is accepted. Nothing is sent."""
    made = load_draft(file)
    key = unlock_key(ctx, sender, password_file)
    client = rpc_client(ctx, rpc_url)
    payload = build_payload(ctx, client, made, key.address)
    tx = sign_transaction(client, key, TxKind.POST, payload.to_rlp(), fee=fee, nonce=None)
    result = client.call("gov_dryRun", "0x" + tx.encoded.hex())
    emit(output, result, render_dry_run)


def render_dry_run(r: dict[str, Any]) -> None:
    fee = r["fee"]
    fields(
        [
            ("valid", f"yes: a {r['kind']} by {r['sender']} with nonce {r['nonce']}"),
            ("title", r["title"]),
            (
                "fee",
                f"{amount(fee['total'], '$')} ({amount(fee['transaction'], '$')} transaction"
                f" + {amount(fee['post'], '$')} post fee)",
            ),
        ]
    )
    if r["diff"]:
        click.echo("")
        table(
            "PARAMETER",
            "ACTIVE",
            "PROPOSED",
            rows=[[k, str(old), str(new)] for k, (old, new) in r["diff"].items()],
        )
    elif r["wsc_params"]:
        click.echo("\nparameters: every change equals the active value")
    effects = r["effects"]
    click.echo(
        f"\nif accepted: {amount(effects['minted'], 'gREP')} minted, "
        f"{amount(effects['author_share'], 'gREP')} flows through the citations:"
    )
    table(
        "HOP",
        "MOVE",
        "AMOUNT",
        "POST",
        rows=[
            [
                str(m["depth"]),
                m["kind"],
                amount(m["amount"], "gREP"),
                f"{m['post'][:10]} {m['title']}",
            ]
            for m in effects["moves"]
        ],
    )
    if effects["accounts"]:
        click.echo("")
        table(
            "ACCOUNT",
            "gREP NOW",
            "CHANGE",
            rows=[
                [a["address"], format_amount(int(a["grep_before"])), signed(a["change"])]
                for a in effects["accounts"]
            ],
        )
    click.echo("\nnothing was sent (propose it with `porchain gov propose`)")


def signed(value: str) -> str:
    number = int(value)
    return ("+" if number > 0 else "") + format_amount(number)


# -- propose and cite ----------------------------------------------------------------------------


def send_post(
    ctx: click.Context,
    made: Draft,
    *,
    sender: str,
    password_file: Path | None,
    fee: int | None,
    nonce: int | None,
    wait: bool,
    timeout: float,
    rpc_url: str | None,
    output: str,
) -> None:
    """Sign and send a POST; print its post id (the transaction hash)."""
    key = unlock_key(ctx, sender, password_file)
    client = rpc_client(ctx, rpc_url)
    payload = build_payload(ctx, client, made, key.address)
    tx: Transaction = sign_transaction(
        client, key, TxKind.POST, payload.to_rlp(), fee=fee, nonce=nonce
    )
    extra = {"post_id": "0x" + tx.hash.hex(), "kind": made.kind}
    post_fee = ("post fee", int(client.call("por_getParams")["params"]["post_fee"]))
    send_and_report(
        client, tx, wait=wait, timeout=timeout, output=output, extra=extra, charge=post_fee
    )


@click.command("propose")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@tx_options
@click.pass_context
def propose(ctx: click.Context, file: Path, **options: Any) -> None:
    """Send the proposal (or comment) in FILE; print its post id. Pays the post fee."""
    send_post(ctx, load_draft(file), **options)


@click.command("cite")
@click.argument("citations", nargs=-1, required=True, metavar="ID:WEIGHT...")
@click.option("--title", required=True)
@click.option("--body", default="", help="The comment's text.")
@tx_options
@click.pass_context
def cite(
    ctx: click.Context, citations: tuple[str, ...], title: str, body: str, **options: Any
) -> None:
    """Post a comment citing posts (WEIGHT 30%, 0.3 or ppm; negative is against)."""
    made = Draft(
        title=title,
        kind="comment",
        body=body,
        citations=[
            (parse_post_ref(ref, f"citation {s}"), parse_weight(w, f"citation {s}"))
            for s in citations
            for ref, w in [split_spec(s, "citation")]
        ],
    )
    made.check()
    send_post(ctx, made, **options)
