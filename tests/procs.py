"""Running the real `porchain` command in subprocesses, for the multi-process tests.

Every wait polls for its condition up to a generous deadline instead of sleeping a fixed time,
and `Processes` stops everything it started when the test ends, passed or failed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from porchain.rpc.client import RPCClient, RPCClientError

T = TypeVar("T")
PASSWORD = "test password"
DEADLINE_SECONDS = 60.0


def porchain_cmd(datadir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "porchain", "--datadir", str(datadir), *args]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PORCHAIN_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}


def run_cli(datadir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one CLI command to completion; with check, fail the test with its stderr."""
    done = subprocess.run(
        porchain_cmd(datadir, *args),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"porchain {' '.join(args)} failed:\n{done.stderr}")
    return done


def run_json(datadir: Path, *args: str) -> Any:
    return json.loads(run_cli(datadir, *args, "-o", "json").stdout)


def wait_for(condition: Callable[[], T | None], what: str, timeout: float = DEADLINE_SECONDS) -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


class Processes:
    """Every process a test starts; all are killed and reaped when the test ends."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[str]] = []

    def start(self, cmd: list[str], log_path: Path) -> subprocess.Popen[str]:
        log = log_path.open("a")
        proc = subprocess.Popen(
            cmd,
            env=cli_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        log.close()
        return self.add(proc)

    def add(self, proc: subprocess.Popen[str]) -> subprocess.Popen[str]:
        """Track a process started elsewhere, to be stopped with the others."""
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
        if proc.poll() is None:
            proc.send_signal(sig)
        return proc.wait(timeout=DEADLINE_SECONDS)

    def stop_all(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=DEADLINE_SECONDS)


@contextmanager
def processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop_all()


class NodeProcess:
    """`porchain node run` on a data directory, with its RPC on a free port."""

    def __init__(self, procs: Processes, datadir: Path, *args: str) -> None:
        self.datadir = datadir
        info = datadir / "node.json"
        info.unlink(missing_ok=True)
        self.proc = procs.start(
            porchain_cmd(datadir, "node", "run", "--rpc-port", "0", "--p2p-port", "0", *args),
            datadir / "node.log",
        )
        self.procs = procs
        self.url = wait_for(lambda: self._read_url(info), "the node's RPC to come up")
        self.rpc = RPCClient(self.url)

    def _read_url(self, info: Path) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"node exited early:\n{self.log()}")
        try:
            url = json.loads(info.read_text())["rpc"]
            self_check = RPCClient(url, timeout=2)
            self_check.call("por_blockNumber")
            return url
        except (OSError, ValueError, KeyError, RPCClientError):
            return None

    def log(self) -> str:
        return (self.datadir / "node.log").read_text()

    def head(self) -> int:
        return self.rpc.call("por_blockNumber")

    def wait_for_head(self, number: int) -> int:
        return wait_for(lambda: self.head() >= number and self.head(), f"head #{number}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        return self.procs.stop(self.proc, sig)
