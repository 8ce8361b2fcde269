"""The foreground devnet: refresh the status and fire perturbations until Ctrl-C or SIGTERM.

One trio run with two tasks, the status refresher and the perturbation scheduler, and the
signal receiver that ends both. RPC calls and process starts are blocking, so they run in
worker threads; a status query is abandoned on stop (it only reads), a perturbation is not (it
may be starting a process, which the supervisor's `stopping` flag cuts short instead). Stopping
the nodes is the caller's job, in a `finally`, so it also happens when this raises.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable

import trio

from porchain.devnet.layout import Devnet
from porchain.devnet.perturb import Perturber, Scheduler
from porchain.devnet.processes import Supervisor, controller_pid
from porchain.devnet.status import DevnetStatus, collect_status

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
HEIGHT_POLL_SECONDS = 0.25


async def run_controller(
    devnet: Devnet,
    supervisor: Supervisor,
    *,
    on_status: Callable[[DevnetStatus], None],
    on_event: Callable[[str], None],
    refresh: float = REFRESH_SECONDS,
    height_poll: float = HEIGHT_POLL_SECONDS,
) -> None:
    """Return once SIGINT or SIGTERM arrives (the nodes are still running then)."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_refresh_status, devnet, supervisor, on_status, refresh)
            if devnet.manifest.perturbations:
                nursery.start_soon(_run_perturbations, devnet, supervisor, on_event, height_poll)
            async for signum in signals:
                on_event(f"{signal.Signals(signum).name}: stopping every node")
                supervisor.stopping.set()
                nursery.cancel_scope.cancel()
                break


async def _refresh_status(
    devnet: Devnet,
    supervisor: Supervisor,
    on_status: Callable[[DevnetStatus], None],
    refresh: float,
) -> None:
    def collect() -> DevnetStatus:
        return collect_status(devnet, supervisor.states(), controller_pid=controller_pid(devnet))

    while True:
        on_status(await trio.to_thread.run_sync(collect, abandon_on_cancel=True))
        await trio.sleep(refresh)


async def _run_perturbations(
    devnet: Devnet,
    supervisor: Supervisor,
    on_event: Callable[[str], None],
    height_poll: float,
) -> None:
    perturber = Perturber(devnet, supervisor)
    scheduler = Scheduler(devnet.manifest.perturbations)
    total = len(scheduler.perturbations)
    started = trio.current_time()
    on_event(f"{total} perturbation(s) scheduled")
    while not scheduler.done:
        height = await trio.to_thread.run_sync(perturber.reference_height, abandon_on_cancel=True)
        elapsed = trio.current_time() - started
        for number, perturbation in scheduler.pop_due(height, elapsed):
            what = f"perturbation {number}/{total}: {perturbation.describe()}"
            on_event(f"{what} (height {height}, {elapsed:.1f} s)")
            log.info("perturbation number=%d action=%s", number, perturbation.action)
            outcome = await trio.to_thread.run_sync(perturber.apply, perturbation)
            for line in outcome.lines:
                on_event(f"  {line}")
            if outcome.failed:
                log.warning("perturbation number=%d had failures", number)
        wait = scheduler.seconds_to_next(trio.current_time() - started)
        await trio.sleep(height_poll if wait is None else min(wait, height_poll))
    on_event(f"all {total} perturbation(s) applied")
