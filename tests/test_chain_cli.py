"""`porchain chain` against an in-process node: what its tables show (issue 17, friction 6:
open pools showed `FOR 0 AGAINST 0` beside their stakes)."""

from __future__ import annotations

import re

import pytest
import trio
from click.testing import CliRunner

from porchain.cli.main import cli
from porchain.clock import SlotClock
from porchain.composition import default_rules
from porchain.node import Node, NodeConfig
from porchain.rpc.server import serve_rpc
from porchain.units import format_amount
from tests.factories import GENESIS_TIME_MS, extend, make_genesis, new_chain

pytestmark = pytest.mark.usefixtures("quiet_cli_logging")


async def test_an_open_pool_shows_its_stakes_so_far() -> None:
    chain = new_chain(make_genesis(), rules=default_rules())
    for _ in range(2):
        extend(chain)
    node = Node(chain, SlotClock(GENESIS_TIME_MS, 1000), config=NodeConfig(produce=False))
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_rpc, node, "127.0.0.1", 0)
        state = node.chain.state()
        pool = state.pool(state.block_pool_id(2))
        result = await trio.to_thread.run_sync(
            lambda: CliRunner().invoke(cli, ["chain", "pools", "--status", "open", "--rpc", url])
        )
        nursery.cancel_scope.cancel()
    assert result.exit_code == 0, result.output
    bond = sum(s.amount for s in pool.stakes)
    assert bond > 0  # the producer's bond, staked FOR
    row = next(line for line in result.stdout.splitlines() if line.startswith(f"{pool.id} "))
    assert re.search(rf"open\s+{re.escape(format_amount(bond))}\s+0\s+1\s", row), row
