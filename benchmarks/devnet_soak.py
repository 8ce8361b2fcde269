"""A local devnet under its own steam: slot fill, finality lag, agreement, CPU and memory.

Starts `porchain devnet up -n NODES --detach` (the devnet preset: 1 s slots) in a temporary
directory, lets it run for `--minutes`, sampling every node over RPC and /proc, then stops it.

    python benchmarks/devnet_soak.py [--minutes 5] [--nodes 4] [--json]

Reports: the share of slots that got a block, the largest finality lag seen (head minus
finalized, in blocks), whether every node has the same block at the lowest finalized height,
and per node the CPU it used (% of one core) and its largest resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from porchain.rpc.client import RPCClient

SAMPLE_SECONDS = 5.0
WARMUP_SECONDS = 20.0  # connections and the first pools settle before measuring
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def porchain(devnet: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "porchain", "devnet", "--dir", str(devnet), *args],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"porchain devnet {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        devnet = Path(tmp) / "devnet"
        porchain(devnet, "up", "-n", str(args.nodes), "--detach")
        try:
            result = soak(devnet, args.minutes * 60)
        finally:
            porchain(devnet, "down")
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.nodes} nodes for {args.minutes:g} min at 1 s slots: "
          f"{result['slots_filled_pct']:.1f}% of {result['slots']} slots filled, "
          f"finality lag at most {result['max_finality_lag']} blocks, "
          f"finalized heads identical: {result['finalized_identical']}")
    for node in result["nodes"]:
        print(f"  {node['name']}: CPU {node['cpu_pct']:.1f}% of a core, "
              f"RSS at most {node['max_rss_mb']:.0f} MB")


def soak(devnet: Path, seconds: float) -> dict:
    status = json.loads(porchain(devnet, "status", "-o", "json"))
    nodes = [(n["name"], RPCClient(n["rpc"]), n["pid"]) for n in status["nodes"]]
    time.sleep(WARMUP_SECONDS)
    first = nodes[0][1].call("por_nodeInfo")
    cpu_start = {name: cpu_seconds(pid) for name, _, pid in nodes}
    started = time.monotonic()
    max_lag, max_rss = 0, dict.fromkeys((name for name, _, _ in nodes), 0.0)
    while time.monotonic() - started < seconds:
        time.sleep(SAMPLE_SECONDS)
        for name, client, pid in nodes:
            info = client.call("por_nodeInfo")
            max_lag = max(max_lag, info["head"]["number"] - info["finalized"]["number"])
            max_rss[name] = max(max_rss[name], rss_mb(pid))
    elapsed = time.monotonic() - started
    last = nodes[0][1].call("por_nodeInfo")
    slots = last["current_slot"] - first["current_slot"]
    blocks = last["head"]["number"] - first["head"]["number"]
    finalized = min(client.call("por_nodeInfo")["finalized"]["number"] for _, client, _ in nodes)
    hashes = {client.call("por_getBlockByNumber", finalized)["hash"] for _, client, _ in nodes}
    return {
        "seconds": round(elapsed),
        "slots": slots,
        "blocks": blocks,
        "slots_filled_pct": round(100 * blocks / slots, 2),
        "max_finality_lag": max_lag,
        "finalized_height": finalized,
        "finalized_identical": len(hashes) == 1,
        "nodes": [
            {
                "name": name,
                "cpu_pct": round(100 * (cpu_seconds(pid) - cpu_start[name]) / elapsed, 1),
                "max_rss_mb": round(max_rss[name], 1),
            }
            for name, _, pid in nodes
        ],
    }


if __name__ == "__main__":
    main()
