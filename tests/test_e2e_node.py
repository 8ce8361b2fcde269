"""End to end: the real `porchain` CLI and node in subprocesses on temporary data directories."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import pytest

from porchain.chain import Chain
from porchain.composition import default_rules
from porchain.consensus.salary import claimable_salary
from porchain.constants import PPM
from porchain.db import LevelDB
from porchain.units import parse_amount
from tests.factories import accounts
from tests.procs import NodeProcess, processes, run_cli, run_json

pytestmark = pytest.mark.slow

RECIPIENT = "0x" + "be" * 20


def make_datadir(root: Path) -> tuple[Path, dict[str, bytes]]:
    """A data directory made with the CLI: producer p1, user u1 with 100 $, minimal preset."""
    datadir = root / "node"
    addresses = {}
    for name in ("p1", "u1"):
        entry = run_json(datadir, "keys", "new", "--name", name, "--light")
        addresses[name] = bytes.fromhex(entry["address"][2:])
    run_cli(
        datadir, "genesis", "new", "--producer", "p1", "--alloc", "u1:100", "--preset", "minimal"
    )
    run_cli(datadir, "init")
    return datadir, addresses


def sum_balances(db: LevelDB) -> int:
    return sum(account.balance for account in accounts(db).values())


def open_chain(datadir: Path) -> tuple[LevelDB, Chain]:
    db = LevelDB(datadir / "chaindata", create=False)
    return db, Chain(db, default_rules())


def rep_salary_paid(chain: Chain) -> int:
    """What REP holders were paid over the canonical blocks: fees and subsidy less the dev
    budget (with no gREP holder, the dev budget is burned)."""
    params = chain.state().params
    paid = 0
    for block in chain.iter_canonical(1):
        fees = params.subsidy + sum(tx.fee for tx in block.transactions)
        paid += fees - fees * params.dev_budget_ppm // PPM
    return paid


def fees_paid_by(chain: Chain, address: bytes) -> int:
    return sum(
        tx.fee
        for block in chain.iter_canonical(1)
        for tx in block.transactions
        if tx.sender == address
    )


def test_transfer_is_included_paid_out_and_survives_restart(tmp_path: Path) -> None:
    datadir, address = make_datadir(tmp_path)
    with processes() as procs:
        node = NodeProcess(procs, datadir, "--key", "p1")
        node.wait_for_head(2)
        sent = run_json(
            datadir, "tx", "transfer", RECIPIENT, "1.5", "--from", "u1", "--wait", "--rpc", node.url
        )
        assert sent["status"] == "included"
        block = node.rpc.call("por_getBlockByNumber", sent["block_number"])
        assert sent["hash"] in block["transactions"]
        assert node.rpc.call("por_getTransaction", sent["hash"])["status"] == "included"
        assert node.stop() == 0

    db, chain = open_chain(datadir)
    with db:
        state = chain.state()
        u1 = state.account(address["u1"])
        assert u1.nonce == 1
        assert u1.balance == parse_amount("100") - parse_amount("1.5") - int(sent["fee"])
        recipient = bytes.fromhex(RECIPIENT[2:])
        assert state.account(recipient).balance == parse_amount("1.5")
        # p1, the only REP holder, was paid all REP salary (less rounding dust in the reserve)
        # and paid the fees of its own votes and beacon commits and reveals
        p1 = state.account(address["p1"])
        earned = p1.balance + claimable_salary(state, p1) - parse_amount("1000")
        earned += fees_paid_by(chain, address["p1"])
        dust = rep_salary_paid(chain) - earned
        assert 0 <= dust <= chain.head.number + p1.nonce
        assert state.supply.dollars == sum_balances(db) + state.salary.reserve
        head = chain.head
        # u1 and the recipient do nothing more; p1 keeps producing and paying for its votes
        unchanged = {a: state.account(a).balance for a in (address["u1"], recipient)}

    with processes() as procs:
        node = NodeProcess(procs, datadir, "--key", "p1")
        assert node.rpc.call("por_getBlockByNumber", head.number)["hash"] == "0x" + head.hash.hex()
        for a, balance in unchanged.items():
            assert int(node.rpc.call("por_getAccount", "0x" + a.hex())["balance"]) == balance
        node.wait_for_head(head.number + 3)
        assert node.stop() == 0


def test_sigkill_while_producing_leaves_a_consistent_head(tmp_path: Path) -> None:
    datadir, _ = make_datadir(tmp_path)
    with processes() as procs:
        node = NodeProcess(procs, datadir, "--key", "p1")
        for _ in range(3):
            run_cli(datadir, "tx", "transfer", RECIPIENT, "0.1", "--from", "u1", "--rpc", node.url)
        killed_at = node.wait_for_head(8)
        assert node.stop(signal.SIGKILL) == -signal.SIGKILL

    report = run_json(datadir, "db", "verify")
    assert report["ok"] is True
    assert report["head"] >= killed_at

    with processes() as procs:
        node = NodeProcess(procs, datadir, "--key", "p1")
        node.wait_for_head(report["head"] + 2)
        assert node.stop() == 0


def test_cli_errors_are_one_line_with_nonzero_exit(tmp_path: Path) -> None:
    datadir, _ = make_datadir(tmp_path)
    cases = [
        (("tx", "transfer", RECIPIENT, "abc", "--from", "u1"), "not an amount"),
        (("tx", "transfer", RECIPIENT, "1.0000000001", "--from", "u1"), "more than 9 decimals"),
        (("tx", "transfer", "nobody", "1", "--from", "u1"), "neither an address nor a key"),
        (("chain", "head", "--rpc", "http://127.0.0.1:9"), "cannot reach a node"),
        (("keys", "show", "ghost"), "no key named"),
        (("init", "--genesis", str(tmp_path / "missing.json")), "no genesis file"),
    ]
    for args, message in cases:
        done = run_cli(datadir, *args, check=False)
        assert done.returncode != 0, args
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        done = run_cli(
            datadir, "node", "run", "--key", "p1", "--rpc-port", port, "--no-p2p", check=False
        )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"cannot serve RPC on 127.0.0.1:{port}: Address already in use" in done.stderr
    (tmp_path / "bad.json").write_text(json.dumps({"chain_id": 0}))
    done = run_cli(tmp_path / "other", "init", "--genesis", str(tmp_path / "bad.json"), check=False)
    assert done.returncode == 1 and "chain_id must be a positive integer" in done.stderr
