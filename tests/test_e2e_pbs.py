"""End to end: builder/relay separation on a devnet of real processes (docs/relays.md).

Four producers ask one relay for builders' blocks; two builders bid through it. The relay
reveals its first bodies honestly, then withholds every one (`withhold after=N`): a producer
cheated falls back to its own block within the slot, records the fault, drops the relay and
reports it; the others, told, bench it; none asks it any more.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from porchain.rpc.client import RPCClient
from tests.procs import wait_for
from tests.test_e2e_devnet import devnet, devnet_cmd, kill_leftovers, nodes

pytestmark = pytest.mark.slow

HONEST_BODIES = 12
NODES = "".join(
    f'[[node]]\nname = "node{i}"\nrep = "1000"\nrelays = ["relay1"]\n' for i in range(1, 5)
)
MANIFEST = f"""
name = "pbs-withhold"
preset = "devnet"
{NODES}
[[relay]]
name = "relay1"
node = "node1"
behaviour = "withhold"
behaviour_args = {{ after = {HONEST_BODIES} }}

[[builder]]
name = "builder1"
node = "node1"
pay = "0.1"

[[builder]]
name = "builder2"
node = "node2"
pay = "0.2"
"""
SECONDS = 180.0  # 1 s slots: the honest bodies, then four producers' slots to drop the relay


def stopped(relay: dict[str, Any]) -> bool:
    return bool(relay["dropped_at_slot"] or relay["benched_until_slot"])


def record(rpc: str) -> dict[str, Any]:
    return RPCClient(rpc).call("por_getRelays", 500)


def test_producers_buy_blocks_then_fall_back_from_a_withholding_relay(tmp_path: Path) -> None:
    root = tmp_path / "devnet"
    manifest = tmp_path / "pbs.toml"
    manifest.write_text(MANIFEST)
    try:
        devnet(root, "up", "--manifest", str(manifest), "--detach")
        rpcs = {name: node["rpc"] for name, node in nodes(root).items()}

        def stopped_everywhere() -> dict[str, dict[str, Any]] | None:
            """Once every producer has dropped the relay (it withheld a body from it) or
            benched it (other producers' reports of withheld bodies, three in a row)."""
            records = {name: record(rpc) for name, rpc in rpcs.items()}
            if all(stopped(r["relays"][0]) for r in records.values()):
                return records
            return None

        records = wait_for(stopped_everywhere, "every producer stopping to ask", SECONDS)
        relays = {name: r["relays"][0] for name, r in records.items()}
        caught = {name: relay for name, relay in relays.items() if relay["dropped_at_slot"]}
        assert caught  # at least one was withheld a body; the others may have been told first
        first_fault = min(relay["dropped_at_slot"] for relay in caught.values())
        blocks = [b for r in records.values() for b in r["blocks"]]
        bought = [b for b in blocks if b["source"] == "relay"]
        assert len(bought) == HONEST_BODIES  # every body it revealed was signed
        assert all(int(b["value"]) > int(b["local_value"]) for b in bought)  # the reward, per block
        since_first_bid = [b for b in blocks if bought[0]["slot"] <= b["slot"] < first_fault]
        assert len(bought) * 2 > len(since_first_bid)  # most blocks came from builders
        for name, relay in caught.items():
            assert relay["faults"]["withheld"] == 1, (name, relay)
            (fell_back,) = [
                b for b in records[name]["blocks"] if b["slot"] == relay["dropped_at_slot"]
            ]
            assert fell_back["source"] == "local" and fell_back["fallback"].startswith("withheld")
            block = RPCClient(rpcs[name]).call("por_getBlockByHash", fell_back["block_hash"])
            assert block is not None and block["slot"] == relay["dropped_at_slot"]  # in its slot
        # the first to be cheated published a fraud report, which reached the others over P2P
        assert sum(relay["faults"]["reported"] for relay in relays.values()) >= 1, relays
        for r in records.values():
            assert r["relays"][0]["wins"] == sum(b["source"] == "relay" for b in r["blocks"])

        # and none asks it again: ten more blocks, no new header request anywhere
        asked = {name: r["relays"][0]["asked"] for name, r in records.items()}
        height = max(node["height"] for node in nodes(root).values())
        wait_for(
            lambda: min(node["height"] or 0 for node in nodes(root).values()) >= height + 10,
            "ten more blocks",
            SECONDS,
        )
        assert {name: record(rpc)["relays"][0]["asked"] for name, rpc in rpcs.items()} == asked
        shown = nodes(root)
        assert all(stopped(node["relays"][0]) for node in shown.values())
    finally:
        subprocess.run(devnet_cmd(root, "down"), capture_output=True, timeout=120, check=False)
        kill_leftovers(root)
