"""`porchain jud`: evidence, slashes, accusations and cases, read over the `jud_` RPC methods
(tables, or the RPC's JSON with `-o json`). Each part of judicial governance adds its commands
below."""

from __future__ import annotations

import click

from judicial.cli_court import accuse, case, cases
from judicial.cli_evidence import evidence, slashes


@click.group()
def jud() -> None:
    """Judicial governance: slashing evidence, accusations, juries and their verdicts."""


for command in (evidence, slashes, accuse, cases, case):
    jud.add_command(command)
