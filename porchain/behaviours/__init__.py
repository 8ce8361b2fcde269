"""Byzantine behaviours: how a node decides, honest by default (PROTOCOL section 13).

Every decision a node takes for its key passes through one `Behaviour` object, `node.behaviour`,
at these hook points. The honest `Behaviour` returns what the node computed, unchanged; an attack
is a short subclass that overrides a few hooks and leaves the node code alone.

- `produces(node, slot) -> bool`: build a block for a slot our key is scheduled for?
  (`Node.produce_block`; honest: True)
- `candidates(node, slot, txs) -> txs`: what the builder may include, in its order
  (`Node.produce_block`; honest: `txs`)
- `judge(node, block) -> censored txs`: the censorship check (`Node.vote_on`; honest:
  `node.censored_in(block)`)
- `vote(node, block, decision) -> decision or None`: whether and how to vote (`Node.vote_on`;
  honest: `decision`)
- `duty(node, slot, due) -> due or None`: the COMMIT, REVEAL or ENCUMBER the node sends on its
  own (`Node.perform_beacon_duty`, `Node.encumber_earnings`; honest: `due`)
- `publish(node, slot, block) -> blocks`: what to send for our slot, given the block built and
  signed (`Node.produce_block`; honest: `[block]`). The node imports (and so relays) `block`
  only if it is listed, and sends every other listed block to its peers without importing it.
- `gossip_targets(node, peers, message) -> peers`: to whom a block or transaction is gossiped
  (`NetworkService.broadcast_block`, `broadcast_transaction`; honest: every peer)

The node still enforces every consensus rule on what it imports: a behaviour changes what this
node does, never what it accepts. Built (docs/attacks.md): `censor`, `lazy_voter`, `offline`;
`withhold_reveal`, which answers None from `duty` for a reveal that would cost it slots;
`cartel`, which answers no censorship from `judge` for its members' blocks (so they get its FOR
votes) and leaves outsiders' VOTEs out in `candidates`; `equivocate` (a second valid block in
`publish`, the two split between halves of the peers in `gossip_targets`); and `invalid_block`
(a block that breaks a named rule, in place of ours, from `publish`).

Each behaviour declares its parameters (`Param`: name, type, default, help); `make_behaviour`
builds one by name from `key=value` arguments and refuses unknown names, unknown arguments and
ill-typed values with a `BehaviourError` saying which and what is allowed.
"""

from __future__ import annotations

from porchain.behaviours.base import Behaviour, BehaviourError, Param, parse_args
from porchain.behaviours.cartel import Cartel
from porchain.behaviours.censor import Censor
from porchain.behaviours.equivocate import Equivocate
from porchain.behaviours.invalid import InvalidBlockBehaviour
from porchain.behaviours.lazy import LazyVoter
from porchain.behaviours.offline import Offline
from porchain.behaviours.withhold import WithholdReveal

HONEST = Behaviour.name

BEHAVIOURS: dict[str, type[Behaviour]] = {
    cls.name: cls
    for cls in (
        Behaviour,
        Censor,
        LazyVoter,
        Offline,
        WithholdReveal,
        Cartel,
        Equivocate,
        InvalidBlockBehaviour,
    )
}


def make_behaviour(name: str, args: list[str] | tuple[str, ...] = ()) -> Behaviour:
    """The behaviour `name` with its `key=value` arguments; BehaviourError if either is wrong."""
    cls = BEHAVIOURS.get(name)
    if cls is None:
        raise BehaviourError(f"unknown behaviour {name!r}: choose one of {', '.join(BEHAVIOURS)}")
    return cls(parse_args(cls, args))


__all__ = ["BEHAVIOURS", "HONEST", "Behaviour", "BehaviourError", "Param", "make_behaviour"]
