"""SIGKILL in the middle of importing blocks, then restart: the head stays consistent."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from porchain.chain import Chain
from porchain.composition import default_rules
from porchain.crypto.keystore import Keystore
from porchain.history import export_blocks
from tests.factories import KEYS, PRODUCER, extend, make_genesis, new_chain, transfer
from tests.procs import (
    PASSWORD,
    NodeProcess,
    porchain_cmd,
    processes,
    run_cli,
    run_json,
    wait_for,
)

pytestmark = pytest.mark.slow

BLOCKS = 600
TXS_PER_BLOCK = 20


def build_history(chain: Chain) -> None:
    nonces = dict.fromkeys((k.address for k in KEYS), 0)
    for number in range(BLOCKS):
        txs = []
        for i in range(TXS_PER_BLOCK):
            sender = KEYS[1 + (number + i) % (len(KEYS) - 1)]
            txs.append(transfer(sender, KEYS[0].address, 1, nonce=nonces[sender.address]))
            nonces[sender.address] += 1
        extend(chain, txs)


def test_sigkill_during_import_then_resume(tmp_path: Path) -> None:
    source = new_chain(rules=default_rules())  # the rules `porchain db import` runs
    build_history(source)
    history = tmp_path / "history.bin"
    with history.open("wb") as out:
        assert export_blocks(source, out) == BLOCKS
    genesis_file = tmp_path / "genesis.json"
    genesis_file.write_text(json.dumps(make_genesis().to_json()))

    datadir = tmp_path / "node"
    run_cli(datadir, "init", "--genesis", str(genesis_file))
    log = datadir / "import.log"
    with processes() as procs:
        proc = procs.start(porchain_cmd(datadir, "db", "import", str(history)), log)

        def progressed() -> bool:
            assert proc.poll() is None, f"import exited early:\n{log.read_text()}"
            return "imported #" in log.read_text()

        wait_for(progressed, "the import to make progress")
        assert procs.stop(proc, signal.SIGKILL) == -signal.SIGKILL

    report = run_json(datadir, "db", "verify")
    assert report["ok"] is True
    assert 100 <= report["head"] < BLOCKS, "the import was not interrupted mid-way"
    assert report["head_hash"] == "0x" + source.get_canonical_hash(report["head"]).hex()

    resumed = run_json(datadir, "db", "import", str(history))
    assert resumed["imported"] == BLOCKS - report["head"]
    assert resumed["head_hash"] == "0x" + source.head.hash.hex()
    assert run_json(datadir, "db", "verify")["head"] == BLOCKS

    Keystore(datadir / "keystore").create(PASSWORD, name="producer", key=PRODUCER, scrypt_n=2**12)
    with processes() as procs:
        node = NodeProcess(procs, datadir, "--key", "producer")
        node.wait_for_head(BLOCKS + 2)
        assert node.stop() == 0
