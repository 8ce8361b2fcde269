"""The devnet directory: one data directory per node, the dev accounts, ports and genesis.

    <dir>/devnet.json          the resolved manifest, ports, addresses: what a restart reuses
    <dir>/genesis.json         the genesis every node started from
    <dir>/accounts/keystore/   the dev accounts' keys (empty password)
    <dir>/accounts/node.json   points the CLI at node 1's RPC
    <dir>/<node>/              a node's data directory (`porchain init` semantics), with
                 keystore/producer.json, password (0600), nodekey (its P2P identity),
                 genesis.json, chaindata/, node.log, node.pid, and node.json while it runs
    <dir>/<relay or builder>/  the same for each [[relay]] and [[builder]] process: its key
                 (keystore/relay.json or builder.json), password, node.log, node.pid
    <dir>/controller.json      while a foreground `devnet up` runs: its pid

A devnet is built in a staging directory next to `<dir>` and renamed into place only once
complete, so a failure or Ctrl-C during creation leaves nothing behind, and a `devnet.json`
always means a whole devnet. Paths are never stored: the directory can be moved while stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from porchain.chain import Chain
from porchain.composition import default_rules
from porchain.crypto.keys import to_checksum_address
from porchain.crypto.keystore import KeyEntry, Keystore
from porchain.db.level import LevelDB
from porchain.db.memory import MemoryDB
from porchain.devnet.errors import DevnetError
from porchain.devnet.manifest import Manifest, default_manifest, parse_manifest
from porchain.errors import PorchainError
from porchain.genesis import Genesis
from porchain.net.identity import NODE_KEY_FILE, load_node_key
from porchain.state.lthash import LtHash
from porchain.state.state import State
from porchain.units import format_amount

DEFAULT_DEVNET_DIR = Path("~/.porchain/devnet").expanduser()
DEVNET_FILE = "devnet.json"
LAYOUT_VERSION = 1
PREFERRED_RPC_PORT = 8645  # node i (from 0) prefers 8645 + i, then any free port
PREFERRED_P2P_PORT = 30400
RELAY_PORT_OFFSET = 9905  # relay i prefers the first RPC port + this + i: 18550 by default
PORTS_ENV = "PORCHAIN_DEVNET_PORTS"  # "RPC,P2P": other first preferred ports, for devnets
# created at the same moment (parallel test workers), which could otherwise pick the same
# ports: each checks a port is free, and a node binds it only when it starts
LOOPBACK = "127.0.0.1"
PRODUCER_KEY = "producer"
PASSWORD_FILE = "password"
ACCOUNTS_DIR = "accounts"
ACCOUNT_PASSWORD = ""  # dev accounts are throwaway: anyone on the machine may spend them
LIGHT_SCRYPT_N = 2**12  # cheap to unlock: devnet keys protect nothing of value
SECRET_MODE = 0o600


@dataclass(frozen=True)
class NodeInfo:
    """What a node keeps across restarts: its ports and its producer address."""

    name: str
    rpc_port: int
    p2p_port: int
    address: str  # the producer key's
    node_id: str  # the P2P identity's (DATADIR/nodekey), which dev_partition names

    @property
    def rpc_url(self) -> str:
        return f"http://{LOOPBACK}:{self.rpc_port}"

    @property
    def p2p_address(self) -> str:
        return f"{LOOPBACK}:{self.p2p_port}"


@dataclass(frozen=True)
class ServiceInfo:
    """A relay's or a builder's process: its key's address and, for a relay, its port."""

    name: str
    kind: str  # "relay" | "builder"
    address: str
    port: int = 0  # a relay's HTTP port

    @property
    def url(self) -> str:
        """A relay's URL as producers give it (`node run --relay`): naming its key."""
        return f"http://{self.address}@{LOOPBACK}:{self.port}"

    @property
    def plain_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


@dataclass(frozen=True)
class Devnet:
    """A created devnet directory, as read from its devnet.json."""

    root: Path
    manifest: Manifest
    nodes: tuple[NodeInfo, ...]
    accounts: dict[str, str]  # name -> checksum address
    created_ms: int
    services: tuple[ServiceInfo, ...] = ()  # relays, then builders

    @property
    def process_names(self) -> list[str]:
        """Every process of the devnet, in the order they start: nodes, relays, builders."""
        return [*self.node_names, *(s.name for s in self.services)]

    def service(self, name: str) -> ServiceInfo | None:
        return next((s for s in self.services if s.name == name), None)

    # -- paths -------------------------------------------------------------------------------

    def datadir(self, name: str) -> Path:
        service = self.service(name)
        return self.root / (service.name if service is not None else self.node(name).name)

    def password_file(self, name: str) -> Path:
        return self.datadir(name) / PASSWORD_FILE

    def log_file(self, name: str) -> Path:
        return self.datadir(name) / "node.log"

    def pid_file(self, name: str) -> Path:
        return self.datadir(name) / "node.pid"

    def info_file(self, name: str) -> Path:
        return self.datadir(name) / "node.json"

    @property
    def accounts_dir(self) -> Path:
        return self.root / ACCOUNTS_DIR

    @property
    def accounts_keystore(self) -> Keystore:
        return Keystore(self.accounts_dir / "keystore")

    @property
    def controller_file(self) -> Path:
        return self.root / "controller.json"

    @property
    def genesis_file(self) -> Path:
        return self.root / "genesis.json"

    @cached_property
    def genesis_hash(self) -> str:
        """0x-hex, as `por_nodeInfo` gives it: how a node of this devnet is told from another
        network's on the same port. Built as `Chain.initialize` builds the genesis block."""
        try:
            genesis = Genesis.load(self.genesis_file)
        except PorchainError as exc:
            raise DevnetError(f"the devnet's genesis: {exc}") from None
        state = State(MemoryDB(), LtHash())
        genesis.build_state(state)
        return "0x" + genesis.header(state.root()).hash.hex()

    # -- lookups -----------------------------------------------------------------------------

    @property
    def node_names(self) -> list[str]:
        return [node.name for node in self.nodes]

    def node(self, name: str) -> NodeInfo:
        for node in self.nodes:
            if node.name == name:
                return node
        raise DevnetError(f"no node {name!r} in this devnet (nodes: {', '.join(self.node_names)})")

    def addresses_by_name(self) -> dict[str, str]:
        """Node and dev account name -> checksum address: what a behaviour argument may name."""
        return {**{node.name: node.address for node in self.nodes}, **self.accounts}

    def node_by_address(self) -> dict[str, str]:
        """Producer address (lower case) -> node name, to show producers by name (a twin's
        address is its original's, named by the original)."""
        names: dict[str, str] = {}
        for node in self.nodes:
            names.setdefault(node.address.lower(), node.name)
        return names

    # -- devnet.json -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "version": LAYOUT_VERSION,
            "created_ms": self.created_ms,
            "manifest": self.manifest.to_dict(),
            "nodes": [
                {
                    "name": n.name,
                    "rpc_port": n.rpc_port,
                    "p2p_port": n.p2p_port,
                    "address": n.address,
                    "node_id": n.node_id,
                }
                for n in self.nodes
            ],
            "accounts": dict(self.accounts),
            "services": [
                {"name": s.name, "kind": s.kind, "address": s.address, "port": s.port}
                for s in self.services
            ],
        }

    @classmethod
    def load(cls, root: Path) -> Devnet:
        path = Path(root) / DEVNET_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise DevnetError(
                f"no devnet in {root} (start one with `porchain devnet up`)"
            ) from None
        except (OSError, ValueError) as exc:
            raise DevnetError(f"cannot read {path}: {exc}") from None
        try:
            if data["version"] != LAYOUT_VERSION:
                raise DevnetError(
                    f"{path} has layout version {data['version']}, this porchain reads "
                    f"{LAYOUT_VERSION}: `porchain devnet reset` it"
                )
            return cls(
                root=Path(root),
                manifest=parse_manifest(data["manifest"], source=str(path)),
                nodes=tuple(
                    NodeInfo(
                        n["name"],
                        int(n["rpc_port"]),
                        int(n["p2p_port"]),
                        n["address"],
                        n["node_id"],
                    )
                    for n in data["nodes"]
                ),
                accounts={str(k): str(v) for k, v in data["accounts"].items()},
                created_ms=int(data["created_ms"]),
                services=tuple(
                    ServiceInfo(s["name"], s["kind"], s["address"], int(s["port"]))
                    for s in data.get("services", [])
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DevnetError(f"{path} is damaged ({exc!r}): `porchain devnet reset` it") from None


def open_devnet(root: Path, manifest: Manifest | None = None) -> tuple[Devnet, bool]:
    """The devnet in `root`, created from `manifest` (default: 4 nodes) if there is none yet.

    Returns (devnet, created). An existing devnet is reused as it is: same keys, genesis, ports
    and chain; asking for a different manifest on it is refused rather than silently ignored.
    """
    root = Path(root)
    if (root / DEVNET_FILE).exists():
        devnet = Devnet.load(root)
        if manifest is not None and manifest.to_dict() != devnet.manifest.to_dict():
            raise DevnetError(
                f"the devnet in {root} was created from manifest {devnet.manifest.name!r} "
                f"({len(devnet.nodes)} nodes), not this one: run `porchain devnet reset` first, "
                "or choose another --dir"
            )
        return devnet, False
    return create_devnet(root, manifest or default_manifest()), True


def create_devnet(root: Path, manifest: Manifest, *, now_ms: int | None = None) -> Devnet:
    """Build a whole devnet in a staging directory, then move it to `root` in one rename."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DevnetError(
            f"{root} exists and is not a devnet (no {DEVNET_FILE}): choose another --dir"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.creating.", dir=root.parent))
    try:
        _build(staging, manifest, now_ms if now_ms is not None else _now_ms())
        if root.exists():
            root.rmdir()  # empty, checked above
        staging.rename(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Devnet.load(root)


def _build(root: Path, manifest: Manifest, now_ms: int) -> None:
    first_rpc, first_p2p = preferred_ports()
    rpc_ports = pick_ports(len(manifest.nodes), first_rpc)
    p2p_ports = pick_ports(len(manifest.nodes), first_p2p, avoid=rpc_ports)
    nodes = []
    for spec, rpc_port, p2p_port in zip(manifest.nodes, rpc_ports, p2p_ports, strict=True):
        datadir = root / spec.name
        if spec.twin_of is not None:
            entry = _copy_producer_key(root / spec.twin_of, datadir)
        else:
            password = os.urandom(16).hex()
            entry = Keystore(datadir / "keystore").create(
                password, name=PRODUCER_KEY, scrypt_n=LIGHT_SCRYPT_N
            )
            write_secret(datadir / PASSWORD_FILE, password + "\n")
        node_key = load_node_key(datadir / NODE_KEY_FILE)  # created now, so its id is known
        nodes.append(
            NodeInfo(
                spec.name,
                rpc_port,
                p2p_port,
                to_checksum_address(entry.address),
                "0x" + node_key.address.hex(),
            )
        )
    services = _build_services(
        root, manifest, first_rpc + RELAY_PORT_OFFSET, avoid=[*rpc_ports, *p2p_ports]
    )
    accounts_keystore = Keystore(root / ACCOUNTS_DIR / "keystore")
    accounts = {
        name: to_checksum_address(
            accounts_keystore.create(ACCOUNT_PASSWORD, name=name, scrypt_n=LIGHT_SCRYPT_N).address
        )
        for name in manifest.accounts
    }
    builders = {s.address: manifest.service(s.name) for s in services if s.kind == "builder"}
    genesis = build_genesis(manifest, nodes, accounts, now_ms, builders)
    genesis_text = json.dumps(genesis.to_json(), indent=2) + "\n"
    (root / "genesis.json").write_text(genesis_text)
    for node in nodes:
        datadir = root / node.name
        (datadir / "genesis.json").write_text(genesis_text)
        with LevelDB(datadir / "chaindata") as db:
            Chain.initialize(db, genesis, default_rules())
    (root / ACCOUNTS_DIR / "node.json").write_text(json.dumps({"rpc": nodes[0].rpc_url}) + "\n")
    devnet = Devnet(root, manifest, tuple(nodes), accounts, now_ms, services)
    (root / DEVNET_FILE).write_text(json.dumps(devnet.to_json(), indent=2) + "\n")


def _build_services(
    root: Path, manifest: Manifest, first_port: int, avoid: list[int]
) -> tuple[ServiceInfo, ...]:
    """A key (and a port, for a relay) for each [[relay]] and [[builder]]."""
    relays = [s for s in manifest.services if s.kind == "relay"]
    ports = iter(pick_ports(len(relays), first_port, avoid=avoid))
    services = []
    for spec in manifest.services:
        password = os.urandom(16).hex()
        datadir = root / spec.name
        entry = Keystore(datadir / "keystore").create(
            password, name=spec.kind, scrypt_n=LIGHT_SCRYPT_N
        )
        write_secret(datadir / PASSWORD_FILE, password + "\n")
        port = next(ports) if spec.kind == "relay" else 0
        services.append(ServiceInfo(spec.name, spec.kind, to_checksum_address(entry.address), port))
    return tuple(services)


def _copy_producer_key(original: Path, datadir: Path) -> KeyEntry:
    """A twin's producer key: its original's keystore file and password, copied (Twins)."""
    shutil.copytree(original / "keystore", datadir / "keystore")
    write_secret(datadir / PASSWORD_FILE, (original / PASSWORD_FILE).read_text())
    return Keystore(datadir / "keystore").find(PRODUCER_KEY)


def build_genesis(
    manifest: Manifest,
    nodes: Iterable[NodeInfo],
    accounts: dict[str, str],
    now_ms: int,
    builders: dict[str, Any] | None = None,
) -> Genesis:
    """Nodes hold their encumbered REP and `$`; dev accounts their `$` and gREP; builders
    (address -> ServiceSpec) their `$`, to pay producers."""
    alloc: dict[str, dict[str, str]] = {}
    for node in nodes:
        spec = manifest.node(node.name)
        if spec.twin_of is not None:
            continue  # the same account as its original, allocated once
        entry = {"balance": format_amount(spec.balance)}
        if spec.rep:
            entry["rep_encumbered"] = format_amount(spec.rep)
        alloc[node.address] = entry
    for name, address in accounts.items():
        spec = manifest.accounts[name]
        alloc[address] = {"balance": format_amount(spec.balance)}
        if spec.grep:
            alloc[address]["grep"] = format_amount(spec.grep)
    for address, spec in (builders or {}).items():
        alloc[address] = {"balance": format_amount(spec.balance)}
    return Genesis.from_json(
        {
            "chain_id": manifest.chain_id,
            "genesis_time": now_ms,
            "preset": manifest.preset,
            "wsc": dict(manifest.wsc),
            "alloc": alloc,
        }
    )


def preferred_ports() -> tuple[int, int]:
    """The first RPC and P2P ports a new devnet's nodes prefer: the defaults, or PORTS_ENV."""
    given = os.environ.get(PORTS_ENV)
    if not given:
        return PREFERRED_RPC_PORT, PREFERRED_P2P_PORT
    try:
        rpc, p2p = (int(part) for part in given.split(","))
    except ValueError:
        rpc = p2p = -1
    if not (0 < rpc < 65536 and 0 < p2p < 65536):
        raise DevnetError(
            f"{PORTS_ENV} must be two ports, RPC,P2P (e.g. 9645,31400); not {given!r}"
        )
    return rpc, p2p


def pick_ports(count: int, preferred: int, *, avoid: Iterable[int] = ()) -> list[int]:
    """`count` distinct ports free on loopback now: preferred + i when free, else any."""
    taken = set(avoid)
    ports = []
    for i in range(count):
        port = preferred + i
        if port in taken or not port_is_free(port):
            port = _any_free_port(taken)
        taken.add(port)
        ports.append(port)
    return ports


def port_is_free(port: int) -> bool:
    """Whether a server could listen on the port now. SO_REUSEADDR as the node's servers set
    it, so a port whose last connections linger in TIME_WAIT (a devnet just stopped) counts
    as free, while one with a listener does not."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _any_free_port(taken: set[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = sock.getsockname()[1]
        if port not in taken:
            return port


def write_secret(path: Path, text: str) -> None:
    """A new file readable by its owner only (the umask cannot widen it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    try:
        os.fchmod(fd, SECRET_MODE)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def remove_devnet(root: Path) -> None:
    """Delete a devnet directory, and only one: a directory without devnet.json is refused."""
    root = Path(root)
    if not (root / DEVNET_FILE).is_file():
        raise DevnetError(f"{root} holds no {DEVNET_FILE}: refusing to delete it")
    shutil.rmtree(root)


def _now_ms() -> int:
    return int(time.time() * 1000)
