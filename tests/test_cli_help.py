"""The CLI's help reads whole: no command's summary is cut inside a sentence (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator

import click

from porchain.cli.main import cli


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield " ".join((*path, name)), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def test_no_summary_is_cut_at_an_abbreviation() -> None:
    """Click ends a summary at the first period: "Send AMOUNT $ (e.g." was all `tx --help`
    showed of `transfer`. A summary is either whole or ends in "..." (cut for width)."""
    cut = {}
    for name, command in commands(cli):
        summary = command.get_short_help_str(limit=45)
        if not summary.endswith("...") and summary.count("(") != summary.count(")"):
            cut[name] = summary
    assert not cut, cut
