"""The governance module, as porchain's composition root loads it (entry point
`porchain.modules`)."""

from __future__ import annotations

from typing import Any

from governance.forum import PostHandler
from governance.proposals import on_pool_resolved, process_agenda
from governance.references import flow_royalty
from porchain.consensus.modules import Module, TxHandler
from porchain.state.objects import Pool
from porchain.state.state import State


class GovernanceModule(Module):
    name = "governance"

    def handlers(self) -> list[TxHandler[Any]]:
        return [PostHandler()]

    def start_block(self, state: State, number: int) -> None:
        process_agenda(state, number)

    def pool_resolved(self, state: State, pool: Pool) -> None:
        on_pool_resolved(state, pool)

    def route_royalty(self, state: State, amount: int) -> bool:
        wsc_post = state.wsc(state.wsc_id).post
        if not wsc_post:
            return False
        flow_royalty(state, wsc_post, amount)
        return True
