"""A devnet run summarised from its nodes' RPC: what `porchain devnet report` prints.

Chain facts (blocks, producers, missed slots, pools, REP) are read from one node, the `source`:
the first running node that answers. Verdicts are each node's own judgement, so every node that
answers is asked for its verdicts on the blocks of its own chain. Everything is paged and
bounded: at most `MAX_REPORT_BLOCKS` blocks below the head (the past state a node serves, so the
REP series and missed slots are known over the whole window), `MAX_CENSORED_TRACKED` censored
transactions looked up, `MAX_REP_SAMPLES` REP samples per producer.

The JSON (`-o json`), amounts as decimal strings of REP (as manifests write them):

- `devnet`, `chain_id`, `source` (node read for chain facts), `head`, `first_block` (the window
  is `first_block` .. `head`), `slot_ms`
- `nodes`: one per process: `name`, `state` (running | paused | down), `behaviour` ({name, args}
  from `por_nodeInfo`, None if it did not answer), `height`, `twin_of`, `error`
- `producers`: one per producer account (a twin shares its original's), with `node` (the
  original's name), `processes` (the nodes running its key), `address`, `rep_start` (its
  genesis allocation), `rep_now` (all REP it owns at the head: free, encumbered, pending
  release, staked), `rep_change`, `rep_series` ([block, rep] sampled every `rep_every` blocks,
  and at the head), `blocks_produced` (canonical blocks in the window), `blocks_accepted`,
  `blocks_rejected`, `blocks_open`, `blocks_no_quorum` (their block pools' outcomes),
  `against_cast` (AGAINST stakes it put in other producers' block pools), `against_received`
  (AGAINST stakes in its blocks' pools), `missed_slots` (slots it was scheduled in with no
  canonical block; a gap of more than an epoch is an outage, not counted), `slashed` (REP
  judicial governance slashed it by blocks of the window, from the latest slashes its
  `jud_getSlashes` keeps; None from nodes without judicial governance), `slashes` (how many)
- `missed_unknown`: blocks whose missed slots the source could not compute (past state gone)
- `censored`: one per transaction some node judged censored: `hash`, `from`, `kind`,
  `first_seen_ms` (the earliest first-seen time any verdict gives), `judged_by` (nodes),
  `against_verdicts` (verdicts naming it), `included_block` and `included_ms` (its block and
  that block's slot time; None if not included yet), `delay_ms` (inclusion minus first seen)
- `censored_total` (distinct transactions judged censored) and `censored_listed`
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from porchain.devnet.identity import ask
from porchain.devnet.layout import Devnet
from porchain.devnet.processes import DOWN, PAUSED, RUNNING, ProcState
from porchain.rpc.client import RemoteError, RPCClient, RPCClientError
from porchain.rpc.errors import METHOD_NOT_FOUND
from porchain.units import format_amount

RPC_TIMEOUT_SECONDS = 10.0
MAX_REPORT_BLOCKS = 1024  # PAST_STATE_BLOCKS: older state is not served, so not reported
MAX_CENSORED_TRACKED = 200  # censored transactions whose inclusion is looked up
MAX_REP_SAMPLES = 20  # REP samples per producer, besides the head
POOLS_PAGE = 500  # por_listPools' largest page
REP_FIELDS = ("rep", "rep_encumbered", "rep_pending", "rep_staked")  # Account.rep_weight


@dataclass
class ProducerStats:
    node: str
    address: str
    processes: list[str]
    rep_start: int
    rep_now: int | None = None
    rep_series: list[tuple[int, int]] = field(default_factory=list)
    blocks_produced: int = 0
    pools: dict[str, int] = field(default_factory=dict)  # status -> count
    against_cast: int = 0
    against_received: int = 0
    missed_slots: int = 0
    slashed: int | None = None
    slashes: int | None = None

    def to_json(self) -> dict[str, Any]:
        change = None if self.rep_now is None else self.rep_now - self.rep_start
        return {
            "node": self.node,
            "processes": self.processes,
            "address": self.address,
            "rep_start": format_amount(self.rep_start),
            "rep_now": None if self.rep_now is None else format_amount(self.rep_now),
            "rep_change": None if change is None else format_amount(change),
            "rep_series": [[block, format_amount(rep)] for block, rep in self.rep_series],
            "blocks_produced": self.blocks_produced,
            **{f"blocks_{status}": self.pools.get(status, 0) for status in POOL_OUTCOMES},
            "against_cast": self.against_cast,
            "against_received": self.against_received,
            "missed_slots": self.missed_slots,
            "slashed": None if self.slashed is None else format_amount(self.slashed),
            "slashes": self.slashes,
        }


POOL_OUTCOMES = ("accepted", "rejected", "open", "no_quorum")


def collect_report(
    devnet: Devnet, states: dict[str, ProcState], *, timeout: float = RPC_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """The report of the devnet as its nodes see it now; DevnetError-free: a node that does
    not answer is listed with its error and left out of the figures."""
    nodes = _node_rows(devnet, states, timeout)
    answering = [row for row in nodes if row["height"] is not None]
    out: dict[str, Any] = {
        "devnet": devnet.manifest.name,
        "chain_id": devnet.manifest.chain_id,
        "source": answering[0]["name"] if answering else None,
        "nodes": nodes,
    }
    if not answering:
        empty = {"head": None, "first_block": None, "slot_ms": devnet.manifest.params.slot_ms}
        return {
            **out,
            **empty,
            "producers": [],
            "missed_unknown": 0,
            "censored": [],
            "censored_total": 0,
            "censored_listed": 0,
        }
    source = RPCClient(devnet.node(answering[0]["name"]).rpc_url, timeout=timeout)
    head = int(answering[0]["height"])
    first = max(1, head - MAX_REPORT_BLOCKS + 1)
    records = list(_records(source, first, head))
    producers = _producers(devnet)
    by_address = {p.address.lower(): p for p in producers}
    unknown = _count_blocks_and_misses(records, by_address)
    _count_pools(source, first, by_address)
    _sample_rep(source, producers, first, head)
    _count_slashes(source, producers, first)
    verdicts = {row["name"]: _verdicts(devnet, row["name"], first, timeout) for row in answering}
    censored = _censored(source, verdicts, records)
    return {
        **out,
        "head": head,
        "first_block": first,
        "slot_ms": devnet.manifest.params.slot_ms,
        "producers": [p.to_json() for p in producers],
        "missed_unknown": unknown,
        "censored": censored[:MAX_CENSORED_TRACKED],
        "censored_total": len(censored),
        "censored_listed": min(len(censored), MAX_CENSORED_TRACKED),
    }


def _node_rows(devnet: Devnet, states: dict[str, ProcState], timeout: float) -> list[dict]:
    def row(name: str) -> dict[str, Any]:
        state = states.get(name, ProcState(None, DOWN)).state
        out: dict[str, Any] = {
            "name": name,
            "state": state,
            "behaviour": None,
            "height": None,
            "twin_of": devnet.manifest.node(name).twin_of,
            "error": None,
        }
        if state != RUNNING:
            out["error"] = "paused: cannot answer" if state == PAUSED else None
            return out
        try:
            answer = ask(devnet, name, timeout=timeout)
        except (RPCClientError, RemoteError) as exc:
            out["error"] = str(exc) or type(exc).__name__
            return out
        if answer.foreign is not None:
            out["error"] = answer.foreign
            return out
        out["behaviour"] = answer.info.get("behaviour")
        out["height"] = answer.info["head"]["number"]
        return out

    with ThreadPoolExecutor(max_workers=len(devnet.nodes)) as pool:
        return list(pool.map(row, devnet.node_names))


def _producers(devnet: Devnet) -> list[ProducerStats]:
    """One per producer account, in manifest order; twins join their original's."""
    out: dict[str, ProducerStats] = {}
    for node in devnet.nodes:
        spec = devnet.manifest.node(node.name)
        key = node.address.lower()
        if key in out:
            out[key].processes.append(node.name)
        else:
            out[key] = ProducerStats(node.name, node.address, [node.name], spec.rep)
    return list(out.values())


def _records(client: RPCClient, first: int, head: int) -> Iterator[dict[str, Any]]:
    """por_getBlockRecords, page by page, from `first` to `head`."""
    cursor: int | None = first
    while cursor is not None and cursor <= head:
        page = client.call("por_getBlockRecords", cursor)
        yield from (r for r in page["records"] if r["number"] <= head)
        cursor = page["next"]


def _count_blocks_and_misses(records: list[dict], by_address: dict[str, ProducerStats]) -> int:
    """Blocks produced and slots missed per producer; the blocks whose misses are unknown."""
    unknown = 0
    for record in records:
        producer = by_address.get(record["producer"].lower())
        if producer is not None:
            producer.blocks_produced += 1
        if record["missed"] is None:
            unknown += 1
            continue
        for miss in record["missed"]:
            scheduled = by_address.get(miss["producer"].lower())
            if scheduled is not None:
                scheduled.missed_slots += 1
    return unknown


def _count_pools(client: RPCClient, first: int, by_address: dict[str, ProducerStats]) -> None:
    """Block pools of the window's blocks, newest first, page by page: outcomes and AGAINST."""
    before = None
    while True:
        page = client.call("por_listPools", None, POOLS_PAGE, before)
        for pool in page:
            if pool["kind"] != "block" or pool["block_number"] is None:
                continue
            if pool["block_number"] < first:
                return  # older than the window: so is every pool after it
            author = by_address.get(pool["author"].lower())
            if author is not None:
                author.pools[pool["status"]] = author.pools.get(pool["status"], 0) + 1
            for stake in pool["stakes"]:
                if stake["side"] != "against" or stake["bond"]:
                    continue
                voter = by_address.get(stake["voter"].lower())
                if voter is not None:
                    voter.against_cast += 1
                if author is not None:
                    author.against_received += 1
        if len(page) < POOLS_PAGE:
            return
        before = page[-1]["id"]


def _sample_rep(client: RPCClient, producers: list[ProducerStats], first: int, head: int) -> None:
    every = max(1, (head - first + 1) // MAX_REP_SAMPLES)
    blocks = sorted({*range(first - 1 if first > 1 else 0, head, every), head})
    for producer in producers:
        for number in blocks:
            try:
                account = client.call("por_getAccount", producer.address, number)
            except RemoteError:
                continue  # that block's state is no longer served: a gap in the series
            producer.rep_series.append((number, sum(int(account[f]) for f in REP_FIELDS)))
        if producer.rep_series and producer.rep_series[-1][0] == head:
            producer.rep_now = producer.rep_series[-1][1]


def _count_slashes(client: RPCClient, producers: list[ProducerStats], first: int) -> None:
    """REP slashed by blocks of the window (judicial.slashes keeps each account's latest)."""
    for producer in producers:
        try:
            history = client.call("jud_getSlashes", producer.address)
        except RemoteError as exc:
            if exc.code == METHOD_NOT_FOUND:
                return  # a chain without judicial governance
            raise
        in_window = [s for s in history["recent"] if s["block"] >= first]
        producer.slashed = sum(int(s["amount"]) for s in in_window)
        producer.slashes = len(in_window)


def _verdicts(devnet: Devnet, name: str, first: int, timeout: float) -> list[dict[str, Any]]:
    """The node's verdicts against blocks of the window (its own chain, its own judgement)."""
    client = RPCClient(devnet.node(name).rpc_url, timeout=timeout)
    try:
        head = int(client.call("por_blockNumber"))
        return [
            r["verdict"]
            for r in _records(client, first, head)
            if r["verdict"] and r["verdict"]["verdict"] == "against"
        ]
    except (RPCClientError, RemoteError, KeyError, TypeError):
        return []  # it went away since: the others' verdicts still count


def _censored(
    client: RPCClient, verdicts: dict[str, list[dict]], records: list[dict]
) -> list[dict[str, Any]]:
    """Each transaction judged censored, with when it was first seen and when included."""
    found: dict[str, dict[str, Any]] = {}
    for name, against in verdicts.items():
        for verdict in against:
            for tx in verdict["censored"]:
                entry = found.setdefault(
                    tx["hash"],
                    {
                        "hash": tx["hash"],
                        "from": tx["from"],
                        "kind": tx["kind"],
                        "first_seen_ms": tx["first_seen_ms"],
                        "judged_by": [],
                        "against_verdicts": 0,
                    },
                )
                entry["first_seen_ms"] = min(entry["first_seen_ms"], tx["first_seen_ms"])
                entry["against_verdicts"] += 1
                if name not in entry["judged_by"]:
                    entry["judged_by"].append(name)
    times = {r["number"]: r["timestamp_ms"] for r in records}
    entries = sorted(found.values(), key=lambda e: e["first_seen_ms"])
    for entry in entries[:MAX_CENSORED_TRACKED]:
        entry.update(_inclusion(client, entry, times.get))
    return entries


def _inclusion(
    client: RPCClient, entry: dict[str, Any], time_of: Callable[[int], int | None]
) -> dict[str, Any]:
    tx = client.call("por_getTransaction", entry["hash"])
    number = tx.get("block_number") if isinstance(tx, dict) else None
    if number is None:
        return {"included_block": None, "included_ms": None, "delay_ms": None}
    included = time_of(number)
    if included is None:
        block = client.call("por_getBlockByNumber", number)
        included = block["timestamp_ms"] if block else None
    delay = None if included is None else included - entry["first_seen_ms"]
    return {"included_block": number, "included_ms": included, "delay_ms": delay}
