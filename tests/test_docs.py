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


# a command position: a line's start (after a `$ ` prompt or VAR=value assignments), or after
# `;`, `&`, `|`, `(`, `time`, `nohup` or `watch`
COMMAND_POSITION = r"(^\s*(?:\$ )?|[;&|(]\s*|\b(?:time|nohup|watch)\s+|^\s*(?:[A-Z_]+=\S*\s+)+)"
BARE_PORCHAIN = re.compile(COMMAND_POSITION + r"porchain(?=\s|$)")


def code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of a markdown file's code: fenced blocks and 4-space indented lines."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        elif fenced or line.startswith("    "):
            lines.append((number, line))
    return lines


def test_documented_commands_run_as_the_readme_installs_porchain() -> None:
    """Issue 17, friction 2: the README's install puts nothing on PATH, so a documented
    `porchain ...` was `command not found` when pasted; they say `.venv/bin/porchain`."""
    bare = [
        f"{path.name}:{number}: {line.strip()}"
        for path in [DOCS.parent / "README.md", *sorted(DOCS.glob("*.md"))]
        for number, line in code_lines(path)
        if BARE_PORCHAIN.search(line)
    ]
    assert not bare, "\n".join(bare)
