"""A bounded fuzzing campaign against a live 2-node devnet: does the node survive its peers?

Creates and starts a 2-node devnet in a temporary directory (or attacks the devnet of
`--devnet DIR`, left running as found), waits until both nodes produce and are peered, records
node1's (the target's) resident memory, open fds and head, then for `--minutes` attacks it at
`--rate` attempts a second, at most `--concurrency` at once, with a mix drawn from `--seed`
(the kinds: benchmarks/fuzzlive/attacks.py), and once, at a third of the campaign, eclipses it
with `--eclipse-peers` fake peers for `--eclipse-seconds` while the honest peer restarts.

Every `--sample-seconds` it samples the target: alive, head, the honest peer among its peers
(`net_peers`), RSS, fds. After the attack it waits up to `--settle` seconds for the node to
settle, then reports the counts per attack, the HTTP statuses of RPC answers, and PASS or FAIL
against issue 10's acceptance (exit status 1 on FAIL). SIGTERM or Ctrl-C stops the campaign and
every node it started (exit status 128 + the signal's number).

    python benchmarks/fuzz_live.py [--minutes 10] [--seed 1] [--rate 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import trio
from fuzzlive.attacks import ATTACKS
from fuzzlive.campaign import fuzz
from fuzzlive.lab import Lab
from fuzzlive.report import print_report

from porchain.errors import PorchainError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=10.0, help="attack attempts per second")
    parser.add_argument("--concurrency", type=int, default=8, help="attempts at once")
    parser.add_argument("--devnet", type=Path, help="attack this devnet (left running) instead")
    parser.add_argument(
        "--only", type=lambda s: s.split(","), help=f"attack kinds: {','.join(ATTACKS)}"
    )
    parser.add_argument("--prefix-mib", type=float, default=4.0, help="body after a length prefix")
    parser.add_argument("--eclipse-peers", type=int, default=20, help="0: no eclipse")
    parser.add_argument("--eclipse-seconds", type=float, default=30.0)
    parser.add_argument("--sample-seconds", type=float, default=2.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="after ready, before baseline")
    parser.add_argument("--settle", type=float, default=60.0, help="at most, after the attack")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    unknown = set(args.only or ()) - set(ATTACKS)
    if unknown:
        parser.error(f"unknown attack kinds: {', '.join(sorted(unknown))}")
    return args


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="fuzz-live-") as tmp:
        if args.devnet is not None:
            lab = Lab(args.devnet.absolute(), owned=False)
        else:
            lab = Lab(Path(tmp) / "devnet", owned=True)
        try:
            outcome = trio.run(fuzz, args, lab)
        except* PorchainError as group:
            raise SystemExit(f"fuzz_live: {group.exceptions[0]}") from None
    if outcome.figures is None:
        assert outcome.signal is not None
        kept = "left running" if args.devnet else "stopped"
        print(f"fuzz_live: stopped by {outcome.signal.name}; the devnet is {kept}", file=sys.stderr)
        sys.exit(128 + outcome.signal)
    if args.json:
        print(json.dumps(outcome.figures))
    else:
        print_report(outcome.figures)
    sys.exit(0 if outcome.figures["verdict"] == "PASS" else 1)


if __name__ == "__main__":
    main()
