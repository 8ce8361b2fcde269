"""Run one attack scenario on a fresh devnet to a height, then save its report and stop it.

    python devnet/attacks/run.py censor-rival-votes [--height 120] [--transfers 30] [--out DIR]

The devnet lives in /tmp/scen-NAME (reset first); `devnet up` runs in the foreground, in a
process of its own, so the manifest's perturbations run. Once a node reaches `--height`, the
report is written as DIR/NAME/report.json and report.text (`devnet report`), with
status.json, and every node is stopped; the data and logs stay for `devnet logs`. With
`--transfers N`, alice and bob each send a transfer to carol once a second from block 10, N
times (censor-sender). Devnet runs are real processes on a real clock: their figures vary from
run to run, unlike the in-process tests'.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PORCHAIN = [sys.executable, "-m", "porchain"]


def porchain(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PORCHAIN, *args], capture_output=True, text=True, **kwargs)


def height(devnet: Path) -> int:
    status = porchain("devnet", "--dir", str(devnet), "status", "-o", "json")
    try:
        return max(node.get("height") or 0 for node in json.loads(status.stdout)["nodes"])
    except (ValueError, KeyError):
        return 0  # not up yet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="a manifest in devnet/attacks/, without .toml")
    parser.add_argument("--height", type=int, default=120)
    parser.add_argument("--transfers", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("attack-runs"))
    args = parser.parse_args()
    manifest = HERE / f"{args.name}.toml"
    devnet, out = Path(f"/tmp/scen-{args.name}"), args.out / args.name
    out.mkdir(parents=True, exist_ok=True)
    porchain("devnet", "--dir", str(devnet), "reset", "--yes")
    started = time.monotonic()
    with open(out / "up.log", "w") as log:
        up = subprocess.Popen(
            [*PORCHAIN, "devnet", "--dir", str(devnet), "up", "--manifest", str(manifest)],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    wallet = dict(os.environ, PORCHAIN_PASSWORD="")  # dev accounts have an empty password
    sent, reached = 0, 0
    try:
        while reached < args.height and time.monotonic() - started < 900:
            time.sleep(1)
            reached = height(devnet)
            if reached >= 10 and sent < args.transfers:
                for user in ("alice", "bob"):
                    porchain("--datadir", str(devnet / "accounts"), "tx", "transfer", "carol",
                             "1", "--from", user, env=wallet)  # fmt: skip
                sent += 1
        print(f"{args.name}: height {reached} after {time.monotonic() - started:.0f} s")
        for fmt in ("json", "text"):
            report = porchain("devnet", "--dir", str(devnet), "report", "-o", fmt)
            (out / f"report.{fmt}").write_text(report.stdout + report.stderr)
        status = porchain("devnet", "--dir", str(devnet), "status", "-o", "json")
        (out / "status.json").write_text(status.stdout)
    finally:
        porchain("devnet", "--dir", str(devnet), "down")
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
