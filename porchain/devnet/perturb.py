"""Perturbations: when each is due, and what it does to the running devnet.

They fire in manifest order, each once its own trigger is reached and every one before it has
fired. Order matters more than triggers: "restart node3 at height 30" must never run before
"kill node3 at height 20", which could happen if heights were compared independently (the
head used is the first live node's, and that node may just have been killed).

Process actions (kill, pause, resume, restart) are signals and process starts; network actions
(disconnect, partition, heal) are the nodes' `dev_partition` / `dev_heal` RPC methods, given
the node ids devnet.json holds (each node's P2P key is made with the devnet), so a node that is
down can still be cut off by the others. `behave` is the nodes' `dev_setBehaviour`, with the
names in address arguments resolved to the devnet's addresses; a node restarted later is told
again (a restart starts it with its manifest behaviour).

A failed step is reported and the next ones still run: a devnet run is an experiment, and
stopping it half-way on one refused call would lose the rest of it.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from porchain.devnet.behave import resolve_args
from porchain.devnet.errors import DevnetError
from porchain.devnet.layout import Devnet
from porchain.devnet.manifest import Perturbation
from porchain.devnet.processes import KILL_SECONDS, PAUSED, RUNNING, Supervisor
from porchain.rpc.client import RemoteError, RPCClient, RPCClientError

RPC_TIMEOUT_SECONDS = 5.0
HEIGHT_TIMEOUT_SECONDS = 1.0


@dataclass
class Scheduler:
    """Which perturbations are due, given the reference head and the seconds since `up`."""

    perturbations: tuple[Perturbation, ...]
    fired: int = 0

    @property
    def done(self) -> bool:
        return self.fired >= len(self.perturbations)

    def pop_due(self, height: int | None, elapsed: float) -> list[tuple[int, Perturbation]]:
        """The next perturbations whose triggers are reached, numbered from 1, in order."""
        due = []
        while not self.done:
            perturbation = self.perturbations[self.fired]
            if not is_reached(perturbation, height, elapsed):
                break
            self.fired += 1
            due.append((self.fired, perturbation))
        return due

    def seconds_to_next(self, elapsed: float) -> float | None:
        """How long until the next time trigger; None if the next one waits for a height."""
        if self.done:
            return None
        at_time = self.perturbations[self.fired].at_time
        return None if at_time is None else max(0.0, at_time - elapsed)


def is_reached(perturbation: Perturbation, height: int | None, elapsed: float) -> bool:
    if perturbation.at_height is not None:
        return height is not None and height >= perturbation.at_height
    assert perturbation.at_time is not None
    return elapsed >= perturbation.at_time


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)
    failed: bool = False

    def note(self, line: str) -> None:
        self.lines.append(line)

    def fail(self, line: str) -> None:
        self.lines.append(line)
        self.failed = True


class Perturber:
    """Applies perturbations to a devnet's processes and network.

    `blocked` is what each node should refuse, kept here because a node's `dev_partition`
    replaces its whole set (so a disconnect after a partition must send the union) and a
    restarted node forgets it (so it is sent again once the node is back).
    """

    def __init__(
        self, devnet: Devnet, supervisor: Supervisor, *, rpc_timeout: float = RPC_TIMEOUT_SECONDS
    ) -> None:
        self.devnet = devnet
        self.supervisor = supervisor
        self.rpc_timeout = rpc_timeout
        self.blocked: dict[str, set[str]] = {name: set() for name in devnet.node_names}
        self.behaviours: dict[str, Perturbation] = {}  # the last behave naming each node

    def reference_height(self) -> int | None:
        """The head of the first running node that answers: what `at_height` waits for."""
        for name in self.devnet.node_names:
            if self.supervisor.state(name).state != RUNNING:
                continue
            client = RPCClient(self.devnet.node(name).rpc_url, timeout=HEIGHT_TIMEOUT_SECONDS)
            try:
                return int(client.call("por_blockNumber"))
            except (RPCClientError, RemoteError, TypeError, ValueError):
                continue
        return None

    def apply(self, perturbation: Perturbation) -> Outcome:
        outcome = Outcome()
        action = getattr(self, f"_{perturbation.action}")
        action(perturbation, outcome)
        return outcome

    # -- processes ---------------------------------------------------------------------------

    def _kill(self, p: Perturbation, out: Outcome) -> None:
        for name in p.nodes:
            pid = self.supervisor.send(name, signal.SIGKILL)
            if pid is None:
                out.note(f"{name}: not running")
            elif self.supervisor.wait_down([name], KILL_SECONDS):
                out.fail(f"{name}: still alive after SIGKILL (pid {pid})")
            else:
                out.note(f"{name}: killed (pid {pid})")

    def _pause(self, p: Perturbation, out: Outcome) -> None:
        for name in p.nodes:
            pid = self.supervisor.send(name, signal.SIGSTOP)
            out.note(f"{name}: paused (pid {pid})" if pid else f"{name}: not running")

    def _resume(self, p: Perturbation, out: Outcome) -> None:
        for name in p.nodes:
            if self.supervisor.state(name).state != PAUSED:
                out.note(f"{name}: not paused")
                continue
            pid = self.supervisor.send(name, signal.SIGCONT)
            out.note(f"{name}: resumed (pid {pid})")
            if self.blocked[name]:
                self._push(name, out)  # a partition made while it was paused

    def _restart(self, p: Perturbation, out: Outcome) -> None:
        for name in p.nodes:
            if self.supervisor.state(name).alive:
                self.supervisor.stop([name])
                out.note(f"{name}: stopped")
            try:
                pid = self.supervisor.start(name)
            except DevnetError as exc:  # its port taken meanwhile: said, and the run goes on
                out.fail(f"{name}: not restarted: {exc}")
                continue
            try:
                self.supervisor.wait_ready([name])
            except DevnetError as exc:  # reported, and the run goes on (see the module doc)
                out.fail(f"{name}: restarted (pid {pid}) but not ready: {exc}")
                continue
            out.note(f"{name}: restarted (pid {pid})")
            if self.blocked[name]:
                self._push(name, out)  # it forgot its partition when it stopped
            if name in self.behaviours:
                self._set_behaviour(name, self.behaviours[name], out)  # and its behaviour

    # -- behaviours ------------------------------------------------------------------------------

    def _behave(self, p: Perturbation, out: Outcome) -> None:
        for name in p.nodes:
            self.behaviours[name] = p
            self._set_behaviour(name, p, out)

    def _set_behaviour(self, name: str, p: Perturbation, out: Outcome) -> None:
        args = resolve_args(p.behaviour, p.behaviour_args, self.devnet.addresses_by_name())
        if self._call(name, out, "dev_setBehaviour", p.behaviour, args):
            out.note(f"{name}: behaviour {' '.join((p.behaviour, *p.behaviour_args))}")

    # -- network -----------------------------------------------------------------------------

    def _disconnect(self, p: Perturbation, out: Outcome) -> None:
        for name in p.nodes:
            for other in self.devnet.node_names:
                if other != name:  # both ends: each refuses the other
                    self.blocked[name].add(other)
                    self.blocked[other].add(name)
        self._push_all(out)

    def _partition(self, p: Perturbation, out: Outcome) -> None:
        for group in p.groups:
            outside = {n for n in self.devnet.node_names if n not in group}
            for name in group:
                self.blocked[name] |= outside
        self._push_all(out)

    def _heal(self, p: Perturbation, out: Outcome) -> None:
        healed = set(p.nodes or self.devnet.node_names)
        for name, blocked in self.blocked.items():
            if name in healed:
                blocked.clear()
            else:
                blocked -= healed
        self._push_all(out)

    def _push_all(self, out: Outcome) -> None:
        for name in self.devnet.node_names:
            self._push(name, out)

    def _push(self, name: str, out: Outcome) -> None:
        """Send a node the whole set it should refuse (dev_heal when it is empty)."""
        blocked = sorted(self.blocked[name], key=self.devnet.node_names.index)
        if not blocked:
            if self._call(name, out, "dev_heal"):
                out.note(f"{name}: connected to all")
            return
        ids = [self.devnet.node(other).node_id for other in blocked]
        if self._call(name, out, "dev_partition", ids):
            out.note(f"{name}: cut off from {', '.join(blocked)}")

    def _call(self, name: str, out: Outcome, method: str, *params: object) -> bool:
        state = self.supervisor.state(name).state
        if state != RUNNING:
            out.note(f"{name}: {state}, {method} skipped")
            return False
        client = RPCClient(self.devnet.node(name).rpc_url, timeout=self.rpc_timeout)
        try:
            client.call(method, *params)
        except (RPCClientError, RemoteError) as exc:
            out.fail(f"{name}: {method} failed: {exc}")
            return False
        return True
