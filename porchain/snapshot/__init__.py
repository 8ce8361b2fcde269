"""Trust-net snapshots (PROTOCOL section 14): a finalized state in a file, signed by authorities."""
