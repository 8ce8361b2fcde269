"""`lazy_voter`: vote FOR every block without checking it for censorship."""

from __future__ import annotations

from typing import TYPE_CHECKING

from porchain.behaviours.base import Behaviour
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction

if TYPE_CHECKING:
    from porchain.node import Node


class LazyVoter(Behaviour):
    """Skip the censorship check: every block looks clean, so every vote is FOR."""

    name = "lazy_voter"

    def judge(self, node: Node, block: Block) -> list[Transaction]:
        return []
