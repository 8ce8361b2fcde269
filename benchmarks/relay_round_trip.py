"""What builder/relay separation costs a producer per slot, on a devnet of processes.

Starts `porchain devnet up --manifest devnet/pbs.toml --detach` (four producers on 1 s slots
asking one relay, two builders bidding through it) in a temporary directory, lets it run
`--slots` slots while alice sends a transfer a second, reads every producer's `por_getRelays`,
and stops it.

    python benchmarks/relay_round_trip.py [--slots 90] [--json]

Reports the blocks bought of those produced; the time each producer spent on its relay per slot
(`relay_ms`: from its own block built to the choice made, i.e. the header requests in
parallel, the acceptance, the body, and the body's check), as mean, median, 95th percentile and
maximum, and the mean as a share of the slot; the header request latency the record keeps; and,
for comparison, how long the producer took to build its own block in those slots (`local_ms`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from porchain.devnet.layout import ACCOUNT_PASSWORD, Devnet
from porchain.rpc.client import RPCClient

MANIFEST = Path(__file__).resolve().parents[1] / "devnet" / "pbs.toml"
WARMUP_SLOTS = 5  # the relay and builders start after the nodes


def porchain(*args: str) -> str:
    env = {**os.environ, "PORCHAIN_PASSWORD": ACCOUNT_PASSWORD}  # the dev accounts'
    done = subprocess.run(
        [sys.executable, "-m", "porchain", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"porchain {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def percentile(values: list[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(root: Path, slots: int) -> dict:
    devnet = Devnet.load(root)
    slot_ms = devnet.manifest.params.slot_ms
    accounts = str(root / "accounts")
    deadline = time.monotonic() + (slots + WARMUP_SLOTS) * slot_ms / 1000
    while time.monotonic() < deadline:  # a user's transfer a second, as load to build from
        porchain("--datadir", accounts, "tx", "transfer", "bob", "0.01", "--from", "alice")
        time.sleep(1.0)
    blocks, headers = [], []
    for node in devnet.nodes:
        record = RPCClient(node.rpc_url).call("por_getRelays", 500)
        blocks += [b for b in record["blocks"] if b["slot"] > WARMUP_SLOTS]
        headers += record["relays"]
    relay_ms = [b["relay_ms"] for b in blocks]
    local_ms = [b["local_ms"] for b in blocks]
    return {
        "slot_ms": slot_ms,
        "blocks": len(blocks),
        "bought": sum(b["source"] == "relay" for b in blocks),
        "relay_ms_mean": round(statistics.fmean(relay_ms), 1),
        "relay_ms_median": statistics.median(relay_ms),
        "relay_ms_p95": percentile(relay_ms, 0.95),
        "relay_ms_max": max(relay_ms),
        "relay_share_of_slot_pct": round(100 * statistics.fmean(relay_ms) / slot_ms, 2),
        "local_ms_mean": round(statistics.fmean(local_ms), 1),
        "header_latency_ms_mean": [r["latency_ms_mean"] for r in headers],
        "header_latency_ms_max": [r["latency_ms_max"] for r in headers],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=90)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "devnet"
        porchain("devnet", "--dir", str(root), "up", "--manifest", str(MANIFEST), "--detach")
        try:
            result = measure(root, args.slots)
        finally:
            porchain("devnet", "--dir", str(root), "down")
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{result['bought']} of {result['blocks']} blocks bought from builders; "
        f"relay time per slot: mean {result['relay_ms_mean']} ms, median "
        f"{result['relay_ms_median']}, p95 {result['relay_ms_p95']}, max {result['relay_ms_max']} "
        f"({result['relay_share_of_slot_pct']}% of a {result['slot_ms']} ms slot); own block "
        f"built in {result['local_ms_mean']} ms on average"
    )
    print(
        f"  header latency per producer, mean {result['header_latency_ms_mean']} ms, "
        f"max {result['header_latency_ms_max']} ms"
    )


if __name__ == "__main__":
    main()
