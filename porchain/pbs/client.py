"""A producer's client of one relay: ask for the best header of a slot, accept it, get the body.

Every answer is checked before it is believed: a bid must be signed by the relay named in the
URL (`http://0x<relay address>@host:port`, as mev-boost names relays by their key), for the
chain, slot, parent and producer asked, with no producer signature; a body must be the
transactions of the accepted header's tx root. Anything else is a `SourceFault` naming its kind
(`porchain.pbs.record.FAULT_KINDS`), never an exception the slot could die of.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from porchain.errors import DecodeError, InvalidSignature, PorchainError
from porchain.pbs.messages import RELAY_BID, Acceptance, SignedBid
from porchain.types.blocks import compute_tx_root
from porchain.types.transactions import Transaction

RELAY_URL = re.compile(r"^(https?)://0x([0-9a-fA-F]{40})@([^/@\s]+)/?$")
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # a body holds a whole block


class SourceFault(PorchainError):
    """What a relay did wrong, as a record's fault `kind` and a line saying what happened."""

    def __init__(self, kind: str, detail: str, report: Any = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail
        self.report = report  # a porchain.pbs.fraud.FraudReport that proves it, if any


@dataclass(frozen=True)
class RelayAddress:
    url: str  # without the relay's address
    address: bytes

    @classmethod
    def parse(cls, text: str) -> RelayAddress:
        """`http://0x<40 hex digits>@host:port`; raises ValueError saying what is expected."""
        match = RELAY_URL.match(text.strip())
        if match is None:
            raise ValueError(
                f"{text!r} is not a relay URL: expected http://0x<relay address>@host:port"
            )
        scheme, address, where = match.groups()
        return cls(f"{scheme}://{where}", bytes.fromhex(address))

    def __str__(self) -> str:
        scheme, where = self.url.split("://", 1)
        return f"{scheme}://0x{self.address.hex()}@{where}"


class RelayClient:
    def __init__(self, relay: RelayAddress, chain_id: int, http: httpx.AsyncClient) -> None:
        self.relay, self.chain_id, self.http = relay, chain_id, http

    async def header(self, slot: int, parent_hash: bytes, producer: bytes) -> SignedBid | None:
        """The relay's best bid for `slot` on `parent_hash` for `producer`, or None."""
        path = f"/eth/v1/builder/header/{slot}/0x{parent_hash.hex()}/0x{producer.hex()}"
        status, answer = await self._call("GET", path)
        if status == 204:
            return None
        try:
            signed = SignedBid.decode(_hex(answer["data"]["raw"]))
            signer = signed.signer(RELAY_BID)
        except (KeyError, TypeError, ValueError, DecodeError, InvalidSignature) as exc:
            raise SourceFault("bad_bid", f"not a signed bid: {exc}") from None
        bid = signed.bid
        if signer != self.relay.address:
            raise SourceFault("bad_bid", "the bid is not signed by the relay's key")
        asked = (self.chain_id, slot, parent_hash, producer)
        if (bid.chain_id, bid.header.slot, bid.header.parent_hash, bid.header.producer) != asked:
            raise SourceFault("bad_bid", "a bid for another chain, slot, parent or producer")
        return signed

    async def body(self, acceptance: Acceptance) -> tuple[Transaction, ...]:
        """The transactions of the accepted header; `withheld` if the relay gives none."""
        try:
            _, answer = await self._call(
                "POST",
                "/eth/v1/builder/blinded_blocks",
                {"acceptance": "0x" + acceptance.encode().hex()},
            )
        except SourceFault as fault:
            raise SourceFault("withheld", fault.detail) from None
        try:
            raws = answer["data"]["transactions"]
            if not isinstance(raws, list):
                raise TypeError("transactions is not a list")
            transactions = tuple(Transaction.decode(_hex(raw)) for raw in raws)
        except (KeyError, TypeError, ValueError, DecodeError) as exc:
            raise SourceFault("withheld", f"no body in the answer: {exc}") from None
        if compute_tx_root(transactions) != acceptance.header.tx_root:
            raise SourceFault("invalid", "the body is not the accepted header's transactions")
        return transactions

    async def _call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        """Send one request: (status, decoded JSON); raises SourceFault `bad_bid` on an error
        status or an answer that is not JSON. Timeouts are the caller's (trio deadlines)."""
        try:
            request = self.http.build_request(method, self.relay.url + path, json=body)
            response = await self.http.send(request, stream=True)
            try:
                raw = await _read_bounded(response)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise SourceFault("timeout", f"no answer: {exc or type(exc).__name__}") from None
        if response.status_code == 204:
            return 204, None
        try:
            answer = json.loads(raw)
        except (ValueError, RecursionError):
            raise SourceFault("bad_bid", f"HTTP {response.status_code}, not JSON") from None
        if response.status_code != 200:
            message = answer.get("message") if isinstance(answer, dict) else None
            raise SourceFault("bad_bid", f"HTTP {response.status_code}: {str(message)[:200]}")
        return 200, answer


async def _read_bounded(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise SourceFault("bad_bid", f"an answer over {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _hex(value: object) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError("expected a 0x hex string")
    return bytes.fromhex(value[2:])
