"""Fixtures shared by the test modules; the builders behind them live in `tests/factories.py`."""

from __future__ import annotations

import pytest

from porchain.chain import Chain
from porchain.genesis import Genesis
from tests.factories import make_genesis, new_chain


@pytest.fixture
def genesis() -> Genesis:
    """The default test genesis: KEYS[0] produces, every test key holds 1000 `$`."""
    return make_genesis()


@pytest.fixture
def chain(genesis: Genesis) -> Chain:
    """A fresh in-memory chain at its genesis block."""
    return new_chain(genesis)


@pytest.fixture
def quiet_cli_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI points the root logger at its (short-lived) stderr; keep in-process nodes' logs
    off it. Modules that run the CLI next to a node use it with `pytest.mark.usefixtures`."""
    monkeypatch.setattr("porchain.cli.main.configure_logging", lambda verbosity: None)
