"""Chain state: typed objects in a key-value map, committed by a lattice hash."""
