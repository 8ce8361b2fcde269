"""The trust net: the authorities whose signatures a node accepts on a snapshot, and how many
it needs (k of n, after the distributed-agreement seed).

    k = 2
    [[authority]]
    name = "alice"
    address = "0x..."

A snapshot is trusted when at least `k` distinct authorities signed its header; a signature by
any other key counts for nothing and is reported.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from porchain.crypto.keys import parse_address, recover_address, to_checksum_address
from porchain.errors import DecodeError, InvalidSignature
from porchain.snapshot.format import SnapshotError, SnapshotPreamble

MAX_AUTHORITIES = 256


class TrustNetError(SnapshotError):
    """A trust-net file that cannot be used."""


@dataclass(frozen=True)
class TrustNet:
    k: int
    authorities: dict[bytes, str]  # address -> name

    @classmethod
    def load(cls, path: Path) -> TrustNet:
        try:
            data = tomllib.loads(path.read_text())
        except OSError as exc:
            raise TrustNetError(f"cannot read the trust net {path}: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise TrustNetError(f"the trust net {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "trust net") -> TrustNet:
        unknown = set(data) - {"k", "authority"}
        if unknown:
            raise TrustNetError(f"{source}: unknown keys {', '.join(sorted(unknown))}")
        entries = data.get("authority", [])
        if not isinstance(entries, list) or not entries:
            raise TrustNetError(f"{source}: list the authorities as [[authority]] tables")
        if len(entries) > MAX_AUTHORITIES:
            raise TrustNetError(f"{source}: at most {MAX_AUTHORITIES} authorities")
        authorities: dict[bytes, str] = {}
        for index, entry in enumerate(entries, 1):
            where = f"{source}: authority {index}"
            if not isinstance(entry, dict) or set(entry) != {"name", "address"}:
                raise TrustNetError(f"{where} needs exactly a name and an address")
            name, address = entry["name"], entry["address"]
            if not isinstance(name, str) or not name or not isinstance(address, str):
                raise TrustNetError(f"{where}: name and address are non-empty strings")
            if not name.isprintable():
                raise TrustNetError(f"{where}: the name {name!r} holds control characters")
            try:
                key = parse_address(address)
            except (DecodeError, ValueError) as exc:
                raise TrustNetError(f"{where}: {exc}") from None
            if key in authorities or name in authorities.values():
                raise TrustNetError(f"{where}: {name} {address} is listed twice")
            authorities[key] = name
        k = data.get("k")
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= len(authorities):
            raise TrustNetError(
                f"{source}: k must be a whole number from 1 to the {len(authorities)} authorities"
            )
        return cls(k, authorities)

    def to_toml(self) -> str:
        lines = [f"k = {self.k}", ""]
        for address, name in self.authorities.items():
            checksummed = to_checksum_address(address)
            quoted = json.dumps(name, ensure_ascii=False)  # printable: a valid TOML string
            lines += ["[[authority]]", f"name = {quoted}", f'address = "{checksummed}"', ""]
        return "\n".join(lines)


@dataclass(frozen=True)
class SignatureCount:
    """Who signed a snapshot header: trusted authorities by name, and other keys."""

    trusted: list[str]
    strangers: list[bytes]
    invalid: int

    def describe(self, k: int) -> str:
        named = ", ".join(self.trusted) if self.trusted else "none"
        line = f"signed by {len(self.trusted)} trusted authorities ({named}); it needs {k}"
        if self.strangers:
            keys = ", ".join(to_checksum_address(a) for a in self.strangers)
            line += f"; {len(self.strangers)} signature(s) by keys not in the trust net ({keys})"
        if self.invalid:
            line += f"; {self.invalid} malformed signature(s)"
        return line


def count_signatures(preamble: SnapshotPreamble, trust: TrustNet | None) -> SignatureCount:
    """Who signed: the authorities of `trust` (none without one), and every other key."""
    authorities = {} if trust is None else trust.authorities
    digest = preamble.header.signing_hash()
    trusted: dict[bytes, str] = {}
    strangers: list[bytes] = []
    invalid = 0
    for signature in preamble.signatures:
        try:
            signer = recover_address(digest, signature)
        except InvalidSignature:
            invalid += 1
            continue
        if signer in authorities:
            trusted[signer] = authorities[signer]
        elif signer not in strangers:
            strangers.append(signer)
    return SignatureCount(list(trusted.values()), strangers, invalid)


def require_trusted(preamble: SnapshotPreamble, trust: TrustNet) -> SignatureCount:
    """Refuse a snapshot signed by fewer than k of the trust net's authorities."""
    count = count_signatures(preamble, trust)
    if len(count.trusted) < trust.k:
        raise SnapshotError(
            f"snapshot of {preamble.header.describe()} is not trusted: {count.describe(trust.k)}"
        )
    return count
