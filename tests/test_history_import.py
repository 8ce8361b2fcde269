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
from tests.factories import (
    KEYS,
    PRODUCER,
    build_on_head,
    extend,
    make_genesis,
    new_chain,
    resign,
    transfer,
)

pytestmark = pytest.mark.usefixtures("quiet_cli_logging")


FUTURE_SLOT = 10**12  # with 100 ms slots, some 3,000 years after the genesis


def frame(block: Block) -> bytes:
    raw = block.encode()
    return len(raw).to_bytes(4, "big") + raw


def next_block(chain: Chain, **kwargs: int) -> Block:
    """The next block on the head, signed by its scheduled producer, with a valid state root."""
    return build_on_head(chain, **kwargs).block


def huge_slot(head: bytes, chain: Chain) -> bytes:
    return head + frame(resign(next_block(chain), PRODUCER, slot=2**64 - 1))


def future_slot(head: bytes, chain: Chain) -> bytes:
    return head + frame(next_block(chain, slot=FUTURE_SLOT))  # valid but for the clock


def wrong_parent(head: bytes, chain: Chain) -> bytes:
    return head + frame(resign(next_block(chain), PRODUCER, parent_hash=keccak(b"elsewhere")))


def malformed_block(head: bytes, chain: Chain) -> bytes:
    return head + (5).to_bytes(4, "big") + b"\xff" * 5


def truncated_block(head: bytes, chain: Chain) -> bytes:
    return head + frame(next_block(chain))[:-1]


def truncated_length(head: bytes, chain: Chain) -> bytes:
    return head + b"\x00\x00"


def garbage(head: bytes, chain: Chain) -> bytes:
    return b"\x00garbage, not a history file"


CRAFTED: dict[str, tuple[Callable[[bytes, Chain], bytes], str]] = {
    "huge slot": (
        huge_slot,
        "slot 18446744073709551615 is over the highest slot a block may have",
    ),
    "future slot": (future_slot, f"block slot {FUTURE_SLOT} has not started yet"),
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
        before = list(db.iterate())
        history = tmp_path / "history.bin"
        history.write_bytes(craft(MAGIC + chain.genesis_hash, chain))

    result = CliRunner().invoke(cli, ["--datadir", str(home), "db", "import", str(history)])

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert re.search(message, lines[0]), lines[0]
    with LevelDB(home / "chaindata", create=False) as db:
        assert list(db.iterate()) == before


def test_import_stops_at_the_crafted_block_and_keeps_the_valid_ones(tmp_path: Path) -> None:
    """Blocks before the bad one are imported (an import resumes where it stopped); the bad
    one and everything after it are not."""
    home = tmp_path / "home"
    with LevelDB(home / "chaindata") as db:
        Chain.initialize(db, make_genesis(), default_rules())
    source = new_chain(make_genesis(), rules=default_rules())  # the same chain, elsewhere
    good = extend(source)
    bad = resign(next_block(source), PRODUCER, slot=2**64 - 1)
    history = tmp_path / "history.bin"
    history.write_bytes(MAGIC + source.genesis_hash + frame(good) + frame(bad))

    result = CliRunner().invoke(cli, ["--datadir", str(home), "db", "import", str(history)])

    assert result.exit_code == 1, result.output
    assert result.stderr.strip().startswith("Error: slot 18446744073709551615 is over")
    with LevelDB(home / "chaindata", create=False) as db:
        assert Chain(db, default_rules()).head == good.header


def history_of(chain: Chain, numbers: range) -> bytes:
    frames = b"".join(frame(chain.get_block_by_number(n)) for n in numbers)
    return MAGIC + chain.genesis_hash + frames


def test_a_history_that_forks_from_a_finalized_block_is_refused(tmp_path: Path) -> None:
    """Issue 16: the file is of the same genesis, but its block #1 is not ours, which is final:
    refused at that block, before any of the file's blocks above our head is written."""
    home = tmp_path / "home"
    with LevelDB(home / "chaindata") as db:
        local = Chain.initialize(db, make_genesis(), default_rules())
        while local.checkpoint.number < 2:
            extend(local)
        head = local.head
        before = list(db.iterate())
    fork = new_chain(make_genesis(), rules=default_rules())
    extend(fork, [transfer(KEYS[1], KEYS[2].address, 5, nonce=0)])
    while fork.head.number < head.number + 3:
        extend(fork)
    history = tmp_path / "history.bin"
    history.write_bytes(history_of(fork, range(1, fork.head.number + 1)))

    result = CliRunner().invoke(cli, ["--datadir", str(home), "db", "import", str(history)])

    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        "Error: history forks from the finalized chain at #1 (this node's blocks are final up "
        "to #2): refused, nothing was imported"
    )
    with LevelDB(home / "chaindata", create=False) as db:
        assert list(db.iterate()) == before


def test_a_history_out_of_order_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with LevelDB(home / "chaindata") as db:
        Chain.initialize(db, make_genesis(), default_rules())
    source = new_chain(make_genesis(), rules=default_rules())
    for _ in range(3):
        extend(source)
    history = tmp_path / "history.bin"
    history.write_bytes(history_of(source, range(1, 2)) + history_of(source, range(3, 4))[40:])

    result = CliRunner().invoke(cli, ["--datadir", str(home), "db", "import", str(history)])

    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == "Error: history file is not in order: block #3 after #1"
