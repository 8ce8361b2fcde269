"""`porchain db import` of crafted history files: one clear error line, and the chain as it was."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from porchain.chain import Chain
from porchain.cli.main import cli
from porchain.composition import default_rules
from porchain.crypto.hashing import keccak
from porchain.db import LevelDB
from porchain.history import MAGIC
from porchain.types.blocks import Block
from tests.factories import PRODUCER, build_on_head, make_genesis, resign


@pytest.fixture(autouse=True)
def quiet_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI points the root logger at its (short-lived) stderr; keep other logs off it."""
    monkeypatch.setattr("porchain.cli.main.configure_logging", lambda verbosity: None)


def frame(block: Block) -> bytes:
    raw = block.encode()
    return len(raw).to_bytes(4, "big") + raw


def huge_slot(head: bytes, block: Block) -> bytes:
    return head + frame(resign(block, PRODUCER, slot=2**64 - 1))


def wrong_parent(head: bytes, block: Block) -> bytes:
    return head + frame(resign(block, PRODUCER, parent_hash=keccak(b"elsewhere")))


def malformed_block(head: bytes, block: Block) -> bytes:
    return head + (5).to_bytes(4, "big") + b"\xff" * 5


def truncated_block(head: bytes, block: Block) -> bytes:
    return head + frame(block)[:-1]


def truncated_length(head: bytes, block: Block) -> bytes:
    return head + b"\x00\x00"


def garbage(head: bytes, block: Block) -> bytes:
    return b"\x00garbage, not a history file"


CRAFTED: dict[str, tuple[Callable[[bytes, Block], bytes], str]] = {
    "huge slot": (
        huge_slot,
        "slot 18446744073709551615 is over the highest slot a block may have",
    ),
    "wrong parent": (wrong_parent, "history block #1 does not follow the local head"),
    "malformed block": (malformed_block, "history file holds a malformed block"),
    "truncated block": (truncated_block, r"history file is truncated \(partial block\)"),
    "truncated length": (truncated_length, r"history file is truncated \(partial frame length"),
    "garbage": (garbage, r"not a porchain history file \(bad magic\)"),
}


@pytest.mark.parametrize("case", CRAFTED)
def test_crafted_history_is_one_error_line_and_changes_nothing(tmp_path: Path, case: str) -> None:
    craft, message = CRAFTED[case]
    home = tmp_path / "home"
    with LevelDB(home / "chaindata") as db:
        chain = Chain.initialize(db, make_genesis(), default_rules())
        block = build_on_head(chain).block  # the next block, signed by its scheduled producer
        head = MAGIC + chain.genesis_hash
        before = list(db.iterate())
    history = tmp_path / "history.bin"
    history.write_bytes(craft(head, block))

    result = CliRunner().invoke(cli, ["--datadir", str(home), "db", "import", str(history)])

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert re.search(message, lines[0]), lines[0]
    with LevelDB(home / "chaindata", create=False) as db:
        assert list(db.iterate()) == before
