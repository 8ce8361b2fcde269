"""Protocol constants that no WSC can change (the tunable numbers live in `porchain.params`)."""

PPM = 1_000_000

# What is sent here is destroyed: it leaves the supply and earns no salary.
INCINERATOR = bytes.fromhex("000000000000000000000000000000000000dead")

# Salary indexes count `$` base units per REP base unit, scaled so that rounding loses at most
# one base unit per account settlement (what rounding keeps stays in the salary reserve).
SALARY_INDEX_SCALE = 10**27

# The JSON-RPC port a node listens on unless told otherwise (the CLI's default target).
DEFAULT_RPC_PORT = 8645
