"""Which data directory the CLI uses when none is given (issue 17, friction 3): the default one if
it holds keys, else the accounts of the one dev setup running; and an error about an unknown
account names where it looked and how to look elsewhere."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from porchain.cli import common
from porchain.cli.common import Home
from porchain.cli.main import cli, client_home
from porchain.crypto.keystore import Keystore

DEAD_PID = 2**22 + 1  # over Linux's pid_max: no such process


@pytest.fixture
def default_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default data directory (~/.porchain) moved to a temporary one, empty."""
    root = tmp_path / "porchain-home"
    root.mkdir()
    monkeypatch.setattr(common, "DEFAULT_DATADIR", root)
    datadir = next(p for p in cli.params if p.name == "datadir")
    monkeypatch.setattr(datadir, "default", root)
    return root


def node_info(datadir: Path, pid: int, rpc: str = "http://127.0.0.1:1") -> None:
    datadir.mkdir(parents=True, exist_ok=True)
    (datadir / "node.json").write_text(json.dumps({"rpc": rpc, "pid": pid}))


def devnet(root: Path, *, running: bool) -> Path:
    """A devnet's layout: node1 (running as this process, or dead) and the accounts."""
    node_info(root / "devnet" / "node1", os.getpid() if running else DEAD_PID)
    accounts = root / "devnet" / "accounts"
    Keystore(accounts / "keystore").create("", name="alice", scrypt_n=2)
    (accounts / "node.json").write_text(json.dumps({"rpc": "http://127.0.0.1:8645"}))
    return accounts


def test_the_running_devnet_s_accounts_are_found(default_dir: Path) -> None:
    accounts = devnet(default_dir, running=True)
    found = client_home(Home(default_dir), "tx")
    assert found.datadir == accounts and found.found == "the running devnet's accounts"
    assert found.rpc_url() == "http://127.0.0.1:8645"
    assert client_home(Home(default_dir), "node") == Home(default_dir)  # not a client command


def test_a_stopped_devnet_or_two_dev_setups_are_not_guessed(default_dir: Path) -> None:
    devnet(default_dir, running=False)
    assert client_home(Home(default_dir), "tx") == Home(default_dir)
    node_info(default_dir / "devnet" / "node1", os.getpid())
    node_info(default_dir / "dev", os.getpid())  # and `node run --dev` too: which one?
    assert client_home(Home(default_dir), "tx") == Home(default_dir)


def test_the_running_dev_node_s_keys_are_found(default_dir: Path) -> None:
    node_info(default_dir / "dev", os.getpid(), rpc="http://127.0.0.1:8999")
    found = client_home(Home(default_dir), "chain")
    assert found.datadir == default_dir / "dev" and found.rpc_url() == "http://127.0.0.1:8999"


def test_keys_of_its_own_keep_the_default_directory(default_dir: Path) -> None:
    devnet(default_dir, running=True)
    Keystore(default_dir / "keystore").create("", name="mine", scrypt_n=2)
    assert client_home(Home(default_dir), "tx") == Home(default_dir)


def test_an_unknown_account_names_the_keystore_it_searched(default_dir: Path) -> None:
    accounts = devnet(default_dir, running=True)
    result = CliRunner().invoke(cli, ["chain", "account", "bob"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: 'bob' is neither an address nor a key in the keystore of {accounts}, the "
        "running devnet's accounts; --datadir or PORCHAIN_DATADIR chooses another"
    )
    given = default_dir / "elsewhere"
    result = CliRunner().invoke(cli, ["--datadir", str(given), "chain", "account", "bob"])
    assert result.stderr.strip() == (
        f"Error: 'bob' is neither an address nor a key in the keystore of {given}; --datadir "
        "or PORCHAIN_DATADIR chooses another"
    )


def test_an_unknown_signer_names_the_keystore_it_searched(default_dir: Path) -> None:
    accounts = devnet(default_dir, running=True)
    result = CliRunner().invoke(cli, ["tx", "transfer", "alice", "1", "--from", "bob"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: no key named or with address bob in {accounts / 'keystore'} (the keystore of "
        f"{accounts}, the running devnet's accounts; --datadir or PORCHAIN_DATADIR chooses "
        "another)"
    )
