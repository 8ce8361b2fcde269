"""The court's module, as porchain's composition root loads it (entry point `porchain.modules`
`judicial-court`): accusations, juries and their verdicts (judicial.cases, judicial.court)."""

from __future__ import annotations

from typing import Any

from judicial.cases import process_cases, prune_blocks, record_block, record_parent_hash
from judicial.court import AccuseHandler, JuryCommitHandler, JuryRevealHandler
from porchain.consensus.modules import BlockContext, Module, TxHandler
from porchain.state.state import State


class CourtModule(Module):
    name = "judicial-court"

    def handlers(self) -> list[TxHandler[Any]]:
        return [AccuseHandler(), JuryCommitHandler(), JuryRevealHandler()]

    def begin_block(self, state: State, ctx: BlockContext) -> None:
        record_parent_hash(state, ctx.header)

    def end_block(self, state: State, ctx: BlockContext) -> None:
        number = ctx.header.number
        process_cases(state, number)
        record_block(state, ctx.header)
        prune_blocks(state, number)
