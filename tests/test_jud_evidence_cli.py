"""`jud_listEvidence`, `jud_getSlashes`, `porchain jud evidence list`, `porchain jud slashes`
and the slashes `porchain chain account` shows, on a real node's RPC server."""

from __future__ import annotations

import json

import trio
from click.testing import CliRunner, Result

from judicial.evidence import Evidence
from porchain.cli.main import cli
from porchain.clock import SlotClock
from porchain.composition import default_rules
from porchain.crypto.keys import to_checksum_address
from porchain.node import Node, NodeConfig
from porchain.rpc.server import serve_rpc
from porchain.units import format_amount
from tests.factories import KEYS, extend, make_genesis, new_chain
from tests.test_evidence import PRODUCERS, WHISTLEBLOWER, evidence_tx, twins
from tests.test_rpc import Client


def slashed_chain():
    alloc = {k: {"balance": "1000"} for k in KEYS}
    for producer in PRODUCERS:
        alloc[producer] = {"balance": "1000", "rep_encumbered": "100"}
    chain = new_chain(make_genesis(alloc), rules=default_rules())
    a, b = twins(chain)
    block = extend(chain, [evidence_tx(chain, Evidence.equivocation(a, b))], keys=PRODUCERS)
    return chain, a, block


def run_cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"PORCHAIN_RPC": url})


async def test_evidence_and_slashes_over_rpc_and_cli() -> None:
    chain, header, block = slashed_chain()
    offender = to_checksum_address(header.producer)
    clock = SlotClock(chain.state().chain.genesis_time_ms, chain.state().params.slot_ms)
    node = Node(chain, clock, config=NodeConfig(rpc_port=0, produce=False))
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_rpc, node, "127.0.0.1", 0)
        client = Client(url)
        (listed,) = await client.call("jud_listEvidence")
        assert listed["producer"] == offender and listed["slot"] == header.slot
        assert listed["evidence"] == "equivocation" and listed["block"] == block.number
        assert listed["whistleblower"] == to_checksum_address(WHISTLEBLOWER.address)
        assert listed["slashed"] == str(100 * 10**9) and listed["reward"] == str(5 * 10**9)
        assert listed["tx"] == "0x" + block.transactions[0].hash.hex()
        assert await client.call("jud_listEvidence", offender, 10, header.slot) == []  # paged
        other = to_checksum_address(
            next(k for k in PRODUCERS if k.address != header.producer).address
        )
        assert await client.call("jud_listEvidence", other) == []
        error = await client.error("jud_listEvidence", None, 0)
        assert error["code"] == -32602 and "limit" in error["message"]
        error = await client.error("jud_listEvidence", None, 5, -1)
        assert error["code"] == -32602 and "before" in error["message"]

        got = await client.call("jud_getSlashes", offender)
        assert got["count"] == 1 and got["total"] == listed["slashed"]
        assert got["recent"][0]["block"] == block.number
        assert got["recent"][0]["offence"] == "equivocation"
        clean = await client.call("jud_getSlashes", to_checksum_address(WHISTLEBLOWER.address))
        assert clean == {
            "address": to_checksum_address(WHISTLEBLOWER.address),
            "count": 0,
            "total": "0",
            "recent": [],
        }
        error = await client.error("jud_getSlashes", "0x12")
        assert error["code"] == -32602

        shown = await trio.to_thread.run_sync(run_cli, url, "jud", "evidence", "list", "-o", "json")
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.stdout) == [listed]
        table = await trio.to_thread.run_sync(run_cli, url, "jud", "evidence", "list")
        assert table.exit_code == 0 and offender[:12] in table.output
        assert "equivocation" in table.output and "100 REP" in table.output
        slashes = await trio.to_thread.run_sync(run_cli, url, "jud", "slashes", offender)
        assert slashes.exit_code == 0 and "100 REP" in slashes.output
        as_json = await trio.to_thread.run_sync(
            run_cli, url, "jud", "slashes", offender, "-o", "json"
        )
        assert json.loads(as_json.stdout) == got
        account = await trio.to_thread.run_sync(run_cli, url, "chain", "account", offender)
        assert account.exit_code == 0
        assert f"1x, {format_amount(100 * 10**9)} REP" in account.output
        account_json = await trio.to_thread.run_sync(
            run_cli, url, "chain", "account", offender, "-o", "json"
        )
        assert json.loads(account_json.stdout)["slashes"] == got
        bad = await trio.to_thread.run_sync(run_cli, url, "jud", "slashes", "nobody")
        assert bad.exit_code != 0 and "Traceback" not in bad.output
        nursery.cancel_scope.cancel()
