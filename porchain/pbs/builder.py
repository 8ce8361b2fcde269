"""An external builder: it follows a node over RPC, builds the most valuable block it can for
each coming slot, and submits it with its signed bid to relays (docs/relays.md).

For each slot, `lead_ms` before it starts (default: half the censorship grace, so that every
transaction voters will expect in the block has reached its node), the builder asks its node
(`builder_buildBlock`, `node run --builder-api`) for the block the slot's producer would build
from the node's mempool, with the builder's payment to that producer put first. The value the
node computes for that block (porchain.pbs.value) is the builder's bid: what the producer gains
by signing it. Honest builders leave nothing out; `CensoringBuilder` (porchain.pbs.attacks)
leaves out the transactions of the senders it names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx
import trio

from porchain.behaviours.base import Param
from porchain.clock import SlotClock
from porchain.consensus.transfer import Transfer
from porchain.crypto.keys import PrivateKey, parse_address, to_checksum_address
from porchain.errors import PorchainError
from porchain.params import WSCParams
from porchain.pbs.client import RELAY_URL, RelayAddress
from porchain.pbs.messages import BUILDER_BID, Bid, SignedBid, Submission
from porchain.rpc.async_client import AsyncRPCClient
from porchain.types.blocks import Block
from porchain.types.transactions import TxKind
from porchain.wallet import sign_transaction

log = logging.getLogger(__name__)

SUBMIT_PATH = "/relay/v1/builder/blocks"


def relay_base_url(text: str) -> str:
    """A relay's URL as builders use it: a plain http(s) URL, or a producer's keyed one."""
    text = text.strip().rstrip("/")
    if RELAY_URL.match(text):
        return RelayAddress.parse(text).url
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"{text!r} is not a relay URL: expected http://host:port")
    return text


class Builder:
    """The honest builder; attacks override `excluded`."""

    name: ClassVar[str] = "honest"
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(
        self,
        key: PrivateKey,
        rpc: AsyncRPCClient,
        relays: Sequence[str],
        http: httpx.AsyncClient,
        *,
        pay: int,
        lead_ms: int | None = None,
        clock: SlotClock | None = None,
        args: Mapping[str, Any] | None = None,
    ) -> None:
        self.key, self.rpc, self.http, self.pay = key, rpc, http, pay
        self.relays = [relay_base_url(r) for r in relays]
        self.lead_ms, self.clock = lead_ms, clock  # clock None: wall time, the node's genesis
        self.args = dict(args or {})
        self.submitted = 0  # bids at least one relay took

    def excluded(self) -> list[bytes]:
        """Senders whose transactions the block leaves out."""
        return []

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        info = await self.rpc.call("por_nodeInfo")
        params = await self._params()
        clock = self.clock or SlotClock(info["genesis_time_ms"], params.slot_ms)
        chain_id = info["chain_id"]
        task_status.started()
        slot = clock.current_slot() + 1
        while True:
            lead_ms = self.lead_ms if self.lead_ms is not None else params.censor_grace_ms // 2
            await clock.sleep_until_ms(clock.slot_start_ms(slot) - lead_ms)
            with trio.move_on_after(params.slot_ms / 1000):
                try:
                    params = await self._params()
                    await self.build_for(chain_id, slot, params)
                except PorchainError as exc:
                    log.info("no bid for slot %d: %s", slot, exc)
            slot = max(slot + 1, clock.current_slot() + 1)

    async def _params(self) -> WSCParams:
        return WSCParams.from_dict((await self.rpc.call("por_getParams"))["params"])

    async def build_for(self, chain_id: int, slot: int, params: WSCParams) -> Bid | None:
        """Build our block for `slot` and submit it to every relay; the bid, if built."""
        drawn = [e for e in await self.rpc.call("por_getSchedule", 2) if e["slot"] == slot]
        if not drawn:
            return None  # not drawn yet, or the head is already past it
        producer = parse_address(drawn[0]["producer"])
        account = await self.rpc.call("por_getAccount", "0x" + self.key.address.hex())
        payment = sign_transaction(
            self.key,
            chain_id=chain_id,
            nonce=account["nonce"],
            kind=TxKind.TRANSFER,
            payload=Transfer(producer, self.pay).to_rlp(),
            params=params,
        )
        exclude = ["0x" + sender.hex() for sender in self.excluded()]
        built = await self.rpc.call("builder_buildBlock", slot, [_hex(payment.encoded)], exclude)
        block = Block.decode(bytes.fromhex(built["block"][2:]))
        bid = Bid(chain_id, block.header, int(built["value"]), self.key.address)
        submission = Submission(SignedBid.sign(bid, self.key, BUILDER_BID), block.transactions)
        taken = await self._submit(submission)
        self.submitted += bool(taken)
        log.info(
            "bid slot=%d producer=%s value=%d txs=%d relays=%d/%d",
            slot,
            to_checksum_address(producer),
            bid.value,
            len(block.transactions),
            taken,
            len(self.relays),
        )
        return bid

    async def _submit(self, submission: Submission) -> int:
        """Send `submission` to every relay at once; how many took it."""
        body = {"submission": _hex(submission.encode())}
        taken = 0

        async def send(relay: str) -> None:
            nonlocal taken
            try:
                response = await self.http.post(relay + SUBMIT_PATH, json=body)
            except httpx.HTTPError as exc:
                log.info("relay %s unreachable: %s", relay, exc or type(exc).__name__)
                return
            if response.status_code == 200:
                taken += 1
            else:
                log.info("relay %s refused the bid: %s", relay, response.text[:200])

        async with trio.open_nursery() as nursery:
            for relay in self.relays:
                nursery.start_soon(send, relay)
        return taken


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()
