"""The documentation states what the code does: the parameter table lists every WSC parameter
with the values of both presets."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from porchain.params import WSCParams
from porchain.snapshot.trustnet import TrustNet

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_protocol_parameter_table_matches_the_presets() -> None:
    text = (DOCS / "protocol.md").read_text()
    rows = dict(
        (m.group(1), (m.group(2), m.group(3)))
        for m in re.finditer(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|", text, re.MULTILINE)
    )
    devnet, minimal = WSCParams.preset("devnet"), WSCParams.preset("minimal")
    for field in dataclasses.fields(WSCParams):
        assert field.name in rows, f"docs/protocol.md does not list {field.name}"
        documented = tuple(cell.strip().replace(",", "") for cell in rows[field.name])
        assert documented == (str(getattr(devnet, field.name)), str(getattr(minimal, field.name)))


def test_the_snapshot_guide_s_trust_net_example_loads() -> None:
    text = (DOCS / "snapshots.md").read_text()
    example = re.search(r"```toml\n(.*?)```", text, re.DOTALL)
    assert example is not None, "docs/snapshots.md has no trust-net example"
    trust = TrustNet.from_dict(tomllib.loads(example.group(1)), source="docs/snapshots.md")
    assert trust.k == 2 and sorted(trust.authorities.values()) == ["alice", "bob", "carol"]
