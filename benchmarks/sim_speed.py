"""Simulator speed: wall seconds for N honest nodes x S slots of `porchain sim run`, one core.

The scenario is devnet/scenarios/honest.toml grown to N nodes: N equal honest producers (REP
1000 each), two users sending two transfers a slot, links of 20 +- 10 ms, the minimal preset.
Every node is a real `Node` in one trio run on the virtual clock (porchain.sim.runner), so the
figure is the CPU cost of running the whole network's consensus, gossip and votes. Printed per
node count: wall seconds (and the process's CPU seconds: on a machine shared with other work
they are what the wall time would be on an idle core), slots per second, and the wall cost of a
slot in the first and in the last tenth of the run (a cost that grows with the chain shows as a
larger second figure).

    python benchmarks/sim_speed.py [--nodes 10,30,100] [--slots 1000] [--json]
    python benchmarks/sim_speed.py --nodes 100 --slots 50 --profile 25   # where the time goes
    python benchmarks/sim_speed.py --nodes 10,30 --slots 60 --frames     # frames sent a slot

With --frames, the run also counts the frames sent on the memory transport: per slot over the
last third of the run (past the nodes' first connections) and in all, by message type.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import json
import logging
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from porchain.net import messages
from porchain.net.memory import MemoryConnection
from porchain.sim.runner import run_scenario
from porchain.sim.scenario import Scenario, parse_scenario

DEFAULT_NODES = (10, 30, 100)
DEFAULT_SLOTS = 1000
SEED = 1
PROFILE_FILE = "sim_speed.prof"  # with --profile, in the working directory (pstats reads it)
QUIET_LOGGERS = ("porchain.node", "porchain.net.service", "porchain.behaviours")


def honest_scenario(nodes: int) -> Scenario:
    """honest.toml with `nodes` producers instead of four."""
    data = {
        "name": f"honest-{nodes}",
        "preset": "minimal",
        "node": [{"name": f"node{i}", "rep": "1000"} for i in range(1, nodes + 1)],
        "accounts": {"alice": "1000000", "bob": "1000000"},
        "network": {"latency_ms": 20, "link_spread_ms": 10},
        "load": {"transfers_per_slot": 2, "senders": ["alice", "bob"], "amount": "1"},
    }
    return parse_scenario(data, source=f"sim_speed honest-{nodes}")


def measure(nodes: int, slots: int, *, frames: bool = False) -> dict[str, Any]:
    """One run; wall time at every slot, so the cost of early and late slots can be compared
    (and, with `frames`, the frames sent by then)."""
    marks: list[float] = []
    sent: collections.Counter[str] = collections.Counter()
    counts: list[int] = []
    push = MemoryConnection._push

    def counting_push(conn: MemoryConnection, frame: bytes) -> None:
        sent[messages.MsgType(frame[0]).name] += 1
        push(conn, frame)

    def mark(_slot: int) -> None:
        marks.append(time.perf_counter())
        counts.append(sent.total())

    if frames:
        MemoryConnection._push = counting_push  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            start, cpu_start = time.perf_counter(), time.process_time()
            summary = run_scenario(
                honest_scenario(nodes), seed=SEED, slots=slots, out=Path(tmp), progress=mark
            )
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
    finally:
        MemoryConnection._push = push  # type: ignore[method-assign]
    tenth = max(1, slots // 10)
    first = marks[tenth - 1] - start
    last = marks[-1] - marks[-tenth - 1] if slots > tenth else first
    result = {
        "nodes": nodes,
        "slots": slots,
        "seconds": round(elapsed, 2),
        "cpu_seconds": round(cpu, 2),
        "slots_per_second": round(slots / elapsed, 2),
        "ms_per_slot_first_tenth": round(1000 * first / tenth, 1),
        "ms_per_slot_last_tenth": round(1000 * last / tenth, 1),
        "head": summary["run"]["head"],
        "finalized": summary["run"]["finalized"],
    }
    if frames:
        third = max(1, slots // 3)
        result["frames_per_slot_last_third"] = round((counts[-1] - counts[-third - 1]) / third)
        result["frames"] = dict(sent.most_common())
    return result


def node_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--nodes is a comma-separated list, got {text!r}"
        ) from None
    if not all(1 <= n <= 1000 for n in counts):
        raise argparse.ArgumentTypeError(f"node counts are 1 to 1000, got {text!r}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=node_counts, default=list(DEFAULT_NODES))
    parser.add_argument("--slots", type=int, default=DEFAULT_SLOTS)
    parser.add_argument("--json", action="store_true", help="print one JSON object per run")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help=f"run under cProfile; print the top N functions, save all in {PROFILE_FILE}",
    )
    parser.add_argument(
        "--frames", action="store_true", help="also count the frames sent, by message type"
    )
    args = parser.parse_args()
    if not 1 <= args.slots <= 1_000_000:
        parser.error(f"--slots is 1 to 1000000, got {args.slots}")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for nodes in args.nodes:
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        result = measure(nodes, args.slots, frames=args.frames)
        if profile is not None:
            profile.disable()
            stats = pstats.Stats(profile, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(args.profile)
            stats.sort_stats("cumulative").print_stats(args.profile)
            stats.dump_stats(PROFILE_FILE)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(
                f"{nodes} nodes x {args.slots} slots: {result['seconds']} s wall "
                f"({result['cpu_seconds']} s CPU), "
                f"{result['slots_per_second']} slots/s; ms per slot: "
                f"{result['ms_per_slot_first_tenth']} in the first tenth, "
                f"{result['ms_per_slot_last_tenth']} in the last "
                f"(head #{result['head']}, finalized #{result['finalized']})",
                flush=True,
            )
            if args.frames:
                print(
                    f"  frames a slot (last third): {result['frames_per_slot_last_third']}; "
                    f"all: {result['frames']}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
