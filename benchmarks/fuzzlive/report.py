"""The judgement against issue 10's acceptance, and the report: figures and their printing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fuzzlive.monitor import Sample, blocks_by, chains_agree, disk_bytes, log_problems

if TYPE_CHECKING:
    from fuzzlive.campaign import Campaign

RSS_TOLERANCE = 0.10  # RSS after the attack within 10% of its baseline (issue 10)
SOCKET_SLACK = 1  # a socket over the baseline: the honest peer's second dial, a keep-alive
MAX_STALL_SECONDS = 15.0  # the longest the head may stand still (1 s slots, 2 producers)


@dataclass(frozen=True)
class Start:
    """The target before the attack."""

    baseline: Sample
    log_offsets: tuple[int, int]  # the target's and the honest peer's
    disk_bytes: int
    time: float  # trio time


def settled(baseline: Sample, sample: Sample) -> bool:
    return rss_ok(baseline, sample) and sockets_ok(baseline, sample) and sample.honest is True


def rss_ok(baseline: Sample, after: Sample) -> bool:
    if baseline.rss_kb is None or after.rss_kb is None:
        return False
    return after.rss_kb <= baseline.rss_kb * (1 + RSS_TOLERANCE)


def sockets_ok(baseline: Sample, after: Sample) -> bool:
    if baseline.sockets is None or after.sockets is None:
        return False
    return after.sockets <= baseline.sockets + SOCKET_SLACK


def checks(figures: dict[str, Any], baseline: Sample, after: Sample) -> dict[str, bool]:
    """Issue 10's acceptance: the node never dies, keeps producing, RSS back within 10% of its
    baseline, fds (sockets: what a peer can hold open) back to baseline, the honest peer
    connected throughout (every sample but those of its own restart)."""
    blocks = figures["blocks"]
    return {
        "node_never_died": figures["node_alive"],
        "kept_producing": blocks["produced_by_target"] > 0
        and blocks["longest_stall_s"] <= MAX_STALL_SECONDS,
        "rss_back_within_10pct": rss_ok(baseline, after),
        "sockets_back_to_baseline": sockets_ok(baseline, after),
        "honest_peer_connected_throughout": figures["honest_connected_fraction"] == 1.0,
    }


def longest_stall(samples: list[Sample]) -> float:
    """The longest time between two samples that saw the head rise (or since the last rise)."""
    longest, since, last = 0.0, None, None
    for s in samples:
        if since is not None:
            longest = max(longest, s.t - since)
        if s.head is not None and (last is None or s.head > last):
            since, last = s.t, s.head
    return longest


def max_of(samples: list[Sample], name: str) -> int | None:
    return max((getattr(s, name) for s in samples if getattr(s, name) is not None), default=None)


def span(name: str, baseline: Sample, samples: list[Sample], after: Sample) -> dict[str, Any]:
    """A figure before, at its highest, and after."""
    peak = max_of(samples, name)
    return {"baseline": getattr(baseline, name), "peak": peak, "after": getattr(after, name)}


def mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def report(c: Campaign, start: Start, after: Sample, seconds: float) -> dict[str, Any]:
    """The figures of a finished campaign, judged. Blocking (RPC): run in a thread."""
    baseline, eclipse = start.baseline, c.eclipse
    samples = [*c.samples, *c.settling]
    counted = [s.honest for s in [*c.samples, after] if s.honest is not None]
    rss = span("rss_kb", baseline, samples, after)
    figures = {
        "seed": c.args.seed,
        "attack_seconds": round(seconds),
        "attacks": {k: dict(v) for k, v in sorted(c.tally.counts.items())},
        "rpc_http_status": {k: dict(v) for k, v in sorted(c.tally.http.items())},
        "eclipse": eclipse
        and {
            "fake_peers": eclipse.peers,
            "target_peers_peak": max_of(samples, "peers"),
            "honest_back_after_s": eclipse.honest_back_after,
        },
        "node_alive": all(s.alive for s in samples),
        "blocks": {
            "head_before": baseline.head,
            "head_after": after.head,
            "produced_by_target": blocks_by(c.target, baseline.head or 0, after.head or 0),
            "longest_stall_s": round(longest_stall(samples), 1),
        },
        "honest_connected_fraction": round(sum(counted) / len(counted), 3) if counted else None,
        "samples": len(samples),
        "rpc_unanswered_samples": sum(s.head is None for s in samples),
        "rss_mb": {k: mb(v) for k, v in rss.items()},
        "fds": span("fds", baseline, samples, after),
        "sockets": span("sockets", baseline, samples, after),
        "known_addresses": span("addresses", baseline, samples, after),
        "banned": {"baseline": baseline.banned, "after": after.banned},
        "disk_mb": {
            "before": round(start.disk_bytes / 2**20, 1),
            "after": round(disk_bytes(c.target.datadir) / 2**20, 1),
        },
        "chains_agree": chains_agree(c.target, c.honest),
        "target_log": log_problems(c.target.log, start.log_offsets[0]),
        "honest_log": log_problems(c.honest.log, start.log_offsets[1]),
    }
    figures["checks"] = checks(figures, baseline, after)
    figures["verdict"] = "PASS" if all(figures["checks"].values()) else "FAIL"
    return figures


def print_report(r: dict[str, Any]) -> None:
    print(f"live fuzzing: {r['attack_seconds']} s of attacks, seed {r['seed']}")
    for kind, counts in r["attacks"].items():
        print(f"  {kind:<19} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for kind, statuses in r["rpc_http_status"].items():
        print(
            f"  HTTP statuses of {kind}: "
            + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        )
    if r["eclipse"]:
        e = r["eclipse"]
        print(
            f"  eclipse: {e['fake_peers']} fake peers, target peers at most "
            f"{e['target_peers_peak']}; "
            f"honest peer back {e['honest_back_after_s']} s after its restart"
        )
    b = r["blocks"]
    print(
        f"node alive: {r['node_alive']}; head #{b['head_before']} -> #{b['head_after']}, "
        f"{b['produced_by_target']} produced by the target, longest stall {b['longest_stall_s']} s"
    )
    print(
        f"honest peer connected in {r['honest_connected_fraction']} of the samples "
        f"({r['samples']} samples, {r['rpc_unanswered_samples']} unanswered)"
    )
    print(f"RSS MB {r['rss_mb']}; fds {r['fds']}; sockets {r['sockets']}")
    print(
        f"known addresses {r['known_addresses']}; banned {r['banned']}; disk MB {r['disk_mb']}; "
        f"chains agree: {r['chains_agree']}"
    )
    print(f"target log: {r['target_log']}; honest log: {r['honest_log']}")
    for name, ok in r["checks"].items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    print(r["verdict"])
