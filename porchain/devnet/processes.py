"""Node processes: start `porchain node run` per node, see which are alive, stop them.

Each node runs in its own session, so a Ctrl-C in the terminal reaches only the controller,
which then stops the nodes itself with SIGTERM (a clean stop: head and databases closed) and
SIGKILL only after a deadline or a second Ctrl-C. Pids live in `<node>/node.pid`, so `devnet
down` finds nodes started by another command; before signalling a pid we check (on Linux) that
it still runs with that node's data directory, so a recycled pid is never killed.

A node counts as ready only once its RPC port answers as that node (`identity.ask`): before a
start the ports are checked free, and an answer from another network during the start (a race
the check cannot close) fails the start with one line instead of being taken for our node.
Nodes run as `python -P -m porchain` in their own data directory, so a `porchain/` folder in the
caller's working directory (a checkout's parent) cannot shadow the installed package.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from porchain.behaviours import BEHAVIOURS, HONEST
from porchain.devnet.behave import resolve_args
from porchain.devnet.errors import DevnetError
from porchain.devnet.identity import ask
from porchain.devnet.layout import LOOPBACK, PRODUCER_KEY, Devnet, ServiceInfo, port_is_free
from porchain.pbs.attacks import BUILDERS, RELAYS
from porchain.rpc.client import RemoteError, RPCClientError
from porchain.units import format_amount

READY_SECONDS = 60.0
STOP_SECONDS = 20.0
KILL_SECONDS = 10.0
POLL_SECONDS = 0.1
RPC_PROBE_SECONDS = 1.0
RUNNING, PAUSED, DOWN = "running", "paused", "down"
START_MARK = "--- porchain devnet: starting "


@dataclass(frozen=True)
class ProcState:
    pid: int | None
    state: str  # running | paused | down

    @property
    def alive(self) -> bool:
        return self.state != DOWN


def node_command(devnet: Devnet, name: str) -> list[str]:
    """`porchain node run` for one node: its key, ports, behaviour, and every other node as
    bootnode."""
    node, spec = devnet.node(name), devnet.manifest.node(name)
    cmd = [
        sys.executable,
        "-P",  # no working directory on sys.path: a `porchain/` folder there would shadow us
        "-m",
        "porchain",
        "--datadir",
        str(devnet.datadir(name)),
        "node",
        "run",
        "--key",
        PRODUCER_KEY,
        "--password-file",
        str(devnet.password_file(name)),
        "--rpc-port",
        str(node.rpc_port),
        "--p2p-host",
        LOOPBACK,
        "--p2p-port",
        str(node.p2p_port),
        "--dev-rpc",  # dev_partition, dev_heal, dev_setBehaviour: for the perturbations
    ]
    for other in devnet.nodes:  # node 1 first: it is every other node's bootnode
        if other.name != name:
            cmd += ["--bootnode", other.p2p_address]
    if spec.max_peers is not None:
        cmd += ["--max-peers", str(spec.max_peers)]
    if any(s.node == name for s in devnet.manifest.services):
        cmd.append("--builder-api")  # a relay checks, or a builder builds, on this node
    for relay in spec.relays:
        cmd += ["--relay", relay_of(devnet, relay).url]
    return cmd + behaviour_flags(devnet, spec.behaviour, spec.behaviour_args)


def relay_of(devnet: Devnet, name: str) -> ServiceInfo:
    relay = devnet.service(name)
    assert relay is not None and relay.kind == "relay"  # the manifest was checked
    return relay


def behaviour_flags(
    devnet: Devnet, name: str, args: tuple[str, ...], kinds: Mapping[str, type] = BEHAVIOURS
) -> list[str]:
    """--behaviour and its --behaviour-arg flags, names in address arguments resolved."""
    if name == HONEST:
        return []
    flags = ["--behaviour", name]
    for pair in resolve_args(name, args, devnet.addresses_by_name(), kinds):
        flags += ["--behaviour-arg", pair]
    return flags


def service_command(devnet: Devnet, name: str) -> list[str]:
    """`porchain relay run` or `porchain builder run` for a [[relay]] or [[builder]]."""
    service, spec = devnet.service(name), devnet.manifest.service(name)
    assert service is not None and spec is not None
    cmd = [
        sys.executable,
        "-P",
        "-m",
        "porchain",
        "--datadir",
        str(devnet.datadir(name)),
        service.kind,
        "run",
        "--key",
        service.kind,
        "--password-file",
        str(devnet.password_file(name)),
        "--rpc",
        devnet.node(spec.node).rpc_url,
    ]
    if service.kind == "relay":
        cmd += ["--host", LOOPBACK, "--port", str(service.port)]
    else:
        cmd += ["--pay", format_amount(spec.pay)]
        for relay in spec.relays:
            cmd += ["--relay", relay_of(devnet, relay).plain_url]
    kinds = RELAYS if service.kind == "relay" else BUILDERS
    return cmd + behaviour_flags(devnet, spec.behaviour, spec.behaviour_args, kinds)


def command(devnet: Devnet, name: str) -> list[str]:
    return service_command(devnet, name) if devnet.service(name) else node_command(devnet, name)


class Supervisor:
    """Starts, inspects and stops the devnet's node processes."""

    def __init__(self, devnet: Devnet) -> None:
        self.devnet = devnet
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        # Set when the devnet is being stopped: a perturbation running in another thread must
        # then neither start a node (it would outlive the devnet) nor keep waiting for one.
        self.stopping = threading.Event()
        self._starting = threading.Lock()  # held from the check to the pid file

    # -- inspection --------------------------------------------------------------------------

    def pid(self, name: str) -> int | None:
        try:
            return int(self.devnet.pid_file(name).read_text())
        except (OSError, ValueError):
            return None

    def state(self, name: str) -> ProcState:
        child = self._children.get(name)
        if child is not None:
            # Our own child: poll() reaps it once dead, and is right even before its exec
            # (when /proc still shows our command line, not the node's).
            if child.poll() is None:
                return ProcState(child.pid, stopped_or_running(child.pid))
            del self._children[name]
            return ProcState(None, DOWN)
        pid = self.pid(name)
        if pid is None:
            return ProcState(None, DOWN)
        return ProcState(pid, process_state(pid, self.devnet.datadir(name)))

    def states(self) -> dict[str, ProcState]:
        """Every process's: the nodes', then the relays' and builders'."""
        return {name: self.state(name) for name in self.devnet.process_names}

    # -- starting ----------------------------------------------------------------------------

    def start(self, name: str) -> int:
        """Start the node unless it runs already; its output is appended to node.log."""
        with self._starting:
            if self.stopping.is_set():
                raise DevnetError(f"not starting {name}: the devnet is stopping")
            current = self.state(name)
            if current.alive:
                assert current.pid is not None
                return current.pid
            self.check_ports([name])
            self.devnet.info_file(name).unlink(missing_ok=True)  # stale after a SIGKILL
            log_path = self.devnet.log_file(name)
            with log_path.open("ab") as log:
                stamp = datetime.now().isoformat(timespec="seconds")
                log.write(f"{START_MARK}{name} at {stamp}\n".encode())
                log.flush()
                child = subprocess.Popen(
                    command(self.devnet, name),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd=self.devnet.datadir(name),
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            self._children[name] = child
            pid_file = self.devnet.pid_file(name)
            tmp = pid_file.with_suffix(".tmp")
            tmp.write_text(f"{child.pid}\n")
            tmp.replace(pid_file)
            return child.pid

    def check_ports(self, names: Iterable[str]) -> None:
        """Refuse to start a node whose port another program holds: the node would only die
        with `Address already in use`. A node running already holds its own ports."""
        for name in names:
            if self.state(name).alive:
                continue
            service = self.devnet.service(name)
            if service is not None:
                ports = [("relay", service.port)] if service.kind == "relay" else []
            else:
                node = self.devnet.node(name)
                ports = [("RPC", node.rpc_port), ("P2P", node.p2p_port)]
            for kind, port in ports:
                if not port_is_free(port):
                    holder = self._rpc_port_holder(name) if kind == "RPC" else None
                    raise DevnetError(
                        f"cannot start {name}: "
                        f"{holder or f'its {kind} port {port} is in use by another program'}; "
                        "stop that first, or run this devnet from another --dir"
                    )

    def _rpc_port_holder(self, name: str) -> str | None:
        try:
            answer = ask(self.devnet, name, timeout=RPC_PROBE_SECONDS)
        except (RPCClientError, RemoteError):
            return None
        return answer.foreign or f"{name} runs already, in a process whose pid this devnet lost"

    def wait_ready(self, names: Iterable[str], *, timeout: float = READY_SECONDS) -> None:
        """Until every node answers RPC as itself; DevnetError if one exits, another network
        answers in its place, or the deadline passes."""
        waiting = list(names)
        deadline = time.monotonic() + timeout
        while waiting:
            if self.stopping.is_set():
                raise DevnetError("the devnet is stopping")
            for name in list(waiting):
                if not self.state(name).alive:
                    raise DevnetError(
                        f"{name} exited while starting: {self.last_log_line(name)} "
                        f"(see `porchain devnet logs {name}`)"
                    )
                if self._answers(name):
                    waiting.remove(name)
            if waiting and time.monotonic() > deadline:
                raise DevnetError(
                    f"{', '.join(waiting)} did not answer RPC within {timeout:g} s "
                    f"(see `porchain devnet logs {waiting[0]}`)"
                )
            if waiting:
                time.sleep(POLL_SECONDS)

    def _answers(self, name: str) -> bool:
        service = self.devnet.service(name)
        if service is not None:  # a builder runs once alive; a relay once it serves
            return service.kind == "builder" or relay_answers(service)
        try:
            answer = ask(self.devnet, name, timeout=RPC_PROBE_SECONDS)
        except (RPCClientError, RemoteError):
            return False
        if answer.foreign:
            raise DevnetError(
                f"{name} did not start: {answer.foreign} (see `porchain devnet logs {name}`)"
            )
        return True

    def last_log_line(self, name: str) -> str:
        """The node's last words since its latest start, for a one-line error."""
        try:
            text = self.devnet.log_file(name).read_text(errors="replace")
        except OSError:
            return "no log"
        lines = text.rpartition(START_MARK)[2].strip().splitlines()[1:]
        return lines[-1] if lines else "no output"

    # -- signals and stopping ----------------------------------------------------------------

    def send(self, name: str, sig: int) -> int | None:
        """Signal the node if it is alive; the pid signalled, or None."""
        current = self.state(name)
        if not current.alive or current.pid is None:
            return None
        try:
            os.kill(current.pid, sig)
        except ProcessLookupError:
            return None
        return current.pid

    def wait_down(self, names: Iterable[str], timeout: float) -> list[str]:
        """Poll until the nodes are gone; the ones still alive at the deadline."""
        alive = list(names)
        deadline = time.monotonic() + timeout
        while alive:
            alive = [name for name in alive if self.state(name).alive]
            if not alive or time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
        return alive

    def stop(
        self,
        names: Iterable[str] | None = None,
        *,
        timeout: float = STOP_SECONDS,
    ) -> list[str]:
        """Stop nodes cleanly (SIGTERM), SIGKILL what outlives `timeout` or a second Ctrl-C.

        All are signalled first and awaited together, so a devnet stops in one node's time.
        Returns the names of the nodes that were alive.
        """
        chosen = self.devnet.process_names if names is None else list(names)
        with self._starting:  # a start in progress in another thread gets its pid file first
            pass
        targets = [name for name in chosen if self.state(name).alive]
        for name in targets:
            self.send(name, signal.SIGTERM)
            self.send(name, signal.SIGCONT)  # a paused node must run to see its SIGTERM
        try:
            left = self.wait_down(targets, timeout)
        except KeyboardInterrupt:
            left = [name for name in targets if self.state(name).alive]
        for name in left:
            self.send(name, signal.SIGKILL)
        still = self.wait_down(left, KILL_SECONDS)
        if still:
            raise DevnetError(f"could not stop {', '.join(still)}")
        for name in chosen:
            self.devnet.pid_file(name).unlink(missing_ok=True)
        return targets


def relay_answers(service: ServiceInfo) -> bool:
    """Whether the relay serves its status as itself (its key's address)."""
    try:
        with urllib.request.urlopen(
            service.plain_url + "/eth/v1/builder/status", timeout=RPC_PROBE_SECONDS
        ) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError, http.client.HTTPException):
        return False
    return isinstance(answer, dict) and str(answer.get("relay")).lower() == service.address.lower()


def process_state(pid: int, datadir: Path) -> str:
    """running, paused (SIGSTOP) or down; a zombie or a pid reused by another program is down."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return DOWN
    except PermissionError:
        return DOWN  # someone else's process: not one of ours
    proc = Path("/proc") / str(pid)
    if not proc.is_dir():
        return RUNNING  # no procfs (macOS): trust the pid file
    try:
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        stat = (proc / "stat").read_text()
    except OSError:
        return DOWN
    if os.fsencode(str(datadir)) not in cmdline:
        return DOWN
    return _state_letter(stat)


def stopped_or_running(pid: int) -> str:
    """paused or running, for a process known to be ours and alive."""
    try:
        return _state_letter((Path("/proc") / str(pid) / "stat").read_text())
    except OSError:
        return RUNNING  # no procfs: we cannot tell a paused process apart


def _state_letter(stat: str) -> str:
    status = stat.rpartition(")")[2].split()[0]
    if status in ("Z", "X", "x"):
        return DOWN
    return PAUSED if status in ("T", "t") else RUNNING


def controller_pid(devnet: Devnet) -> int | None:
    """The pid of a foreground `devnet up` controlling this devnet, if one runs."""
    try:
        pid = int(json.loads(devnet.controller_file.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return None
    cmdline = Path("/proc") / str(pid) / "cmdline"
    if cmdline.exists():
        try:
            if b"devnet" not in cmdline.read_bytes():
                return None
        except OSError:
            return None
    return pid


def write_controller_file(devnet: Devnet) -> None:
    devnet.controller_file.write_text(json.dumps({"pid": os.getpid()}) + "\n")


def stop_controller(devnet: Devnet, *, timeout: float = STOP_SECONDS + KILL_SECONDS) -> int | None:
    """Ask a foreground controller to stop (it stops its nodes); its pid, or None if none."""
    pid = controller_pid(devnet)
    if pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while controller_pid(devnet) == pid and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    return pid
