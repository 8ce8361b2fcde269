"""The genesis file: chain id, genesis time, WSC #0 and the initial allocations.

JSON, written by `porchain genesis new` and read by `porchain init`:

    {
      "chain_id": 1337,
      "genesis_time": 1767225600000,          # unix milliseconds
      "preset": "devnet",                      # WSC #0 starts from a preset ...
      "wsc": {"slot_ms": 2000},                # ... with these overrides
      "mix": "0x...",                          # optional initial beacon mix (32 bytes)
      "alloc": {"0xAbC...": {"balance": "1000", "rep_encumbered": "100", "grep": "5"}}
    }

Amounts are human decimal strings (9 decimals), like the CLI's; RPC answers in base units.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from porchain.consensus.asc import asc_snapshot
from porchain.consensus.beacon import process_schedule
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import parse_address, to_checksum_address
from porchain.db import schema
from porchain.errors import DecodeError, InvalidGenesis, InvalidParameters
from porchain.params import WSCParams
from porchain.state.objects import Account, ActiveWsc, AddressList, Beacon, WscRecord
from porchain.state.state import State
from porchain.types.blocks import ZERO_ADDRESS, Header, compute_tx_root
from porchain.units import format_amount, parse_amount

ALLOC_FIELDS = ("balance", "rep", "rep_encumbered", "grep")
GENESIS_FIELDS = {"chain_id", "genesis_time", "preset", "wsc", "wsc_author", "mix", "alloc"}
MAX_CHAIN_ID = 2**63 - 1


@dataclass(frozen=True)
class Allocation:
    balance: int = 0
    rep: int = 0
    rep_encumbered: int = 0
    grep: int = 0


@dataclass(frozen=True)
class Genesis:
    chain_id: int
    genesis_time_ms: int
    params: WSCParams
    alloc: dict[bytes, Allocation] = field(default_factory=dict)
    preset: str = "devnet"
    overrides: dict[str, Any] = field(default_factory=dict)
    mix: bytes | None = None
    wsc_author: bytes | None = None

    @property
    def initial_mix(self) -> bytes:
        if self.mix is not None:
            return self.mix
        return keccak(
            b"porchain genesis mix"
            + self.chain_id.to_bytes(8, "big")
            + self.genesis_time_ms.to_bytes(8, "big")
        )

    # -- files -------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: Any) -> Genesis:
        if not isinstance(data, dict):
            raise InvalidGenesis("genesis must be a JSON object")
        unknown = sorted(set(data) - GENESIS_FIELDS)
        if unknown:
            raise InvalidGenesis(f"unknown genesis field(s): {', '.join(unknown)}")
        chain_id = data.get("chain_id")
        if (
            not isinstance(chain_id, int)
            or isinstance(chain_id, bool)
            or not (0 < chain_id <= MAX_CHAIN_ID)
        ):
            raise InvalidGenesis(f"chain_id must be a positive integer, got {chain_id!r}")
        genesis_time = data.get("genesis_time")
        if not isinstance(genesis_time, int) or isinstance(genesis_time, bool) or genesis_time < 0:
            raise InvalidGenesis("genesis_time must be unix milliseconds (a non-negative integer)")
        preset = data.get("preset", "devnet")
        overrides = data.get("wsc", {})
        if not isinstance(overrides, dict):
            raise InvalidGenesis("wsc must be an object of parameter overrides")
        try:
            params = WSCParams.from_dict(overrides, base=WSCParams.preset(str(preset)))
        except InvalidParameters as exc:
            raise InvalidGenesis(f"bad WSC #0: {exc}") from None
        mix = None
        if data.get("mix") is not None:
            mix = _parse_hash(data["mix"], "mix")
        wsc_author = None
        if data.get("wsc_author") is not None:
            try:
                wsc_author = parse_address(str(data["wsc_author"]))
            except DecodeError as exc:
                raise InvalidGenesis(f"wsc_author: {exc}") from None
        genesis = cls(
            chain_id,
            genesis_time,
            params,
            _parse_alloc(data.get("alloc", {})),
            str(preset),
            dict(overrides),
            mix,
            wsc_author,
        )
        genesis.check_producers()
        return genesis

    @classmethod
    def load(cls, path: Path) -> Genesis:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise InvalidGenesis(f"no genesis file at {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidGenesis(f"cannot read genesis file {path}: {exc}") from None
        return cls.from_json(data)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "chain_id": self.chain_id,
            "genesis_time": self.genesis_time_ms,
            "preset": self.preset,
            "wsc": self.overrides,
        }
        if self.mix is not None:
            out["mix"] = "0x" + self.mix.hex()
        if self.wsc_author is not None:
            out["wsc_author"] = to_checksum_address(self.wsc_author)
        out["alloc"] = {
            to_checksum_address(address): {
                name: format_amount(getattr(allocation, name))
                for name in ALLOC_FIELDS
                if getattr(allocation, name)
            }
            for address, allocation in sorted(self.alloc.items())
        }
        return out

    def check_producers(self) -> None:
        if not any(a.rep_encumbered for a in self.alloc.values()):
            raise InvalidGenesis(
                "no account has encumbered REP: nobody could produce blocks "
                "(give at least one account rep_encumbered)"
            )

    # -- state -------------------------------------------------------------------------------

    def build_state(self, state: State) -> None:
        """Write the allocations, WSC #0, the ASC and the first two schedules into a state."""
        chain = state.chain
        chain.chain_id = self.chain_id
        chain.genesis_time_ms = self.genesis_time_ms
        state.set(
            schema.wsc_state_key(0), WscRecord(self.params.encode(), 0, self.wsc_author or b"")
        )
        state.set(schema.ACTIVE_WSC_STATE_KEY, ActiveWsc(0))
        supply = state.supply
        for address, allocation in self.alloc.items():
            state.set(
                schema.account_state_key(address),
                Account(
                    balance=allocation.balance,
                    rep=allocation.rep,
                    rep_encumbered=allocation.rep_encumbered,
                    grep=allocation.grep,
                ),
            )
            supply.dollars += allocation.balance
            supply.rep += allocation.rep + allocation.rep_encumbered
            supply.grep += allocation.grep
        members = sorted(address for address, a in self.alloc.items() if a.rep_encumbered)
        state.set(schema.ASC_MEMBERS_STATE_KEY, AddressList(members))
        state.set(schema.BEACON_STATE_KEY, Beacon(epoch=0, mix=self.initial_mix))
        snapshot = asc_snapshot(state)
        for epoch in (0, 1):
            process_schedule(state, epoch, self.initial_mix, snapshot)

    def header(self, state_root: bytes) -> Header:
        return Header(
            parent_hash=b"\x00" * 32,
            number=0,
            slot=0,
            producer=ZERO_ADDRESS,
            state_root=state_root,
            tx_root=compute_tx_root(()),
            wsc_id=0,
        )


def _parse_hash(value: Any, name: str) -> bytes:
    try:
        raw = bytes.fromhex(str(value).removeprefix("0x"))
    except ValueError:
        raise InvalidGenesis(f"{name} must be 32 bytes of hex") from None
    if len(raw) != 32:
        raise InvalidGenesis(f"{name} must be 32 bytes of hex")
    return raw


def _parse_alloc(alloc: Any) -> dict[bytes, Allocation]:
    if not isinstance(alloc, dict):
        raise InvalidGenesis("alloc must be an object of address -> amounts")
    out: dict[bytes, Allocation] = {}
    for text, amounts in alloc.items():
        try:
            address = parse_address(text)
        except DecodeError as exc:
            raise InvalidGenesis(f"alloc: {exc}") from None
        if address in out:
            raise InvalidGenesis(f"alloc: {text} is listed twice")
        if not isinstance(amounts, dict) or set(amounts) - set(ALLOC_FIELDS):
            raise InvalidGenesis(
                f"alloc {text}: expected an object with fields among {', '.join(ALLOC_FIELDS)}"
            )
        try:
            out[address] = Allocation(**{k: parse_amount(str(v)) for k, v in amounts.items()})
        except ValueError as exc:
            raise InvalidGenesis(f"alloc {text}: {exc}") from None
    return out
