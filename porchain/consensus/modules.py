"""The module interface: how a capability plugs transaction kinds and block hooks into the rules.

Core porchain registers its own modules (transfers, and later the ASC, the beacon and pools);
governance registers its modules the same way from the composition root, so the core never
imports `governance`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from porchain.errors import InvalidTransaction
from porchain.state.objects import Pool
from porchain.state.state import State
from porchain.types.blocks import Header
from porchain.types.codec import RLPItem
from porchain.types.transactions import Transaction, kind_name

P = TypeVar("P")


@dataclass(slots=True)
class BlockContext:
    """What the rules know of the block being applied, and what it accumulates."""

    header: Header
    fees: int = 0
    royalty: int = 0  # REP minted for the active WSC, routed once the block's hooks have run


class TxHandler(Generic[P]):
    """The rules of one transaction kind. `validate` never changes state; `apply` cannot fail."""

    kind: int

    def decode(self, payload: list[RLPItem]) -> P:
        """Decode the payload; raise InvalidTransaction when it is malformed."""
        raise InvalidTransaction(f"{kind_name(self.kind)} has no payload decoder")

    def spends(self, state: State, payload: P) -> int:
        """`$` the sender needs beyond the fee (the mempool sums it over pending transactions)."""
        return 0

    def validate(self, state: State, tx: Transaction, payload: P) -> None:
        """Raise InvalidTransaction when the transaction cannot apply to `state`."""

    def apply(self, state: State, tx: Transaction, payload: P, ctx: BlockContext) -> None:
        """Apply the transaction's effect; the envelope (nonce, fee) is already applied."""

    def describe(self, payload: P) -> dict[str, Any]:
        """The payload as JSON-ready fields for RPC and the CLI."""
        return {}


class Module:
    """A capability: the kinds it handles and its begin/end-of-block hooks."""

    name = "module"

    def handlers(self) -> Iterable[TxHandler[Any]]:
        return ()

    def attach(self, rules: Rules) -> None:
        """Called once by the rule set the module joins: a module whose rules re-run blocks
        (judicial evidence of an invalid block) keeps it."""

    def start_block(self, state: State, number: int) -> None:
        """Run before block `number`'s header is checked: changes due at that height."""

    def begin_block(self, state: State, ctx: BlockContext) -> None:
        """Run before the block's transactions."""

    def end_block(self, state: State, ctx: BlockContext) -> None:
        """Run after the block's transactions."""

    def end_epoch(self, state: State, epoch: int) -> None:
        """Run once when `epoch` ends, before the first block of a later epoch."""

    def skip_epochs(self, state: State, first: int, last: int) -> None:
        """Epochs `first..last` ended with no block at all (the network was down): catch up
        in one step instead of epoch by epoch."""

    def pool_resolved(self, state: State, pool: Pool) -> None:
        """Act on a validation pool that just resolved (every module sees every pool)."""

    def route_royalty(self, state: State, amount: int) -> bool:
        """Pay the block's WSC royalty (REP to mint) if this module knows how: True if done."""
        return False


class Rules:
    """The composed rule set: modules in order, and the handler of each transaction kind."""

    def __init__(self, modules: Iterable[Module]) -> None:
        self.modules = tuple(modules)
        self._handlers: dict[int, TxHandler[Any]] = {}
        for module in self.modules:
            module.attach(self)
            for handler in module.handlers():
                if handler.kind in self._handlers:
                    raise ValueError(f"two modules handle {kind_name(handler.kind)}")
                self._handlers[handler.kind] = handler

    def handler(self, kind: int) -> TxHandler[Any]:
        try:
            return self._handlers[kind]
        except KeyError:
            raise InvalidTransaction(
                f"unsupported transaction kind {kind_name(kind)} on this chain"
            ) from None
