"""`porchain jud`: evidence, slashes, accusations and cases, read over the `jud_` RPC methods
(tables, or the RPC's JSON with `-o json`). Each part of judicial governance adds its commands
below."""

from __future__ import annotations

import click


@click.group()
def jud() -> None:
    """Judicial governance: slashing evidence, accusations, juries and their verdicts."""


from judicial.cli_court import accuse, case, cases  # noqa: E402 -- the court's commands

jud.add_command(accuse)
jud.add_command(cases)
jud.add_command(case)
