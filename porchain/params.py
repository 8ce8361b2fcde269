"""The Work Smart Contract parameters: every tunable number of the protocol, in one object.

Governance replaces the active parameter set (PROTOCOL section 7), so no rule may hold a number
of its own: rules read it from here. Presets are data files (`porchain/presets/*.toml`), like the
consensus specs' mainnet/minimal presets; a genesis file or a proposal overrides single keys.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from porchain.errors import InvalidParameters

PPM = 1_000_000
# The largest block any parameter set may allow: a block travels whole in one P2P frame
# (`net.transport.MAX_FRAME_BYTES`) and one history-file frame, so their bounds derive from it.
MAX_BLOCK_BYTES = 8 * 2**20
SELECTION_POLICIES = ("weighted", "cycle")


def _int(low: int, high: int | None = None) -> Any:
    return field(metadata={"min": low, "max": high})


def _ppm() -> Any:
    return field(metadata={"min": 0, "max": PPM})


def _choice(options: tuple[str, ...]) -> Any:
    return field(metadata={"choices": options})


@dataclass(frozen=True, slots=True)
class WSCParams:
    # Time
    slot_ms: int = _int(10, 3_600_000)
    epoch_slots: int = _int(2, 1024)
    # Blocks and transactions
    max_block_bytes: int = _int(1024, MAX_BLOCK_BYTES)
    max_block_txs: int = _int(1, 100_000)
    max_tx_bytes: int = _int(128, 2**20)
    max_extra_bytes: int = _int(0, 1024)
    # Fees, subsidy and salaries
    min_fee: int = _int(0)
    fee_per_byte: int = _int(0)
    subsidy: int = _int(0)
    dev_budget_ppm: int = _ppm()
    # Availability and selection
    selection: str = _choice(SELECTION_POLICIES)
    unbonding_epochs: int = _int(0, 1024)
    max_missed_slots: int = _int(1, 1_000_000)
    reveal_penalty_ppm: int = _ppm()
    # Block validation pools
    mint_ratio: int = _int(0, 10**6)
    wsc_royalty_ppm: int = _ppm()
    author_share_ppm: int = _ppm()
    producer_bond_ppm: int = _ppm()
    block_pool_duration: int = _int(1, 10_000)
    block_quorum_ppm: int = _ppm()
    block_win_ratio_ppm: int = _ppm()
    block_binding_ppm: int = _ppm()
    finality_ppm: int = _ppm()
    auto_vote_stake_ppm: int = _ppm()
    censor_grace_ms: int = _int(0, 3_600_000)
    # Legislative governance (the forum, proposals)
    post_fee: int = _int(0)
    reference_chain_limit: int = _int(0, 16)
    gov_post_duration: int = _int(1, 1_000_000)
    gov_quorum_ppm: int = _ppm()
    gov_win_ratio_ppm: int = _ppm()
    gov_binding_ppm: int = _ppm()
    gov_discussion_blocks: int = _int(0, 1_000_000)
    gov_sentiment_blocks: int = _int(1, 1_000_000)
    gov_sentiment_quorum_ppm: int = _ppm()
    gov_sentiment_win_ratio_ppm: int = _ppm()
    gov_sentiment_binding_ppm: int = _ppm()
    gov_binding_blocks: int = _int(1, 1_000_000)
    gov_binding_quorum_ppm: int = _ppm()
    gov_binding_win_ratio_ppm: int = _ppm()
    gov_binding_binding_ppm: int = _ppm()
    activation_delay: int = _int(1, 1_000_000)
    gov_revival_blocks: int = _int(1, 1_000_000)  # no gREP quorum this long: governance dormant
    # Judicial governance (PROTOCOL section 11): objective evidence, accusations and juries
    evidence_window_slots: int = _int(1, 1_000_000)  # an offence is provable this many slots
    equivocation_slash_ppm: int = _ppm()  # of all the offender's REP, for evidence
    whistleblower_ppm: int = _ppm()  # of what evidence slashes, to its submitter
    flag_stake: int = _int(1)  # the least REP an ACCUSE stakes
    accuse_window: int = _int(1, 1_000_000)  # blocks after the block during which it is accusable
    jury_size: int = _int(1, 101)
    min_juror_rep: int = _int(0)  # a juror's least REP weight
    review_blocks: int = _int(1, 1_000_000)  # filing to the jury draw
    commit_blocks: int = _int(1, 1_000_000)  # JURY_COMMIT phase
    reveal_blocks: int = _int(1, 1_000_000)  # JURY_REVEAL phase
    censorship_slash_ppm: int = _ppm()  # of all the accused's REP, on GUILTY
    flagger_reward: int = _int(0)  # REP to the accuser on GUILTY, beside its stake back
    juror_reward: int = _int(0)  # REP to each juror on the winning side
    juror_absent_penalty: int = _int(0)  # REP a drawn juror loses for not revealing
    protection_blocks: int = _int(0, 1_000_000)  # no new accusation of one found not guilty
    max_open_cases: int = _int(1, 1024)  # accusations being judged at once (bounded state)
    max_accused_txs: int = _int(1, 64)  # transaction hashes one ACCUSE may name

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, base: WSCParams | None = None) -> WSCParams:
        """Build a parameter set from `base` with `values` overriding; refuse anything off."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidParameters(f"unknown WSC parameter(s): {', '.join(unknown)}")
        merged = dataclasses.asdict(base) if base is not None else {}
        merged.update(values)
        missing = sorted(known - set(merged))
        if missing:
            raise InvalidParameters(f"missing WSC parameter(s): {', '.join(missing)}")
        for f in dataclasses.fields(cls):
            _check_field(f, merged[f.name])
        params = cls(**merged)
        params.check_consistency()
        return params

    @classmethod
    def preset(cls, name: str) -> WSCParams:
        try:
            text = resources.files("porchain.presets").joinpath(f"{name}.toml").read_text()
        except FileNotFoundError:
            raise InvalidParameters(
                f"unknown preset {name!r} (known: {', '.join(preset_names())})"
            ) from None
        return cls.from_dict(tomllib.loads(text))

    def replace(self, **changes: Any) -> WSCParams:
        return WSCParams.from_dict(changes, base=self)

    def check_consistency(self) -> None:
        if self.epoch_slots % 2:
            raise InvalidParameters(
                f"epoch_slots must be even (commit and reveal halves), got {self.epoch_slots}"
            )
        if self.max_tx_bytes > self.max_block_bytes:
            raise InvalidParameters("max_tx_bytes must not exceed max_block_bytes")
        if self.wsc_royalty_ppm + self.author_share_ppm > PPM:
            raise InvalidParameters("wsc_royalty_ppm + author_share_ppm must not exceed 1e6")
        if self.flag_stake < self.jury_size * self.juror_reward:
            raise InvalidParameters(
                f"flag_stake ({self.flag_stake}) must be at least jury_size * juror_reward"
                f" ({self.jury_size} * {self.juror_reward}): a false accusation pays its jurors"
            )
        if self.review_blocks < 2 * self.epoch_slots:
            raise InvalidParameters(
                f"review_blocks ({self.review_blocks}) must be at least 2 * epoch_slots"
                f" ({2 * self.epoch_slots}): the jury is drawn from a mix fixed after the epoch"
                " that follows the accusation's, which nobody knows when filing"
            )
        self.check_governance_recoverable()

    def check_governance_recoverable(self) -> None:
        """The two conditions the revival rule needs (docs/governance.md, "Governance cannot
        die"): a post mints gREP, and no gREP quorum asks for the whole supply, which a single
        lost key would make unreachable forever."""
        if self.post_fee * self.mint_ratio == 0:
            raise InvalidParameters("post_fee and mint_ratio must be positive: a post mints gREP")
        for name in ("gov_quorum_ppm", "gov_sentiment_quorum_ppm", "gov_binding_quorum_ppm"):
            if getattr(self, name) >= PPM:
                raise InvalidParameters(f"{name} must be below 1000000 (the whole gREP supply)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def encode(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> WSCParams:
        """The parameter set `encode` wrote; ValueError if `data` is not JSON, InvalidParameters
        if it is not a valid parameter set."""
        values = json.loads(data)
        if not isinstance(values, dict):
            raise InvalidParameters("a WSC parameter set is a JSON object")
        return cls.from_dict(values)

    def min_tx_fee(self, size: int) -> int:
        return self.min_fee + self.fee_per_byte * size


def _check_field(f: dataclasses.Field, value: Any) -> None:
    choices = f.metadata.get("choices")
    if choices is not None:
        if value not in choices:
            raise InvalidParameters(f"{f.name} must be one of {', '.join(choices)}, got {value!r}")
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameters(f"{f.name} must be an integer, got {value!r}")
    low, high = f.metadata["min"], f.metadata["max"]
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise InvalidParameters(f"{f.name} must be in {bound}, got {value}")


def preset_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".toml")
        for p in resources.files("porchain.presets").iterdir()
        if p.name.endswith(".toml")
    )
