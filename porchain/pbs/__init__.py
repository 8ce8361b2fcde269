"""Builder/relay separation (PROTOCOL section 14, first bullet; docs/decisions.md).

A builder builds a block for a slot's scheduled producer and bids for it through a relay; the
relay checks the block against the parent state, signs the bid and offers its header; the
producer accepts the best header in a signing domain of its own (never a block signature, so
falling back to its local block can never be an equivocation), gets the body, checks it as an
importer would, and only then signs and publishes the block. It keeps a record of every relay
and builder (`record`), and stops asking those that failed it.
"""
