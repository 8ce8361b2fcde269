"""Hypothesis strategies and settings shared by the fuzz tests.

CI runs every fuzz test with a few hundred derandomized examples (the same inputs on every run,
so a failure reproduces). A longer local campaign with fresh random inputs:

    PORCHAIN_FUZZ=campaign .venv/bin/python -m pytest tests/fuzz -q

(`PORCHAIN_FUZZ_SCALE` sets how many times more examples the campaign runs; 50 by default.)
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import governance
import porchain
from porchain.types.blocks import Block, Header
from porchain.types.codec import RLPItem
from porchain.types.records import Kind, Record, _schema
from porchain.types.transactions import SIGNATURE_SIZE, Transaction

CAMPAIGN = os.environ.get("PORCHAIN_FUZZ") == "campaign"
CAMPAIGN_SCALE = int(os.environ.get("PORCHAIN_FUZZ_SCALE", "50"))

settings.register_profile(
    "fuzz-ci",
    deadline=None,
    derandomize=True,  # the same inputs on every run: a CI failure reproduces locally
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz-campaign",
    settings.get_profile("fuzz-ci"),
    derandomize=False,  # fresh inputs on every run; failures are kept in .hypothesis/
    database=settings.default.database,
)


def fuzz_settings(examples: int) -> settings:
    """`examples` in CI; CAMPAIGN_SCALE times more, randomly drawn, in a campaign."""
    if CAMPAIGN:
        return settings(
            settings.get_profile("fuzz-campaign"), max_examples=examples * CAMPAIGN_SCALE
        )
    return settings(settings.get_profile("fuzz-ci"), max_examples=examples)


# -- records ---------------------------------------------------------------------------------


def record_classes() -> list[type[Record]]:
    """Every Record subclass porchain and governance define, found by importing them all."""
    for package in (porchain, governance):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    found: dict[str, type[Record]] = {}
    for cls in _subclasses(Record):
        if cls.__module__.startswith(("porchain.", "governance.")):
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls  # the slots copy comes last
    return [found[name] for name in sorted(found)]


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


UINTS = st.one_of(
    st.integers(0, 255), st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2**63, 2**64 - 1])
)
SHORT_BYTES = st.one_of(
    st.binary(max_size=40), st.sampled_from([b"", b"\x00" * 20, b"\x00" * 32, b"\xff" * 65])
)


def records(cls: type[Record]) -> st.SearchStrategy[Record]:
    """Instances of `cls` with arbitrary field values of the right types."""
    return st.builds(cls, *[_values(kind) for _, kind in _schema(cls)])


def _values(kind: Kind) -> st.SearchStrategy[Any]:
    if kind is int:
        return UINTS
    if kind is bytes:
        return SHORT_BYTES
    if isinstance(kind, tuple):
        return st.lists(_values(kind[1]), max_size=3)
    return st.deferred(lambda: records(kind))


# -- RLP, transactions, blocks -----------------------------------------------------------------

RLP_ITEMS: st.SearchStrategy[RLPItem] = st.recursive(
    SHORT_BYTES, lambda children: st.lists(children, max_size=4), max_leaves=12
)


def transactions() -> st.SearchStrategy[Transaction]:
    return st.builds(
        Transaction,
        st.integers(0, 2**64 - 1),
        st.integers(0, 2**64 - 1),
        st.integers(0, 2**16 - 1),
        st.lists(RLP_ITEMS, max_size=4),
        st.integers(0, 2**128 - 1),
        st.one_of(
            st.binary(min_size=SIGNATURE_SIZE, max_size=SIGNATURE_SIZE), st.binary(max_size=8)
        ),
    )


def headers() -> st.SearchStrategy[Header]:
    hashes = st.binary(min_size=32, max_size=32)
    return st.builds(
        Header,
        parent_hash=hashes,
        number=st.integers(0, 2**64 - 1),
        slot=st.integers(0, 2**64 - 1),
        producer=st.binary(min_size=20, max_size=20),
        state_root=hashes,
        tx_root=hashes,
        wsc_id=st.integers(0, 2**64 - 1),
        extra=st.binary(max_size=64),
        signature=st.binary(max_size=SIGNATURE_SIZE),
    )


def blocks() -> st.SearchStrategy[Block]:
    return st.builds(Block, headers(), st.lists(transactions(), max_size=3).map(tuple))


# -- mutations ---------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[bytes]) -> bytes:
    """A valid encoding with one to four defects: bit flips, truncation, extension, bytes
    inserted, deleted or replaced."""
    data = bytearray(draw(valid))
    for _ in range(draw(st.integers(1, 4))):
        draw(st.sampled_from(MUTATIONS))(draw, data)
    return bytes(data)


def _position(draw: st.DrawFn, data: bytearray) -> int:
    return draw(st.integers(0, len(data)))


def _flip(draw: st.DrawFn, data: bytearray) -> None:
    if data:
        i = draw(st.integers(0, len(data) - 1))
        data[i] ^= 1 << draw(st.integers(0, 7))


def _truncate(draw: st.DrawFn, data: bytearray) -> None:
    del data[_position(draw, data) :]


def _extend(draw: st.DrawFn, data: bytearray) -> None:
    data.extend(draw(st.binary(min_size=1, max_size=8)))


def _insert(draw: st.DrawFn, data: bytearray) -> None:
    at = _position(draw, data)
    data[at:at] = draw(st.binary(min_size=1, max_size=8))


def _delete(draw: st.DrawFn, data: bytearray) -> None:
    at = _position(draw, data)
    del data[at : at + draw(st.integers(1, 8))]


def _replace(draw: st.DrawFn, data: bytearray) -> None:
    if data:
        data[draw(st.integers(0, len(data) - 1))] = draw(
            st.sampled_from([0x00, 0x7F, 0x80, 0xB7, 0xB8, 0xBF, 0xC0, 0xF7, 0xF8, 0xFF])
        )


MUTATIONS: tuple[Callable[[st.DrawFn, bytearray], None], ...] = (
    _flip,
    _truncate,
    _extend,
    _insert,
    _delete,
    _replace,
)


def fuzzed(valid: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, or mutations of valid encodings (most of the examples)."""
    return st.one_of(st.binary(max_size=200), mutated(valid), mutated(valid))
