"""The relay's HTTP API, in the spirit of the builder-specs and the mev-boost relay API
(docs/relays.md): JSON bodies, hex strings for bytes, canonical RLP for what is signed.

    GET  /eth/v1/builder/status                                       200 {relay, chain_id}
    GET  /eth/v1/builder/header/{slot}/{parent_hash}/{producer}       200 {data: bid} | 204
    POST /eth/v1/builder/blinded_blocks      {acceptance}             200 {data: {transactions}}
    POST /relay/v1/builder/blocks            {submission}             200 {data: bid}
    GET  /relay/v1/data/bidtraces/proposer_payload_delivered          200 [delivery, ...]

A refusal is `{"code": status, "message": why}` with that HTTP status, as in builder-specs.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from porchain.asgi import lifespan, read_body, respond
from porchain.crypto.keys import to_checksum_address
from porchain.pbs.messages import SignedBid
from porchain.pbs.relay import Relay, RelayError
from porchain.rpc.params import hex0x

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024  # a submission holds a whole block
HEADER_PATH = re.compile(
    r"^/eth/v1/builder/header/(\d{1,19})/0x([0-9a-fA-F]{64})/0x([0-9a-fA-F]{40})$"
)


def bid_json(signed: SignedBid) -> dict[str, Any]:
    """A signed bid: `raw` is what is signed and checked; the rest says the same for readers."""
    bid, header = signed.bid, signed.bid.header
    return {
        "raw": hex0x(signed.encode()),
        "slot": header.slot,
        "parent_hash": hex0x(header.parent_hash),
        "producer": to_checksum_address(header.producer),
        "header_hash": hex0x(header.signing_hash),
        "builder": to_checksum_address(bid.builder),
        "value": str(bid.value),
    }


class RelayApp:
    def __init__(self, relay: Relay, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.relay = relay
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, answer = await self._route(scope, receive)
        except RelayError as exc:
            status, answer = exc.status, {"code": exc.status, "message": str(exc)}
        except Exception:  # a bug: still an answer saying so, never an empty HTTP 500
            log.exception("internal error answering %s", scope["path"][:200])
            status, answer = 500, {"code": 500, "message": "internal error (see the relay's log)"}
        body = b"" if answer is None else json.dumps(answer, separators=(",", ":")).encode()
        await respond(send, status, body)

    async def _route(self, scope: dict[str, Any], receive: Any) -> tuple[int, Any]:
        method, path = scope["method"], scope["path"]
        if method == "GET" and path == "/eth/v1/builder/status":
            relay = self.relay
            return 200, {
                "relay": to_checksum_address(relay.key.address),
                "chain_id": relay.chain_id,
            }
        if method == "GET" and (match := HEADER_PATH.match(path)):
            slot, parent, producer = int(match[1]), bytes.fromhex(match[2]), bytes.fromhex(match[3])
            best = self.relay.best_bid(slot, parent, producer)
            return (204, None) if best is None else (200, {"data": bid_json(best)})
        if method == "POST" and path == "/eth/v1/builder/blinded_blocks":
            raw = await self._raw(scope, receive, "acceptance")
            transactions = self.relay.reveal(raw)
            return 200, {"data": {"transactions": [hex0x(tx.encoded) for tx in transactions]}}
        if method == "POST" and path == "/relay/v1/builder/blocks":
            raw = await self._raw(scope, receive, "submission")
            return 200, {"data": bid_json(await self.relay.submit(raw))}
        if method == "GET" and path == "/relay/v1/data/bidtraces/proposer_payload_delivered":
            return 200, [
                {
                    "slot": d.slot,
                    "producer": to_checksum_address(producer),
                    "header_hash": hex0x(d.header_hash),
                    "builder": to_checksum_address(d.builder),
                    "value": str(d.value),
                }
                for (_, producer), d in self.relay.delivered.items()
            ]
        raise RelayError(404, f"no such endpoint: {method} {path[:100]}")

    async def _raw(self, scope: dict[str, Any], receive: Any, field: str) -> bytes:
        """The hex bytes of the JSON body's `field`."""
        headers = {name.lower(): value for name, value in scope["headers"]}
        body = await read_body(headers, receive, self.max_body_bytes)
        if body is None:
            raise RelayError(413, f"request body over {self.max_body_bytes} bytes")
        try:
            value = json.loads(body)[field]
            if not isinstance(value, str) or not value.startswith("0x"):
                raise ValueError
            return bytes.fromhex(value[2:])
        except (ValueError, KeyError, TypeError, RecursionError):
            raise RelayError(400, f'the body must be JSON {{"{field}": "0x<hex>"}}') from None
