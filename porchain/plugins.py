"""Node plugins: what packages beside the core add to a running node (entry point group
`porchain.node`), as judicial governance adds its automatic whistleblower and jurors.

A plugin is a class taking the node; the node calls each plugin's hooks in entry point name
order, on its event loop. A hook must be quick. One that raises is a bug in the plugin: it is
logged with its traceback and the node goes on, so a plugin cannot stop a node's slots.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from porchain.equivocations import Equivocation
    from porchain.errors import InvalidBlock
    from porchain.node import Node
    from porchain.types.blocks import Block

ENTRY_POINT_GROUP = "porchain.node"
log = logging.getLogger(__name__)


class NodePlugin:
    """The hooks; each does nothing unless a plugin overrides it."""

    name = "plugin"

    def __init__(self, node: Node) -> None:
        self.node = node

    def on_slot(self, slot: int) -> None:
        """At the start of `slot`, after the node's own duties and block."""

    def on_new_head(self, head: Block) -> None:
        """The node imported `head` as its new head (ours or a peer's)."""

    def on_equivocation(self, found: Equivocation) -> None:
        """The node stored a new pair of headers one producer signed for one slot."""

    def on_invalid_block(self, block: Block, error: InvalidBlock) -> None:
        """A block the node was given failed validation (`error`); it was not imported."""


def load_plugins(node: Node) -> list[NodePlugin]:
    """One instance of every installed plugin, in entry point name order."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    return [ep.load()(node) for ep in found]


def notify(plugins: list[NodePlugin], hook: str, *args: object) -> None:
    """Call `hook` on every plugin; log, never raise, what one of them raises."""
    for plugin in plugins:
        try:
            getattr(plugin, hook)(*args)
        except Exception:
            log.exception("plugin %s failed in %s", plugin.name, hook)
