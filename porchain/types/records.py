"""`Record`: a dataclass whose fields encode as an RLP list, by their type hints.

Field types: `int` (canonical unsigned), `bytes`, another `Record` (a nested list), and `list[X]`
of any of these. State objects declare fields and nothing else; encoding, strict decoding and
emptiness come from here.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar, Self

from porchain.errors import DecodeError
from porchain.types.codec import (
    RLPItem,
    decode_bytes,
    decode_list,
    decode_uint,
    decode_uint_list,
    encode_uint,
    encode_uint_list,
    rlp_decode,
    rlp_encode,
)

MAX_FIELD_BYTES = 2**24

Kind = Any  # int | bytes | type[Record] | ("list", Kind)


class Record:
    """A state value. Subclasses are `@dataclass(slots=True)` with typed fields."""

    IGNORED_FOR_EMPTINESS: ClassVar[frozenset[str]] = frozenset()

    def to_rlp(self) -> list[RLPItem]:
        schema = _schema(type(self))
        if _all_ints(type(self)):  # the hot path: accounts
            return [encode_uint(getattr(self, name)) for name, _ in schema]
        return [_encode(getattr(self, name), kind) for name, kind in schema]

    def encode(self) -> bytes:
        if _all_ints(type(self)):
            return encode_uint_list(_values(type(self))(self))
        return rlp_encode(self.to_rlp())

    @classmethod
    def from_rlp(cls, item: RLPItem) -> Self:
        schema = _schema(cls)
        items = zip(schema, decode_list(item, len(schema), cls.__name__), strict=True)
        if _all_ints(cls):
            return cls(*[decode_uint(i, name, 64) for (name, _), i in items])
        return cls(*[_decode(i, kind, name) for (name, kind), i in items])

    @classmethod
    def decode(cls, data: bytes) -> Self:
        if _all_ints(cls) and isinstance(data, bytes):
            values = decode_uint_list(data, len(_schema(cls)))
            if values is not None:
                return cls(*values)
        return cls.from_rlp(rlp_decode(data, cls.__name__))

    def copy(self) -> Self:
        """An independent copy: lists and nested records are copied, ints and bytes shared
        (immutable). What a cached decoding is handed out as, since rules change records in
        place; several times cheaper than decoding the bytes again."""
        return _copier(type(self))(self)  # type: ignore[no-any-return]

    def is_empty(self) -> bool:
        """An empty record is absent from the state (its entry is deleted)."""
        return not any(
            getattr(self, name)
            for name, _ in _schema(type(self))
            if name not in self.IGNORED_FOR_EMPTINESS
        )


@cache
def _all_ints(cls: type) -> bool:
    return all(kind is int for _, kind in _schema(cls))


@cache
def _schema(cls: type) -> tuple[tuple[str, Kind], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _kind(hints[f.name])) for f in dataclasses.fields(cls))


def _kind(hint: Any) -> Kind:
    if hint is int or hint is bytes:
        return hint
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint
    if typing.get_origin(hint) is list:
        return ("list", _kind(typing.get_args(hint)[0]))
    raise TypeError(f"unsupported record field type {hint!r}")


def _encode(value: Any, kind: Kind) -> RLPItem:
    if kind is int:
        return encode_uint(value)
    if kind is bytes:
        return value
    if isinstance(kind, tuple):
        return [_encode(v, kind[1]) for v in value]
    return value.to_rlp()


@cache
def _copier(cls: type) -> Callable[[Any], Any]:
    """`cls`'s copy as one generated function (as dataclasses generate `__init__`): a copy
    is made for every state entry a rule reads, so it is not interpreted field by field."""
    fields = ", ".join(_copy_expression(f"r.{name}", kind) for name, kind in _schema(cls))
    namespace: dict[str, Any] = {"cls": cls}
    exec(f"def copy(r):\n    return cls({fields})\n", namespace)
    return namespace["copy"]  # type: ignore[no-any-return]


@cache
def _values(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A function reading `cls`'s fields into a tuple, in order (generated, as `_copier`)."""
    fields = "".join(f"r.{name}, " for name, _ in _schema(cls))
    namespace: dict[str, Any] = {}
    exec(f"def values(r):\n    return ({fields})\n", namespace)
    return namespace["values"]  # type: ignore[no-any-return]


def _copy_expression(value: str, kind: Kind, depth: int = 0) -> str:
    if kind is int or kind is bytes:
        return value
    if isinstance(kind, tuple) and kind[1] in (int, bytes):
        return f"list({value})"
    if isinstance(kind, tuple):
        item = f"x{depth}"
        return f"[{_copy_expression(item, kind[1], depth + 1)} for {item} in {value}]"
    return f"{value}.copy()"


def _decode(item: RLPItem, kind: Kind, name: str) -> Any:
    if kind is int:
        return decode_uint(item, name, 64)
    if kind is bytes:
        return decode_bytes(item, name, MAX_FIELD_BYTES)
    if isinstance(kind, tuple):
        return [_decode(i, kind[1], name) for i in decode_list(item, None, name)]
    if isinstance(kind, type) and issubclass(kind, Record):
        return kind.from_rlp(item)
    raise DecodeError(f"cannot decode field {name}")
