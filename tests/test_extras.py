"""A command that needs the research extra refuses at once, saying what to install, when it is
missing (issue 17, friction 7: the node's install no longer brings matplotlib and Dask)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from porchain.cli.main import cli
from porchain.extras import RESEARCH_MODULES

SCENARIO = Path(__file__).resolve().parent.parent / "devnet" / "scenarios" / "censor.toml"


@pytest.fixture
def without_research(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name in RESEARCH_MODULES else find_spec(name, *args),
    )


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["sim", "run", str(SCENARIO), "--slots", "5"], "sim run"),
        (["sim", "report", "."], "sim report"),
        (["sim", "sweep", str(SCENARIO), "--seeds", "1"], "sim sweep"),
        (["gov", "graph", "1", "--png", "g.png", "--rpc", "127.0.0.1:1"], "gov graph --png"),
    ],
)
@pytest.mark.usefixtures("without_research")
def test_a_research_command_names_the_extra_it_needs(
    args: list[str], what: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        f"Error: {what} needs matplotlib and distributed, in the research extra: "
        ".venv/bin/pip install -e '.[research]'"
    )
    assert list(tmp_path.iterdir()) == []  # it refused before doing anything
