"""Fixtures shared by the test modules; the builders behind them live in `tests/factories.py`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest

from porchain.chain import Chain
from porchain.genesis import Genesis
from tests.factories import make_genesis, new_chain

PORTS_APART = 100  # a worker's devnets prefer ports this far from the next worker's


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (`-n auto --dist loadgroup`, what CI runs) each worker's devnets
    prefer their own ports, so two created at the same moment never pick the same free port."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):
        shift = PORTS_APART * int(worker[2:])
        os.environ["PORCHAIN_DEVNET_PORTS"] = f"{8645 + shift},{30400 + shift}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist the multi-process tests run one after another on one worker, while
    the others share the remaining workers: two devnets never run at once, and the in-process
    tests fill the other core meanwhile."""
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.xdist_group("multi-process"))


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


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client (relays, builders' RPC), closed after the test."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client
