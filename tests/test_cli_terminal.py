"""The CLI at an interactive terminal, through a pseudo-terminal: what a user types at a prompt
(issue 17, friction 4: Enter alone, the dev accounts' empty password, re-asked forever)."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.factories import make_genesis
from tests.procs import DEADLINE_SECONDS, Processes, porchain_cmd, processes

pytestmark = pytest.mark.slow


class Terminal:
    """A command on a pseudo-terminal: read what it prints, type keys."""

    def __init__(self, procs: Processes, cmd: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PORCHAIN_PASSWORD"}
        self.master, slave = pty.openpty()
        self.proc = procs.add(
            subprocess.Popen(
                cmd,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env={**env, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        )
        os.close(slave)
        self.seen = b""

    def expect(self, text: str) -> None:
        """Read until `text` has been printed; fail at the deadline or if the command ends."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.master], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no {text!r} in {DEADLINE_SECONDS:g} s; saw {self.seen!r}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the command ended and closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"ended before printing {text!r}; saw {self.seen!r}")
            self.seen += chunk

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        os.close(self.master)


def test_enter_alone_is_the_empty_password(tmp_path: Path) -> None:
    datadir = tmp_path / "home"
    datadir.mkdir()
    (datadir / "genesis.json").write_text(json.dumps(make_genesis().to_json()))
    with processes() as procs:
        subprocess.run(porchain_cmd(datadir, "init"), check=True, capture_output=True)

        new = Terminal(procs, porchain_cmd(datadir, "keys", "new", "--name", "dev"))
        new.expect("Password for the")
        new.type("\r")
        new.expect("Repeat for confirmation")
        new.type("\r")
        assert new.proc.wait(timeout=DEADLINE_SECONDS) == 0, new.seen
        new.close()

        run = ["node", "run", "--key", "dev", "--no-p2p", "--no-rpc"]
        node = Terminal(procs, porchain_cmd(datadir, *run))
        node.expect("Password for the key dev")
        node.type("\r")
        node.expect("node started")  # the key unlocked with the empty password
        node.proc.send_signal(signal.SIGINT)
        assert node.proc.wait(timeout=DEADLINE_SECONDS) == 0, node.seen
        node.close()
