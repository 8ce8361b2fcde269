"""`porchain devnet up|down|status|report|logs|restart|reset`: a local multi-node devnet.

The devnet's directory is chosen once for the group (`--dir`, $PORCHAIN_DEVNET); every
command reads its `devnet.json`. Only `up` creates a devnet, and only when the directory holds
none yet; every other command works on what is there.
"""

from __future__ import annotations

import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType

import click
import trio

from porchain.cli.common import DEFAULT_DATADIR, Home, console, emit, output_option
from porchain.cli.devnet_view import (
    ForegroundView,
    accounts_block,
    print_unclipped,
    report_view,
    status_view,
)
from porchain.cli.invocation import program
from porchain.cli.snapshot import load_trust, trust_options
from porchain.composition import default_rules
from porchain.devnet.controller import run_controller
from porchain.devnet.errors import DevnetError
from porchain.devnet.layout import (
    DEFAULT_DEVNET_DIR,
    DEVNET_FILE,
    Devnet,
    open_devnet,
    remove_devnet,
)
from porchain.devnet.manifest import (
    DEFAULT_NODES,
    MAX_NODES,
    Manifest,
    default_manifest,
    load_manifest,
)
from porchain.devnet.processes import (
    Supervisor,
    controller_pid,
    stop_controller,
    write_controller_file,
)
from porchain.devnet.report import collect_report
from porchain.devnet.status import DevnetStatus, collect_status
from porchain.genesis import Genesis
from porchain.params import preset_names
from porchain.snapshot.bootstrap import replace_chain

FOLLOW_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class DevnetDir:
    root: Path

    def load(self) -> Devnet:
        return Devnet.load(self.root)


def devnet_dir(ctx: click.Context) -> DevnetDir:
    found = ctx.find_object(DevnetDir)
    assert found is not None, "the devnet group sets it"
    return found


def _override_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.obj = DevnetDir(value.expanduser().absolute())


dir_option = click.option(
    "--dir",
    type=click.Path(file_okay=False, path_type=Path),
    expose_value=False,
    is_eager=True,
    callback=_override_dir,
    help="The devnet's directory (also accepted before the command).",
)


@click.group()
@click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PORCHAIN_DEVNET",
    default=DEFAULT_DEVNET_DIR,
    show_default=True,
    help="The devnet's directory (env PORCHAIN_DEVNET).",
)
@click.pass_context
def devnet(ctx: click.Context, root: Path) -> None:
    """A local multi-node devnet: one process per node on loopback."""
    ctx.obj = DevnetDir(root.expanduser().absolute())


def current_status(devnet_: Devnet, supervisor: Supervisor | None = None) -> DevnetStatus:
    supervisor = supervisor or Supervisor(devnet_)
    return collect_status(
        devnet_,
        supervisor.states(),
        controller_pid=controller_pid(devnet_),
        balances=True,
        program=program(),
        found_by_cli=found_by_cli(devnet_),
    )


def found_by_cli(devnet_: Devnet) -> bool:
    """Whether a client command with no --datadir uses this devnet's accounts while it runs
    (porchain.cli.main.client_home): it is the default devnet, and ~/.porchain has no keys."""
    return devnet_.root == DEFAULT_DATADIR / "devnet" and not Home(DEFAULT_DATADIR).holds_keys()


def print_status(output: str, status: DevnetStatus) -> None:
    emit(output, status.to_json(), lambda _: print_unclipped(console, status_view(status)))


def note(message: str) -> None:
    """Progress for the user, on stderr, so stdout stays the command's result (`-o json`)."""
    click.echo(message, err=True)


# -- up ----------------------------------------------------------------------------------------


@devnet.command("up")
@dir_option
@click.option(
    "-n",
    "--nodes",
    type=click.IntRange(1, MAX_NODES),
    help=f"Nodes of a new devnet (default {DEFAULT_NODES}).",
)
@click.option(
    "--preset",
    type=click.Choice(preset_names()),
    help="WSC preset of a new devnet (default devnet; minimal is 10x faster).",
)
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A devnet manifest (TOML): nodes, REP, parameters, perturbations.",
)
@click.option(
    "--detach",
    is_flag=True,
    help="Start the nodes in the background, return once each answers RPC.",
)
@output_option
@click.pass_context
def devnet_up(
    ctx: click.Context,
    nodes: int | None,
    preset: str | None,
    manifest_path: Path | None,
    detach: bool,
    output: str,
) -> None:
    """Create the devnet (first time) and start every node that is not running.

    In the foreground, show a live status table and run the manifest's perturbations; Ctrl-C
    stops every node. An existing devnet resumes from its directory.
    """
    root = devnet_dir(ctx).root
    manifest = requested_manifest(nodes, preset, manifest_path)
    devnet_, created = open_devnet(root, manifest)
    running = controller_pid(devnet_)
    if running is not None:
        raise DevnetError(
            f"a foreground `porchain devnet up` (pid {running}) already runs this devnet"
        )
    note(f"{'created' if created else 'resuming'} devnet {devnet_.manifest.name} in {root}")
    supervisor = Supervisor(devnet_)
    if detach:
        up_detached(devnet_, supervisor, output)
    else:
        up_foreground(devnet_, supervisor)


def requested_manifest(
    nodes: int | None, preset: str | None, manifest_path: Path | None
) -> Manifest | None:
    """The manifest asked for on the command line; None: whatever the directory holds."""
    if manifest_path is not None:
        if nodes is not None or preset is not None:
            raise click.UsageError("--manifest describes nodes and preset: drop -n and --preset")
        return load_manifest(manifest_path)
    if nodes is None and preset is None:
        return None
    return default_manifest(nodes or DEFAULT_NODES, preset or "devnet")


def start_dead_nodes(
    devnet_: Devnet, supervisor: Supervisor, names: list[str], started: list[str] | None = None
) -> list[str]:
    """Start those of `names` that are down, none if one's port is taken; their names, also
    appended to `started` as each starts (what to stop if a later one fails)."""
    supervisor.check_ports(names)
    started = [] if started is None else started
    for name in names:
        if not supervisor.state(name).alive:
            pid = supervisor.start(name)
            note(f"started {name} (pid {pid}, {where(devnet_, name)})")
            started.append(name)
    return started


def where(devnet_: Devnet, name: str) -> str:
    service = devnet_.service(name)
    if service is None:
        return f"rpc {devnet_.node(name).rpc_url}"
    if service.kind == "relay":
        return f"relay {service.url}"
    return f"builder {service.address}"


def start_in_order(
    devnet_: Devnet, supervisor: Supervisor, names: list[str], started: list[str]
) -> None:
    """Start the nodes of `names` and wait until each answers as itself, then the relays and
    builders (which ask their node at start), and wait for them."""
    nodes = [name for name in names if devnet_.service(name) is None]
    services = [name for name in names if devnet_.service(name) is not None]
    for group in (nodes, services):
        if group:
            start_dead_nodes(devnet_, supervisor, group, started)
            supervisor.wait_ready(group)


def start_and_wait(devnet_: Devnet, supervisor: Supervisor, names: list[str]) -> None:
    """Start the processes that are down and wait until each is ready; on any failure stop
    the ones started, so no half-started devnet is left behind."""
    started: list[str] = []
    try:
        start_in_order(devnet_, supervisor, names, started)
    except BaseException:
        supervisor.stop(started)
        raise


def up_detached(devnet_: Devnet, supervisor: Supervisor, output: str) -> None:
    if devnet_.manifest.perturbations:
        note(
            f"not running the manifest's {len(devnet_.manifest.perturbations)} perturbation(s): "
            "they need the controller of a foreground `porchain devnet up`"
        )
    start_and_wait(devnet_, supervisor, devnet_.process_names)
    print_status(output, current_status(devnet_, supervisor))


def up_foreground(devnet_: Devnet, supervisor: Supervisor) -> None:
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `devnet down` stops us cleanly
    write_controller_file(devnet_)
    try:
        with console.status("starting every node, then relays and builders..."):
            start_in_order(devnet_, supervisor, devnet_.process_names, [])
        print_unclipped(console, accounts_block(current_status(devnet_, supervisor)))
        with ForegroundView(console) as view:
            trio.run(
                partial(
                    run_controller, devnet_, supervisor, on_status=view.status, on_event=view.event
                )
            )
    except KeyboardInterrupt:
        note("interrupted")
    finally:
        supervisor.stopping.set()
        stopped = supervisor.stop()
        devnet_.controller_file.unlink(missing_ok=True)
        signal.signal(signal.SIGTERM, previous)
        note(f"stopped {len(stopped)} node(s): {', '.join(stopped) or 'none was running'}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


# -- down, restart, reset ----------------------------------------------------------------------


@devnet.command("down")
@dir_option
@output_option
@click.pass_context
def devnet_down(ctx: click.Context, output: str) -> None:
    """Stop every node (and a foreground `devnet up`); the data stays for the next `up`."""
    devnet_ = devnet_dir(ctx).load()
    result = stop_everything(devnet_)
    emit(
        output,
        result,
        lambda d: click.echo(
            f"stopped {len(d['stopped'])} node(s): {', '.join(d['stopped'])}"
            if d["stopped"]
            else "no node was running"
        ),
    )


def stop_everything(devnet_: Devnet) -> dict[str, object]:
    """The foreground controller first (it stops its nodes itself), then any node left."""
    supervisor = Supervisor(devnet_)
    alive = [name for name, state in supervisor.states().items() if state.alive]
    controller = stop_controller(devnet_)
    supervisor.stop()
    if controller is not None:
        devnet_.controller_file.unlink(missing_ok=True)
    return {"controller": controller, "stopped": alive}


@devnet.command("restart")
@dir_option
@click.argument("names", nargs=-1, required=True, metavar="NODE...")
@trust_options(
    "Restart them afresh from this signed snapshot (a peer's "
    "http://host:port/snapshots/latest): their chain data is replaced (docs/snapshots.md)."
)
@output_option
@click.pass_context
def devnet_restart(
    ctx: click.Context,
    names: tuple[str, ...],
    snapshot_source: str | None,
    trustnet_file: Path | None,
    output: str,
) -> None:
    """Stop (if running) and start nodes; return once they answer RPC."""
    trust = load_trust(snapshot_source, trustnet_file)
    devnet_ = devnet_dir(ctx).load()
    for name in names:
        devnet_.datadir(name)  # refuse unknown names before touching anything
    supervisor = Supervisor(devnet_)
    supervisor.stop(names)
    try:
        if snapshot_source is not None and trust is not None:
            genesis = Genesis.load(devnet_.genesis_file)
            for name in names:
                home = Home(devnet_.datadir(name))
                anchor = replace_chain(
                    home.chaindata,
                    genesis,
                    default_rules(),
                    snapshot_source,
                    trust,
                    home.snapshot_dir,
                )
                click.echo(f"{name}: chain data replaced by the snapshot of #{anchor}", err=True)
    finally:  # a refused snapshot leaves a node's chain data as it was: it is started on it
        start_and_wait(devnet_, supervisor, list(names))
    print_status(output, current_status(devnet_, supervisor))


@devnet.command("reset")
@dir_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def devnet_reset(ctx: click.Context, yes: bool) -> None:
    """Stop the devnet and delete its directory: keys, chain data, logs."""
    root = devnet_dir(ctx).root
    if not root.exists():
        click.echo(f"no devnet in {root}: nothing to reset")
        return
    if not (root / DEVNET_FILE).is_file():
        raise DevnetError(f"{root} holds no {DEVNET_FILE}: not a devnet, refusing to delete it")
    if not yes:
        if not sys.stdin.isatty():
            raise DevnetError("reset deletes the devnet's keys and chains: confirm with --yes")
        click.confirm(f"Delete the devnet in {root} (keys, chain data, logs)?", abort=True)
    stop_everything(Devnet.load(root))
    remove_devnet(root)
    click.echo(f"deleted {root}")


# -- status and logs ---------------------------------------------------------------------------


@devnet.command("status")
@dir_option
@output_option
@click.pass_context
def devnet_status(ctx: click.Context, output: str) -> None:
    """Each node's process, RPC URL, P2P address, height, finality and peers; dev accounts."""
    print_status(output, current_status(devnet_dir(ctx).load()))


@devnet.command("report")
@dir_option
@output_option
@click.pass_context
def devnet_report(ctx: click.Context, output: str) -> None:
    """Summarise the run so far, read from the nodes: per producer REP at genesis, over the run
    and now, blocks produced, accepted and rejected, AGAINST votes cast and received, missed
    slots; each transaction judged censored with its delay from first seen to inclusion.

    Works while the devnet runs (nodes that are down are listed, not counted); the JSON fields
    are described in `porchain/devnet/report.py` and docs/attacks.md.
    """
    devnet_ = devnet_dir(ctx).load()
    report = collect_report(devnet_, Supervisor(devnet_).states())
    emit(output, report, lambda data: print_unclipped(console, report_view(data)))


@devnet.command("logs")
@dir_option
@click.argument("name", metavar="NODE")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(0),
    default=50,
    show_default=True,
    help="Lines from the end to show first (0: the whole log).",
)
@click.pass_context
def devnet_logs(ctx: click.Context, name: str, follow: bool, lines: int) -> None:
    """A node's log (its stdout and stderr, every run appended)."""
    devnet_ = devnet_dir(ctx).load()
    path = devnet_.log_file(name)
    if not path.exists():
        raise DevnetError(f"{name} has no log yet (start it with `porchain devnet up`)")
    with path.open("r", errors="replace") as log:
        click.echo("".join(deque(log, maxlen=lines or None)), nl=False)  # the last lines only
        if not follow:
            return
        try:
            while True:
                chunk = log.read()
                if chunk:
                    click.echo(chunk, nl=False)
                else:
                    time.sleep(FOLLOW_POLL_SECONDS)
        except KeyboardInterrupt:
            return
