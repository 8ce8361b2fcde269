"""`jud_getCase`, `jud_listCases` and `porchain jud accuse|cases|case` against an in-process
node serving a court chain over real HTTP (the CLI runs in a worker thread while trio serves
the RPC); jurors vote by hand, as in tests/test_court.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
from click.testing import CliRunner, Result

from judicial import cases as c
from porchain.cli.main import cli
from porchain.clock import SlotClock
from porchain.crypto.keystore import Keystore
from porchain.node import Node, NodeConfig
from porchain.rpc import errors
from tests.test_court import ACCUSER, PARAMS, Court, accused_block
from tests.test_rpc import Client

pytestmark = pytest.mark.usefixtures("quiet_cli_logging")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    datadir = tmp_path / "home"
    Keystore(datadir / "keystore").create("", name="accuser", key=ACCUSER, scrypt_n=2**12)
    return datadir


@pytest.fixture
async def served(nursery: trio.Nursery) -> AsyncIterator[tuple[Court, Node, Client]]:
    court = Court()
    clock = SlotClock(court.genesis.genesis_time_ms, PARAMS.slot_ms)
    node = Node(court.chain, clock, config=NodeConfig(rpc_port=0, produce=False), plugins=[])
    await nursery.start(node.run)
    assert node.rpc_url is not None
    yield court, node, Client(node.rpc_url)


async def jud(home: Path, node: Node, *args: str) -> Result:
    env = {"PORCHAIN_PASSWORD": "", "PORCHAIN_RPC": node.rpc_url or ""}
    return await trio.to_thread.run_sync(
        lambda: CliRunner().invoke(cli, ["--datadir", str(home), "jud", *args], env=env)
    )


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


async def jud_json(home: Path, node: Node, *args: str) -> Any:
    return json.loads(ok(await jud(home, node, *args, "-o", "json")))


async def test_an_accusation_from_the_cli_to_its_verdict(
    served: tuple[Court, Node, Client], home: Path
) -> None:
    court, node, client = served
    number = accused_block(court)
    named = "0x" + "11" * 32
    sent = await jud_json(
        home, node, "accuse", str(number), "--tx", named, "--stake", "10", "--from", "accuser"
    )
    assert sent["status"] == "pending"
    (accusation,) = node.mempool.transactions()
    court.block(accusation)

    listed = await jud_json(home, node, "cases", "--status", "open")
    (summary,) = listed["cases"]
    assert summary["id"] == 1 and summary["phase"] == "review" and summary["verdict"] is None
    assert summary["block_number"] == number and summary["stake"] == str(PARAMS.flag_stake)
    review = await client.call("jud_getCase", 1)
    assert review["jurors"] == [] and review["phase_ends"] == review["draw_at"]
    assert review["txs"] == [named] and review["payouts"] is None

    court.to_phase(1, c.COMMIT)
    jurors = [j.address for j in court.case(1).jurors]
    court.block(*[court.commit(1, j, c.GUILTY) for j in jurors])
    committed = await client.call("jud_getCase", 1)
    assert committed["phase"] == "commit" and committed["commits"] == 3
    assert committed["reveals"] == 0 and all(j["vote"] is None for j in committed["jurors"])
    court.to_phase(1, c.REVEAL)
    court.block(*[court.reveal(1, j, c.GUILTY) for j in jurors[:2]])
    court.to_phase(1, c.CLOSED)

    closed = await jud_json(home, node, "case", "1")
    assert closed == await client.call("jud_getCase", 1)
    assert closed["phase"] == "closed" and closed["verdict"] == "guilty"
    assert [j["vote"] for j in closed["jurors"]] == ["guilty", "guilty", None]
    reward, penalty = str(PARAMS.juror_reward), str(PARAMS.juror_absent_penalty)
    assert [j["payout"] for j in closed["jurors"]] == [reward, reward, "0"]
    assert [j["penalty"] for j in closed["jurors"]] == ["0", "0", penalty]
    payouts = closed["payouts"]
    assert payouts["accuser_returned"] == str(PARAMS.flag_stake)
    assert payouts["flagger_reward"] == str(PARAMS.flagger_reward)
    assert payouts["jurors"] == str(2 * PARAMS.juror_reward)
    assert int(payouts["slashed"]) > 0 and payouts["penalties"] == penalty

    text = ok(await jud(home, node, "case", "1"))
    assert "verdict      guilty" in text
    assert "3 committed, 2 revealed" in text
    assert ok(await jud(home, node, "cases")).count("guilty") == 1
    assert (await jud_json(home, node, "cases", "--status", "open"))["cases"] == []


async def test_bad_requests_are_refused_with_what_is_wrong(
    served: tuple[Court, Node, Client], home: Path
) -> None:
    court, node, client = served
    assert await client.call("jud_getCase", 7) is None
    for bad in ("1", 0, -3, True):
        error = await client.error("jud_getCase", bad)
        assert error["code"] == errors.INVALID_PARAMS and "case id" in error["message"]
    error = await client.error("jud_listCases", "guilty")
    assert error["code"] == errors.INVALID_PARAMS and "status must be one of" in error["message"]
    error = await client.error("jud_listCases", None, 0)
    assert "limit" in error["message"]
    assert await client.call("jud_listCases") == {"cases": [], "next_cursor": None}

    missing = await jud(home, node, "case", "7")
    assert missing.exit_code != 0 and "no case #7" in missing.output
    bad_hash = await jud(
        home, node, "accuse", "1", "--tx", "0x12", "--stake", "10", "--from", "accuser"
    )
    assert bad_hash.exit_code == 2 and "not a 0x-prefixed 32-byte hash" in bad_hash.output
    refused = await jud(
        home,
        node,
        "accuse",
        str(accused_block(court)),
        "--tx",
        "0x" + "11" * 32,
        "--stake",
        "1",
        "--from",
        "accuser",
    )
    assert refused.exit_code != 0 and "below flag_stake" in refused.output
    unknown = await jud(
        home, node, "accuse", "999", "--tx", "0x" + "11" * 32, "--stake", "10", "--from", "accuser"
    )
    assert unknown.exit_code != 0 and "no block #999" in unknown.output


async def test_cases_are_listed_newest_first_by_pages(
    served: tuple[Court, Node, Client],
) -> None:
    court, _, client = served
    court.run_to(12)
    by_producer: dict[bytes, int] = {}
    for n in range(1, 12):
        by_producer.setdefault(court.chain.get_block_by_number(n).header.producer, n)
    accused = sorted(by_producer.values())[:3]
    for number in accused:
        court.block(court.accuse(number))
    first = await client.call("jud_listCases", None, 2)
    assert [x["id"] for x in first["cases"]] == [3, 2] and first["next_cursor"] == 2
    rest = await client.call("jud_listCases", None, 2, first["next_cursor"])
    assert [x["id"] for x in rest["cases"]] == [1] and rest["next_cursor"] is None
    assert [x["block_number"] for x in first["cases"] + rest["cases"]] == accused[::-1]
