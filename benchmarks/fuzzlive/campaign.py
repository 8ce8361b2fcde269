"""The campaign: wait for a ready devnet, take a baseline, attack while sampling, settle, judge;
and `fuzz`, which runs it on a devnet and stops both on SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import random
import signal
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import trio

from fuzzlive.attacks import ATTACKS, WEIGHTS, Arena, Eclipse, eclipse
from fuzzlive.lab import RPC_ERRORS, Lab, call, peered, wait_ready
from fuzzlive.monitor import Sample, disk_bytes, take_sample
from fuzzlive.report import Start, report, settled
from fuzzlive.wire import HOLD_SECONDS, Tally, Target, update_target

SETTLE_POLL_SECONDS = 2.0


@dataclass
class Campaign:
    args: argparse.Namespace
    lab: Lab
    tally: Tally = field(default_factory=Tally)
    samples: list[Sample] = field(default_factory=list)
    settling: list[Sample] = field(default_factory=list)  # judged for life and blocks only
    eclipse: Eclipse | None = None

    def __post_init__(self) -> None:
        self.target, self.honest = self.lab.nodes()[:2]

    async def run(self) -> dict[str, Any]:
        await wait_ready(self.target, self.honest)
        await trio.sleep(self.args.warmup)
        info = await call(self.target, "por_nodeInfo")
        host, port = info["rpc"].split("//", 1)[1].rstrip("/").rsplit(":", 1)
        genesis = bytes.fromhex(info["genesis_hash"][2:])
        view = Target(self.target.p2p, host, int(port), info["chain_id"], genesis)
        update_target(view, info)
        arena = Arena(self.tally, view, self.target, int(self.args.prefix_mib * 2**20))
        start = Start(
            await self.sample(view),
            (self.target.log.stat().st_size, self.honest.log.stat().st_size),
            disk_bytes(self.target.datadir),
            trio.current_time(),
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.sampler, view)
            await self.attack(arena)
            nursery.cancel_scope.cancel()
        if self.eclipse is not None:
            self.eclipse.cut_short()
        seconds = trio.current_time() - start.time
        after = await self.settle(view, start.baseline)
        return await trio.to_thread.run_sync(
            report, self, start, after, seconds, abandon_on_cancel=True
        )

    async def sample(self, view: Target) -> Sample:
        skip = self.eclipse is not None and self.eclipse.restarting()
        sample = await trio.to_thread.run_sync(
            take_sample, self.target, self.honest, trio.current_time(), skip, abandon_on_cancel=True
        )
        with suppress(RPC_ERRORS):
            update_target(view, await call(self.target, "por_nodeInfo"))
        return sample

    async def sampler(self, view: Target) -> None:
        while True:
            self.samples.append(await self.sample(view))
            await trio.sleep(self.args.sample_seconds)

    async def attack(self, arena: Arena) -> None:
        args = self.args
        master = random.Random(args.seed)
        kinds = [k for k in ATTACKS if k in args.only] if args.only else list(ATTACKS)
        weights = [WEIGHTS[k] for k in kinds]
        limiter = trio.Semaphore(args.concurrency)
        deadline = trio.current_time() + args.minutes * 60
        eclipse_at = trio.current_time() + args.minutes * 60 / 3
        async with trio.open_nursery() as nursery:
            while trio.current_time() < deadline:
                if (
                    self.eclipse is None
                    and args.eclipse_peers
                    and trio.current_time() >= eclipse_at
                ):
                    self.eclipse = self.new_eclipse()
                    rng = random.Random(master.getrandbits(64))
                    nursery.start_soon(eclipse, arena, rng, self.eclipse)
                kind = master.choices(kinds, weights)[0]
                rng = random.Random(master.getrandbits(64))  # each attempt reproducible alone
                await limiter.acquire()
                nursery.start_soon(self.one, limiter, ATTACKS[kind], arena, rng)
                await trio.sleep(1 / args.rate)
            nursery.cancel_scope.deadline = trio.current_time() + HOLD_SECONDS + 1

    def new_eclipse(self) -> Eclipse:
        async def honest_seen() -> bool:
            try:
                return await peered(self.target, self.honest)
            except RPC_ERRORS:
                return False

        def restart() -> None:
            self.lab.restart(self.honest.name)

        return Eclipse(self.args.eclipse_peers, self.args.eclipse_seconds, restart, honest_seen)

    @staticmethod
    async def one(limiter: trio.Semaphore, attack: Any, arena: Arena, rng: random.Random) -> None:
        try:
            await attack(arena, rng)
        finally:
            limiter.release()

    async def settle(self, view: Target, baseline: Sample) -> Sample:
        """Poll until RSS, sockets and the honest peer are back, or `--settle` seconds pass."""
        deadline = trio.current_time() + self.args.settle
        while True:
            sample = await self.sample(view)
            self.settling.append(sample)
            if settled(baseline, sample) or trio.current_time() >= deadline:
                return sample
            await trio.sleep(SETTLE_POLL_SECONDS)


# -- a run on a devnet, and its stop ---------------------------------------------------------


@dataclass
class Outcome:
    figures: dict[str, Any] | None = None  # None: stopped by a signal
    signal: signal.Signals | None = None


async def fuzz(args: argparse.Namespace, lab: Lab) -> Outcome:
    """Bring the devnet up, run the campaign, stop the devnet (if ours) whatever happens.

    SIGTERM and SIGINT halt the lab (no node starts any more, a restart in progress ends),
    cancel the campaign, and the devnet is stopped under a shielded scope; a second signal
    during that stop is ignored, so the nodes are always stopped."""
    outcome = Outcome()
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(stop_on_signal, signals, lab, nursery.cancel_scope, outcome)
                await trio.to_thread.run_sync(lab.up)
                outcome.figures = await Campaign(args, lab).run()
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(lab.down)
    return outcome


async def stop_on_signal(signals: Any, lab: Lab, scope: trio.CancelScope, outcome: Outcome) -> None:
    async for signum in signals:
        outcome.signal = signal.Signals(signum)
        print(
            f"fuzz_live: {outcome.signal.name}: stopping the attack and the devnet", file=sys.stderr
        )
        lab.halt()
        scope.cancel()
        return
