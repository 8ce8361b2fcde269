"""The judicial evidence module, as porchain's composition root loads it (entry point
`porchain.modules`, name `judicial-evidence`)."""

from __future__ import annotations

from typing import Any

from judicial.evidence import EvidenceHandler, check_not_barred, keep_barred_out, prune_offences
from porchain.consensus.modules import BlockContext, Module, Rules, TxHandler
from porchain.state.state import State


class JudicialEvidenceModule(Module):
    name = "judicial-evidence"

    def __init__(self) -> None:
        self.evidence = EvidenceHandler()

    def attach(self, rules: Rules) -> None:
        self.evidence.rules = rules

    def handlers(self) -> list[TxHandler[Any]]:
        return [self.evidence]

    def begin_block(self, state: State, ctx: BlockContext) -> None:
        prune_offences(state, ctx.header.slot)
        check_not_barred(state, ctx.header)

    def end_block(self, state: State, ctx: BlockContext) -> None:
        keep_barred_out(state, ctx.header.slot)
