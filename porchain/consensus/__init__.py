"""The consensus rules: short, pure functions of the state, in the consensus specs' manner."""
