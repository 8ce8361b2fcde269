"""Behaviours in a devnet manifest: a node's `behaviour` and `behaviour_args`, and `behave`
perturbations, checked at load and turned into what `node run --behaviour-arg` takes.

Arguments are `key = value` in TOML; a value is a string, a boolean, a number, or a list of
strings (joined with commas, as `senders=a,b` is written on the command line). A devnet's keys
are made when it is created, after the manifest is written, so in an address argument (a
behaviour parameter of type `addresses`) a dev account's or node's name stands for its address:
`senders = "alice"`. The manifest is checked with a placeholder address in place of each name
(`make_behaviour` then sees every other mistake); the real addresses are put in when a node is
started (`resolve_args`) or a perturbation is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from porchain.behaviours import BEHAVIOURS, HONEST, BehaviourError, make_behaviour
from porchain.behaviours.base import ADDRESSES, parse_args

PLACEHOLDER_ADDRESS = "0x" + "00" * 19 + "01"  # stands for a name while the manifest is checked

Fail = Callable[[str], Exception]


def parse_behaviour(
    entry: Mapping[str, Any],
    where: str,
    names: Collection[str],
    fail: Fail,
    kinds: Mapping[str, type] = BEHAVIOURS,
) -> tuple[str, tuple[str, ...]]:
    """(behaviour, `key=value` arguments) of a node or `behave` table (or of a relay or a
    builder: `kinds`, porchain.pbs.attacks), checked by parsing its arguments."""
    name = entry.get("behaviour", HONEST)
    if not isinstance(name, str):
        raise fail(f"{where}: behaviour must be a name ({', '.join(kinds)}), got {name!r}")
    table = entry.get("behaviour_args", {})
    if not isinstance(table, dict):
        raise fail(f"{where}: behaviour_args must be a table of key = value")
    if table and name == HONEST and "behaviour" not in entry:
        raise fail(f"{where}: behaviour_args without a behaviour")
    args = tuple(
        f"{key}={_arg_text(value, f'{where}: behaviour_args.{key}', fail)}"
        for key, value in table.items()
    )
    check_behaviour(name, args, names, where, fail, kinds)
    return name, args


def check_behaviour(
    name: str,
    args: tuple[str, ...],
    names: Collection[str],
    where: str,
    fail: Fail,
    kinds: Mapping[str, type] = BEHAVIOURS,
) -> None:
    """Parse the arguments once, names standing for placeholder addresses; the error, named."""
    placeholders = dict.fromkeys(names, PLACEHOLDER_ADDRESS)
    try:
        if kinds is BEHAVIOURS:
            make_behaviour(name, resolve_args(name, args, placeholders))
        elif name not in kinds:
            raise BehaviourError(f"unknown behaviour {name!r}: choose one of {', '.join(kinds)}")
        else:
            parse_args(kinds[name], resolve_args(name, args, placeholders, kinds))
    except BehaviourError as exc:
        raise fail(f"{where}: {exc}") from None


def resolve_args(
    name: str,
    args: tuple[str, ...],
    addresses: Mapping[str, str],
    kinds: Mapping[str, type] = BEHAVIOURS,
) -> list[str]:
    """The arguments with each name in an address argument replaced by its address."""
    cls = kinds.get(name)
    typed = {p.name for p in cls.params if p.type is ADDRESSES} if cls else set()
    out = []
    for pair in args:
        key, sep, text = pair.partition("=")
        if sep and key.strip() in typed:
            items = [item.strip() for item in text.split(",") if item.strip()]
            text = ",".join(addresses.get(item, item) for item in items)
        out.append(f"{key}{sep}{text}")
    return out


def _arg_text(value: Any, what: str, fail: Fail) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    raise fail(f"{what}: expected a string, boolean, number or list of strings, got {value!r}")
