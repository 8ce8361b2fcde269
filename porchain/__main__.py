"""`python -m porchain` runs the CLI."""

from porchain.cli.main import cli

cli()
